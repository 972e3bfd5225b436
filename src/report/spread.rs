//! Where the spread comes from: with a sweep over `experiment.vary` whose
//! points each vary one source of randomness (`[["init"], ["order"],
//! ["split"]]`), the standard deviation of the test accuracy over seeds
//! with only that source varying, and each source's share of their summed
//! variances (Bouthillier et al. 2021, "Accounting for Variance in Machine
//! Learning Benchmarks": the split and the order can matter as much as the
//! initialisation). report.md's `## Sources of spread`; `check` reads the
//! same shares (`source = "split"`).

use std::fmt::Write as _;

use super::Analysis;
use crate::maths::stats;

/// The swept key whose points name the sources.
pub const KEY: &str = "experiment.vary";

/// One activation's spread by source (at one setting of the other keys).
#[derive(Debug, Clone, PartialEq)]
pub struct Spread {
    pub activation: String,
    /// The other swept keys' values and the lr, `k=v` each.
    pub at: String,
    /// (source, standard deviation over seeds, share of the summed variance).
    pub sources: Vec<(String, f64, f64)>,
}

/// Each activation's spread by source on test accuracy; empty unless the
/// experiment sweeps `experiment.vary` over points that each name one source.
pub fn spreads(analysis: &Analysis) -> Vec<Spread> {
    let keys = analysis.results.config.sweep.keys();
    let Some(at) = keys.iter().position(|k| k == KEY) else { return Vec::new() };
    // A point names one source: `[init]`.
    let source = |v: &str| -> Option<String> {
        let inner = v.strip_prefix('[')?.strip_suffix(']')?;
        (!inner.is_empty() && !inner.contains(',')).then(|| inner.trim_matches('"').to_string())
    };
    let mut out: Vec<Spread> = Vec::new();
    for g in &analysis.all_groups {
        let Some(name) = source(&g.sweep[at]) else { continue };
        let others: Vec<String> = keys
            .iter()
            .zip(&g.sweep)
            .enumerate()
            .filter(|(i, _)| *i != at)
            .map(|(_, (k, v))| format!("{}={v}", crate::config::leaf(k)))
            .chain(std::iter::once(format!("lr={}", g.lr)))
            .collect();
        let place = others.join(", ");
        let Some(summary) = stats::summarize(&g.values[0]).filter(|s| s.n >= 2) else { continue };
        let index = match out.iter().position(|s| s.activation == g.activation && s.at == place) {
            Some(i) => i,
            None => {
                out.push(Spread { activation: g.activation.clone(), at: place, sources: Vec::new() });
                out.len() - 1
            }
        };
        out[index].sources.push((name, summary.std, 0.0));
    }
    out.retain(|s| s.sources.len() >= 2);
    for s in &mut out {
        let total: f64 = s.sources.iter().map(|(_, sd, _)| sd * sd).sum();
        for (_, sd, share) in &mut s.sources {
            *share = if total > 0.0 { *sd * *sd / total } else { f64::NAN };
        }
    }
    out
}

/// report.md's `## Sources of spread` (empty without such a sweep).
pub fn section(analysis: &Analysis) -> String {
    let spreads = spreads(analysis);
    if spreads.is_empty() {
        return String::new();
    }
    let mut md = String::from("## Sources of spread\n\n");
    let _ = writeln!(
        md,
        "The standard deviation of the test accuracy over seeds when the seed drives one source of randomness alone (the others held at seed {}), and that source's share of the summed variances: where a result's spread comes from (Bouthillier et al. 2021).\n",
        analysis.results.config.experiment.fixed_seed
    );
    for s in &spreads {
        let parts: Vec<String> =
            s.sources.iter().map(|(name, sd, share)| format!("{name} {sd:.4} ({:.0}%)", 100.0 * share)).collect();
        let _ = writeln!(md, "- **{}** ({}): {}", s.activation, s.at, parts.join(", "));
    }
    md.push('\n');
    md
}
