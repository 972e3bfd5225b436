//! The candidates of `[search]`: formulas built from core units
//! b(u1(x), u2(x)) (Ramachandran, Zoph and Le 2017, section 3), one
//! binary function of two unary ones, or with two units
//! b2(u3(b1(u1(x), u2(x))), u4(x)). The space is walked in a seeded random
//! order; a candidate that cannot train or repeats an earlier one is
//! dropped before any training, and counted with its reason.

use rand::seq::SliceRandom;

use super::settings::Search;
use crate::activation::ActivationKind;
use crate::activation::formula::check_grid;
use crate::maths::rng::{self, Stream};

/// One candidate of the space, in the order the walk met it.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The composed formula (its text names it in results).
    pub formula: String,
    /// Why it is not trained; `None` for the candidates kept.
    pub dropped: Option<String>,
}

/// What [`candidates`] found: every candidate met, kept or dropped.
#[derive(Debug, Clone)]
pub struct Space {
    /// Size of the whole space (unary^2 x binary per unit).
    pub size: u128,
    pub met: Vec<Candidate>,
}

impl Space {
    pub fn kept(&self) -> impl Iterator<Item = &Candidate> {
        self.met.iter().filter(|c| c.dropped.is_none())
    }
}

/// Spaces at most this large are shuffled whole; larger ones are sampled.
const SHUFFLE_WHOLE: u128 = 1 << 20;
/// Candidates met per one asked for, at most, in a sampled space.
const TRIES_PER_CANDIDATE: usize = 50;
/// Two candidates are the same function when they agree within this on the check grid...
const SAME_RELATIVE: f64 = 1e-4;
/// ...a constant one varies less than this over it...
const CONSTANT_SPAN: f64 = 1e-6;
/// ...and a derivative counts as zero below this (central difference, step [`STEP`]).
const ZERO_SLOPE: f64 = 1e-6;
const STEP: f64 = 1e-3;
/// A candidate whose derivative is zero on more than this share of the grid is dropped.
const FLAT_SHARE: f64 = 0.99;

/// Walks the space of `search` until `search.candidates` are kept (or it
/// is exhausted), in an order fixed by `search.seed`.
pub fn candidates(search: &Search) -> Space {
    let (u, b) = (search.unary.len() as u128, search.binary.len() as u128);
    let per_unit = u * u * b;
    let size = if search.units.0 == 1 { per_unit } else { per_unit * u * u * b };
    let mut rng = rng::stream(search.seed, Stream::Search);
    let order: Vec<u128> = if size <= SHUFFLE_WHOLE {
        let mut all: Vec<u128> = (0..size).collect();
        all.shuffle(&mut rng);
        all
    } else {
        // At most the whole space: the loop below ends once it has met every candidate.
        let tries =
            search.candidates.0.saturating_mul(TRIES_PER_CANDIDATE).min(usize::try_from(size).unwrap_or(usize::MAX));
        let mut seen = std::collections::HashSet::new();
        let mut picked = Vec::with_capacity(tries);
        while picked.len() < tries {
            let i = rand::Rng::random::<u128>(&mut rng) % size;
            if seen.insert(i) {
                picked.push(i);
            }
        }
        picked
    };
    let grid = check_grid();
    let mut kept_values: Vec<(usize, Vec<f64>)> = Vec::new();
    // Run-id stems of the kept (`formula_<32-bit hash>`): two would share run folders.
    let mut ids: std::collections::HashMap<&'static str, usize> = std::collections::HashMap::new();
    let mut met: Vec<Candidate> = Vec::new();
    for index in order {
        if kept_values.len() >= search.candidates.0 {
            break;
        }
        let formula = compose(search, index);
        let dropped = match screen(&formula, &grid) {
            Err(why) => Some(why),
            Ok((values, id)) => match kept_values.iter().find(|(_, other)| same(other, &values)) {
                Some((j, _)) => Some(format!("the same function as `{}`", met[*j].formula)),
                None => match ids.get(id) {
                    Some(&j) => Some(format!("its run id `{id}` is `{}`'s (a hash collision)", met[j].formula)),
                    None => {
                        ids.insert(id, met.len());
                        kept_values.push((met.len(), values));
                        None
                    }
                },
            },
        };
        met.push(Candidate { formula, dropped });
    }
    Space { size, met }
}

