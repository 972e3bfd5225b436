//! Random search (Bergstra and Bengio 2012): a tuned key written as a
//! distribution in `[sweep]` (`"training.lr" = { log_uniform = [1e-4, 0.1] }`)
//! is drawn `tuning.budget` times, all drawn keys together (one trial is one
//! joint draw), from a seeded stream. By default every activation gets the
//! same trials (common random numbers: a difference between activations is
//! not a difference between their draws); `tuning.shared = false` gives
//! each its own stream, seeded by its label so adding an activation leaves
//! the others' trials as they were.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Drawn numbers keep this many significant digits: short run ids and CSV
/// fields, and a grid a user can rerun by hand (1.23e-3, not 1.2345678e-3).
const DIGITS: usize = 3;

/// ChaCha's stream number for the draws (maths::rng's are 1 to 7).
const STREAM: u64 = 8;

/// Most draws spent looking for `budget` distinct trials, per trial asked.
const TRIES_PER_TRIAL: usize = 100;

/// A tuned key's distribution, as written in `[sweep]`.
#[derive(Debug, Clone, PartialEq)]
pub enum Distribution {
    /// Uniform in log space on `[lo, hi]`, `0 < lo < hi` (learning rates, weight decay).
    LogUniform(f64, f64),
    /// Uniform on `[lo, hi]`.
    Uniform(f64, f64),
    /// A uniform integer in `lo..=hi`.
    Int(i64, i64),
    /// One of the listed values, each as likely (a tuned list under a budget is this).
    Choice(Vec<toml::Value>),
}

/// The distribution names, as a table's one key.
pub const NAMES: [&str; 4] = ["log_uniform", "uniform", "int", "choice"];

impl Distribution {
    /// The distribution a `[sweep]` value that is a table writes, or why it is none.
    pub fn from_table(table: &toml::Table) -> Result<Self, String> {
        let expected = || {
            format!(
                "must be a list of values or one distribution: {{ log_uniform = [1e-4, 0.1] }}, {{ uniform = [0, 0.5] }}, {{ int = [1, 4] }} or {{ choice = [32, 64] }} (it has {})",
                if table.is_empty() {
                    "no key".to_string()
                } else {
                    table.keys().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
                }
            )
        };
        let [(name, value)] = table.iter().collect::<Vec<_>>()[..] else { return Err(expected()) };
        let pair = |what: &str| -> Result<(f64, f64), String> {
            let numbers: Option<Vec<f64>> = value.as_array().map(|a| a.iter().filter_map(number).collect());
            match numbers.as_deref() {
                Some(&[lo, hi]) if value.as_array().is_some_and(|a| a.len() == 2) => {
                    if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                        return Err(format!("`{name}` needs [low, high] with low < high, got [{lo}, {hi}]"));
                    }
                    Ok((lo, hi))
                }
                _ => Err(format!("`{name}` must be [low, high], two {what}, e.g. {name} = {}", example(name))),
            }
        };
        match name.as_str() {
            "log_uniform" => {
                let (lo, hi) = pair("numbers")?;
                if lo <= 0.0 {
                    return Err(format!("`log_uniform` needs a low end above 0, got {lo}: use `uniform` to include 0"));
                }
                Ok(Self::LogUniform(lo, hi))
            }
            "uniform" => pair("numbers").map(|(lo, hi)| Self::Uniform(lo, hi)),
            "int" => {
                let ints: Option<Vec<i64>> =
                    value.as_array().map(|a| a.iter().filter_map(|v| v.as_integer()).collect());
                match ints.as_deref() {
                    Some(&[lo, hi]) if lo < hi => Ok(Self::Int(lo, hi)),
                    Some(&[lo, hi]) => Err(format!("`int` needs [low, high] with low < high, got [{lo}, {hi}]")),
                    _ => Err("`int` must be [low, high], two integers, e.g. int = [1, 4]".into()),
                }
            }
            "choice" => match value.as_array() {
                Some(items) if items.len() >= 2 => Ok(Self::Choice(items.clone())),
                _ => Err("`choice` must list at least two values, e.g. choice = [32, 64, 128]".into()),
            },
            _ => Err(expected()),
        }
    }

    /// The table it was written as (the resolved config writes it back).
    pub fn to_value(&self) -> toml::Value {
        let (name, value) = match self {
            Self::LogUniform(lo, hi) => ("log_uniform", toml::Value::Array(vec![(*lo).into(), (*hi).into()])),
            Self::Uniform(lo, hi) => ("uniform", toml::Value::Array(vec![(*lo).into(), (*hi).into()])),
            Self::Int(lo, hi) => ("int", toml::Value::Array(vec![(*lo).into(), (*hi).into()])),
            Self::Choice(items) => ("choice", toml::Value::Array(items.clone())),
        };
        toml::Value::Table(toml::Table::from_iter([(name.to_string(), value)]))
    }

    /// As report.md describes it: `log-uniform on [0.0001, 0.1]`.
    pub fn describe(&self) -> String {
        let n = crate::activation::format_number;
        match self {
            Self::LogUniform(lo, hi) => format!("log-uniform on [{}, {}]", n(*lo), n(*hi)),
            Self::Uniform(lo, hi) => format!("uniform on [{}, {}]", n(*lo), n(*hi)),
            Self::Int(lo, hi) => format!("an integer from {lo} to {hi}"),
            Self::Choice(items) => {
                format!("one of {}", items.iter().map(crate::config::show).collect::<Vec<_>>().join(", "))
            }
        }
    }

    /// How many different values it gives (`None`: as many as asked).
    fn distinct(&self) -> Option<u128> {
        match self {
            Self::LogUniform(..) | Self::Uniform(..) => None,
            Self::Int(lo, hi) => Some((*hi as i128 - *lo as i128 + 1) as u128),
            Self::Choice(items) => Some(items.len() as u128),
        }
    }

    fn sample(&self, rng: &mut impl Rng) -> toml::Value {
        match self {
            Self::LogUniform(lo, hi) => {
                let x = (lo.ln() + rng.random::<f64>() * (hi.ln() - lo.ln())).exp();
                toml::Value::Float(significant(x).clamp(*lo, *hi))
            }
            Self::Uniform(lo, hi) => {
                toml::Value::Float(significant(lo + rng.random::<f64>() * (hi - lo)).clamp(*lo, *hi))
            }
            Self::Int(lo, hi) => toml::Value::Integer(rng.random_range(*lo..=*hi)),
            Self::Choice(items) => items[rng.random_range(0..items.len())].clone(),
        }
    }

    /// Which end of its range `value` lies near (the outer tenth; in log
    /// space for `log_uniform`): the best may lie beyond it. `None` for a
    /// value well inside, and for `choice`.
    pub fn near_edge(&self, value: f64) -> Option<&'static str> {
        let (lo, hi, x) = match self {
            Self::LogUniform(lo, hi) => (lo.ln(), hi.ln(), value.ln()),
            Self::Uniform(lo, hi) => (*lo, *hi, value),
            Self::Int(lo, hi) => (*lo as f64, *hi as f64, value),
            Self::Choice(_) => return None,
        };
        let at = (x - lo) / (hi - lo);
        if at <= 0.1 {
            Some("low")
        } else if at >= 0.9 {
            Some("high")
        } else {
            None
        }
    }
}