/// The candidate at `index` of the space (mixed radix over the choices).
fn compose(search: &Search, mut index: u128) -> String {
    let mut take = |list: &[String]| {
        let n = list.len() as u128;
        let pick = &list[(index % n) as usize];
        index /= n;
        pick.clone()
    };
    let (u1, u2, b1) = (take(&search.unary), take(&search.unary), take(&search.binary));
    let core = substitute(&b1, &[("a", &u1), ("b", &u2)]);
    if search.units.0 == 1 {
        return core;
    }
    let (u3, u4, b2) = (take(&search.unary), take(&search.unary), take(&search.binary));
    let outer = substitute(&u3, &[("x", &core)]);
    substitute(&b2, &[("a", &outer), ("b", &u4)])
}

/// `text` with each whole name of `by` replaced by its text (parenthesised
/// unless it is one name, number or call): `a * sigmoid(b)` with a = `x`,
/// b = `-x` is `x * sigmoid((-x))`.
pub fn substitute(text: &str, by: &[(&str, &str)]) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() || c == '.' {
            // A number, exponent included (`1e5` holds no name).
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                let exponent = matches!(chars[i], 'e' | 'E') && matches!(chars.get(i + 1), Some('+' | '-'));
                i += if exponent { 2 } else { 1 };
            }
            out.extend(&chars[start..i.min(chars.len())]);
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let name: String = chars[start..i].iter().collect();
            match by.iter().find(|(n, _)| *n == name) {
                Some((_, with)) if atomic(with) => out.push_str(with),
                Some((_, with)) => {
                    out.push('(');
                    out.push_str(with);
                    out.push(')');
                }
                None => out.push_str(&name),
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// One name, one number, or one call `f(...)` whose first `(` closes at the end.
fn atomic(text: &str) -> bool {
    let t = text.trim();
    if !t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') {
        return true;
    }
    let Some(open) = t.find('(') else { return false };
    if open == 0 || !t[..open].chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || !t.ends_with(')') {
        return false;
    }
    let mut depth = 0;
    for (i, c) in t.char_indices().skip(open) {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return i == t.len() - 1;
                }
            }
            _ => {}
        }
    }
    false
}

/// The candidate's values on the grid when it can be trained, else why not:
/// not a valid formula (not finite on [-20, 20], its derivative included),
/// constant, or flat almost everywhere.
fn screen(formula: &str, grid: &[f64]) -> Result<(Vec<f64>, &'static str), String> {
    let kind = ActivationKind::from_formula(None, formula, &[]).map_err(|e| e.replacen("`formula` ", "", 1))?;
    let formula = &kind.custom().expect("a formula").formula;
    let values = formula.values_at(&[], grid);
    if values.iter().any(|v| !v.is_finite()) {
        return Err("is not finite on [-20, 20]".into());
    }
    let (lo, hi) = values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(*v), h.max(*v)));
    if hi - lo <= CONSTANT_SPAN * (1.0 + hi.abs().max(lo.abs())) {
        return Err("is constant".into());
    }
    let up: Vec<f64> = grid.iter().map(|x| x + STEP).collect();
    let down: Vec<f64> = grid.iter().map(|x| x - STEP).collect();
    let flat = formula
        .values_at(&[], &up)
        .iter()
        .zip(formula.values_at(&[], &down))
        .filter(|(a, b)| ((*a - b) / (2.0 * STEP)).abs() < ZERO_SLOPE)
        .count();
    if flat as f64 > FLAT_SHARE * grid.len() as f64 {
        return Err("has a zero derivative almost everywhere".into());
    }
    Ok((values, kind.name()))
}

fn same(a: &[f64], b: &[f64]) -> bool {
    a.iter().zip(b).all(|(x, y)| (x - y).abs() <= SAME_RELATIVE * (1.0 + x.abs()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::values::Count;

    fn space(unary: &[&str], binary: &[&str], candidates: usize) -> Search {
        Search {
            unary: unary.iter().map(|s| s.to_string()).collect(),
            binary: binary.iter().map(|s| s.to_string()).collect(),
            candidates: Count(candidates),
            ..Search::default()
        }
    }

    #[test]
    fn names_are_replaced_whole_and_wrapped_only_when_needed() {
        assert_eq!(substitute("a * sigmoid(b)", &[("a", "x"), ("b", "-x")]), "x * sigmoid((-x))");
        assert_eq!(substitute("max(a, b)", &[("a", "abs(x)"), ("b", "x^2")]), "max(abs(x), (x^2))");
        assert_eq!(substitute("tanh(x) + 1e-5 * x", &[("x", "a + b")]), "tanh((a + b)) + 1e-5 * (a + b)");
        assert_eq!(substitute("abs(a)", &[("a", "sin(x) * cos(x)")]), "abs((sin(x) * cos(x)))");
        assert!(!atomic("sin(x) * cos(x)") && atomic("sin(cos(x))") && atomic("x") && atomic("0.5"));
    }

    /// Every candidate of a small space is met, each kept one is a distinct
    /// function, and the drops say why: x - x is constant, x + x equals
    /// 2 * x, min(x, x) is x.
    #[test]
    fn a_small_space_is_walked_whole_and_repeats_are_dropped() {
        let s = space(&["x", "-x", "exp(x)"], &["a + b", "a - b", "min(a, b)"], 1000);
        let found = candidates(&s);
        assert_eq!(found.size, 27);
        assert_eq!(found.met.len(), 27, "all met");
        let why = |f: &str| found.met.iter().find(|c| c.formula == f).unwrap().dropped.clone();
        assert_eq!(why("x - x").as_deref(), Some("is constant"));
        assert_eq!(why("x + (-x)").as_deref(), Some("is constant"));
        assert!(why("exp(x) + exp(x)").is_none_or(|w| w.contains("the same function")));
        // Of x + x and min(x, x) ... the function x appears once among the kept ones.
        let grid = check_grid();
        let kept: Vec<Vec<f64>> = found
            .kept()
            .map(|c| {
                let k = ActivationKind::from_formula(None, &c.formula, &[]).unwrap();
                k.custom().unwrap().formula.values_at(&[], &grid)
            })
            .collect();
        for i in 0..kept.len() {
            for j in 0..i {
                assert!(!same(&kept[i], &kept[j]), "kept twice: {:?}", found.kept().collect::<Vec<_>>());
            }
        }
        // exp(x) + exp(x) overflows f32 within [-20, 20]? No: e^20 = 4.9e8 fits. All 27 are accounted for.
        let dropped = found.met.iter().filter(|c| c.dropped.is_some()).count();
        assert_eq!(dropped + kept.len(), 27);
        assert!(dropped >= 6, "{:?}", found.met);
    }

    #[test]
    fn the_walk_is_seeded_and_stops_at_the_count() {
        let s = space(&["x", "tanh(x)", "sin(x)", "x^2", "abs(x)"], &["a + b", "a * b", "max(a, b)"], 10);
        let a = candidates(&s);
        assert_eq!(a.kept().count(), 10);
        assert_eq!(a.met, candidates(&s).met, "the same seed, the same walk");
        let other = candidates(&Search { seed: 1, ..s.clone() });
        assert_ne!(a.met, other.met, "another seed, another order");
        // Two units: a space too big to shuffle whole is sampled, seeded too.
        let two = Search { units: Count(2), candidates: Count(5), ..s };
        let t = candidates(&two);
        assert_eq!(t.size, 75 * 75);
        assert_eq!(t.kept().count(), 5);
        assert_eq!(t.met, candidates(&two).met);
    }

    #[test]
    fn flat_and_non_finite_candidates_are_dropped() {
        let s = space(&["x", "max(x, 0)", "exp(x)", "min(x, 0)"], &["a * b", "min(a, b)", "exp(a) * b"], 1000);
        let found = candidates(&s);
        let why = |f: &str| found.met.iter().find(|c| c.formula == f).and_then(|c| c.dropped.clone());
        // max(x, 0) * min(x, 0) is 0 everywhere.
        assert_eq!(why("max(x, 0) * min(x, 0)").as_deref(), Some("is constant"));
        // exp(exp(x)) * x overflows 32-bit floats well inside [-20, 20].
        let overflow = why("exp(exp(x)) * x").unwrap();
        assert!(overflow.contains("not finite"), "{overflow}");
    }
}