/// A number rounded to [`DIGITS`] significant digits (then kept in its range by the caller).
fn significant(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    format!("{x:.*e}", DIGITS - 1).parse().unwrap_or(x)
}

fn number(v: &toml::Value) -> Option<f64> {
    v.as_float().or_else(|| v.as_integer().map(|i| i as f64))
}

fn example(name: &str) -> &'static str {
    match name {
        "log_uniform" => "[1e-4, 0.1]",
        _ => "[0, 0.5]",
    }
}

/// `budget` distinct trials of `keys` (each a key's name and
/// distribution), the values of trial t at `[t][k]`. Each key draws from a
/// stream of its own, seeded by `seed`, its name and `owner` (an
/// activation's label, when each activation draws its own): adding a key
/// or reordering them leaves the other keys' draws as they were.
pub fn trials(
    keys: &[(&str, &Distribution)],
    budget: usize,
    seed: u64,
    owner: Option<&str>,
) -> Result<Vec<Vec<toml::Value>>, String> {
    let space = keys.iter().try_fold(1u128, |n, (_, d)| d.distinct().and_then(|k| n.checked_mul(k)));
    if let Some(space) = space.filter(|&s| s < budget as u128) {
        return Err(format!(
            "asks for {budget} trials, but the drawn keys hold only {space} different settings: lower the budget or widen a distribution"
        ));
    }
    let hash =
        |text: &str| u64::from_str_radix(&crate::maths::hash::fnv1a(text), 16).expect("fnv1a writes 16 hex digits");
    let owner_seed = owner.map_or(seed, |label| seed ^ hash(label));
    let mut streams: Vec<ChaCha8Rng> = keys
        .iter()
        .map(|(key, _)| {
            let mut rng = ChaCha8Rng::seed_from_u64(owner_seed ^ hash(key));
            rng.set_stream(STREAM);
            rng
        })
        .collect();
    let mut out: Vec<Vec<toml::Value>> = Vec::with_capacity(budget);
    let mut seen = std::collections::HashSet::with_capacity(budget);
    for _ in 0..budget.saturating_mul(TRIES_PER_TRIAL).max(1_000) {
        if out.len() == budget {
            break;
        }
        let trial: Vec<toml::Value> = keys.iter().zip(&mut streams).map(|((_, d), rng)| d.sample(rng)).collect();
        // Rounded draws can repeat: a repeated setting would be the same runs twice.
        if seen.insert(toml::Value::Array(trial.clone()).to_string()) {
            out.push(trial);
        }
    }
    if out.len() < budget {
        return Err(format!(
            "found only {} different settings in {} draws: lower the budget or widen a distribution",
            out.len(),
            budget.saturating_mul(TRIES_PER_TRIAL).max(1_000)
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dist(text: &str) -> Result<Distribution, String> {
        Distribution::from_table(&toml::from_str::<toml::Table>(text).unwrap())
    }

    #[test]
    fn tables_parse_and_write_back() {
        for text in ["log_uniform = [0.0001, 0.1]", "uniform = [0.0, 0.5]", "int = [1, 4]", "choice = [32, 64]"] {
            let d = dist(text).unwrap();
            assert_eq!(Distribution::from_table(d.to_value().as_table().unwrap()).unwrap(), d, "{text}");
        }
        assert!(dist("log_uniform = [0, 0.1]").unwrap_err().contains("above 0"));
        assert!(dist("uniform = [0.5, 0.1]").unwrap_err().contains("low < high"));
        assert!(dist("uniform = [0.5]").unwrap_err().contains("[low, high]"));
        assert!(dist("int = [1.5, 3]").unwrap_err().contains("two integers"));
        assert!(dist("choice = [1]").unwrap_err().contains("at least two"));
        assert!(dist("normal = [0, 1]").unwrap_err().contains("`normal`"));
        assert!(dist("uniform = [0, 1]\nint = [1, 2]").unwrap_err().contains("one distribution"));
    }

    #[test]
    fn draws_stay_in_range_rounded_and_are_reproducible() {
        let lr = Distribution::LogUniform(1e-4, 1e-1);
        let bs = Distribution::Choice(vec![32.into(), 64.into(), 128.into()]);
        let layers = Distribution::Int(1, 3);
        let keys = [("lr", &lr), ("bs", &bs), ("layers", &layers)];
        let a = trials(&keys, 50, 7, None).unwrap();
        assert_eq!(a, trials(&keys, 50, 7, None).unwrap());
        assert_ne!(a, trials(&keys, 50, 8, None).unwrap());
        assert_ne!(a, trials(&keys, 50, 7, Some("relu")).unwrap());
        // Another key beside them leaves the first key's draws as they were (no repeat to redraw here).
        let wd = Distribution::LogUniform(1e-6, 1e-2);
        let more = trials(&[("lr", &lr), ("wd", &wd)], 50, 7, None).unwrap();
        assert_eq!(
            more.iter().map(|t| t[0].clone()).collect::<Vec<_>>(),
            a.iter().map(|t| t[0].clone()).collect::<Vec<_>>()
        );
        for t in &a {
            let x = t[0].as_float().unwrap();
            assert!((1e-4..=1e-1).contains(&x), "{x}");
            assert_eq!(format!("{x:.2e}").parse::<f64>().unwrap(), x);
            assert!([32, 64, 128].contains(&t[1].as_integer().unwrap()));
            assert!((1..=3).contains(&t[2].as_integer().unwrap()));
        }
        // Log-uniform: about half the draws below the geometric middle (1e-2.5).
        let low = a.iter().filter(|t| t[0].as_float().unwrap() < 10f64.powf(-2.5)).count();
        assert!((15..=35).contains(&low), "{low} of 50");
        // Every trial differs from every other.
        let mut shown: Vec<String> = a.iter().map(|t| format!("{t:?}")).collect();
        shown.sort();
        shown.dedup();
        assert_eq!(shown.len(), 50);
    }

    #[test]
    fn a_budget_beyond_the_space_is_refused() {
        let bs = Distribution::Choice(vec![32.into(), 64.into()]);
        let n = Distribution::Int(1, 3);
        assert_eq!(trials(&[("bs", &bs), ("n", &n)], 6, 0, None).unwrap().len(), 6);
        assert!(trials(&[("bs", &bs), ("n", &n)], 7, 0, None).unwrap_err().contains("only 6 different settings"));
    }

    #[test]
    fn edges_are_the_outer_tenth() {
        let lr = Distribution::LogUniform(1e-4, 1e-1);
        assert_eq!(lr.near_edge(1.5e-4), Some("low"));
        assert_eq!(lr.near_edge(3e-3), None);
        assert_eq!(lr.near_edge(0.09), Some("high"));
        assert_eq!(Distribution::Uniform(0.0, 1.0).near_edge(0.05), Some("low"));
    }
}
