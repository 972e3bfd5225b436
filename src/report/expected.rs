//! With `[tuning]`: how much tuning each activation needed. For every
//! activation (at each setting of the keys not tuned), the expected best
//! validation score after n of the N settings it was tuned over, n = 1..N,
//! with its spread and the expected test score of the setting best
//! validation picks (Dodge et al. 2019, maths/expected_max.rs); each
//! setting one trial, scored by its mean over seeds. Curves that cross say
//! "A wins on a small budget, B on a large one": report.md names the
//! budgets where the order of two activations changes.
//! expected_performance.csv, plots/expected_performance and report.md's
//! `## Budget` section.

use std::fmt::Write as _;

use anyhow::Context;
use serde::Serialize;

use super::Analysis;
use crate::export::csv;
use crate::maths::expected_max::{self, Expected};
use crate::results::dir::ResultsDir;
use crate::results::records::Columns;

/// One activation's curve (at one setting of the keys not tuned).
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    pub activation: String,
    /// The values of the keys held fixed (`tuning::Tuned::fixed_keys`), `k=v` each.
    pub fixed: String,
    /// In the selection metric's own units (a loss stays a loss).
    pub points: Vec<Expected>,
    /// Settings with a diverged run among them, counted at the floor score.
    pub diverged: usize,
}

/// A row of expected_performance.csv.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub activation: String,
    pub fixed: String,
    /// Settings drawn (with replacement) from those tried.
    pub n: usize,
    /// Settings tried.
    pub tried: usize,
    pub expected_best: f64,
    pub std: f64,
    pub expected_test_accuracy: f64,
}

impl Columns for Row {
    const COLUMNS: &'static [&'static str] =
        &["activation", "fixed", "n", "tried", "expected_best", "std", "expected_test_accuracy"];
}

/// Every tuned activation's curve; empty without `[tuning]`.
pub fn curves(analysis: &Analysis) -> Vec<Curve> {
    let Some(tuned) = &analysis.tuned else { return Vec::new() };
    let sign = if tuned.select.higher_is_better() { 1.0 } else { -1.0 };
    let test_of = |c: &crate::tuning::Candidate| {
        let g = analysis.all_groups.iter().find(|g| g.is(&c.activation, &c.sweep, c.lr));
        let finite: Vec<f64> =
            g.map(|g| g.values[0].iter().copied().filter(|v| v.is_finite()).collect()).unwrap_or_default();
        if finite.is_empty() { f64::NAN } else { finite.iter().sum::<f64>() / finite.len() as f64 }
    };
    // A setting that diverged on a seed has no score, but it was a trial
    // spent: it counts as the worst score any finished setting of the
    // experiment reached (with that test score where it has none of its
    // own), so it is the best of n draws only when all n diverged. Left
    // out, it would make an activation that often diverges look cheap to tune.
    let finished = || tuned.candidates.iter().filter(|c| c.stopped_at.is_none());
    let floor = finished().filter_map(|c| c.score.map(|s| sign * s)).fold(f64::INFINITY, f64::min);
    let test_floor = finished()
        .filter(|c| c.score.is_some_and(|s| sign * s == floor))
        .map(&test_of)
        .filter(|t| t.is_finite())
        .fold(f64::INFINITY, f64::min);
    let (floor, test_floor) = (finite_or_nan(floor), finite_or_nan(test_floor));
    tuned
        .choices
        .iter()
        .map(|choice| {
            let mut diverged = 0;
            let trials: Vec<(f64, f64)> = choice
                .candidates
                .iter()
                .map(|&i| &tuned.candidates[i])
                // A setting stopped early by halving has no score at the full budget.
                .filter(|c| c.stopped_at.is_none())
                .map(|c| match c.score {
                    Some(s) => (sign * s, test_of(c)),
                    None => {
                        diverged += 1;
                        let test = test_of(c);
                        (floor, if test.is_finite() { test.min(test_floor) } else { test_floor })
                    }
                })
                .collect();
            let points =
                expected_max::curve(&trials).into_iter().map(|e| Expected { mean: sign * e.mean, ..e }).collect();
            let fixed: Vec<String> = tuned
                .fixed_keys
                .iter()
                .zip(&choice.fixed)
                .map(|(k, v)| format!("{}={v}", crate::config::leaf(k)))
                .collect();
            Curve { activation: choice.activation.clone(), fixed: fixed.join(", "), points, diverged }
        })
        .collect()
}

fn finite_or_nan(x: f64) -> f64 {
    if x.is_finite() { x } else { f64::NAN }
}

/// Writes expected_performance.csv (with `[tuning]`; a stale one is removed without).
pub fn write(analysis: &Analysis, dir: &ResultsDir) -> anyhow::Result<()> {
    let path = dir.expected_performance();
    if analysis.tuned.is_none() {
        return match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("cannot remove '{}'", path.display()))
            }
            _ => Ok(()),
        };
    }
    let rows: Vec<Row> = curves(analysis)
        .into_iter()
        .flat_map(|c| {
            let tried = c.points.len();
            c.points.into_iter().map(move |e| Row {
                activation: c.activation.clone(),
                fixed: c.fixed.clone(),
                n: e.n,
                tried,
                expected_best: e.mean,
                std: e.std,
                expected_test_accuracy: e.test,
            })
        })
        .collect();
    csv::write_rows(&path, &rows, &[]).with_context(|| format!("cannot write '{}'", path.display()))
}

/// Where the order of two activations' expected best scores changes with
/// the budget, pair by pair at one fixed setting: `relu ahead at n = 1,
/// gelu from n = 2`.
pub fn crossings(curves: &[Curve], higher_is_better: bool) -> Vec<String> {
    let mut out = Vec::new();
    for (i, a) in curves.iter().enumerate() {
        for b in curves[i + 1..].iter().filter(|b| b.fixed == a.fixed) {
            let n = a.points.len().min(b.points.len());
            // Per budget: who leads (Some(true): a), None on a tie.
            let lead: Vec<Option<bool>> = (0..n)
                .map(|k| {
                    let d = a.points[k].mean - b.points[k].mean;
                    let d = if higher_is_better { d } else { -d };
                    (d != 0.0).then_some(d > 0.0)
                })
                .collect();
            let changes: Vec<usize> = (1..n).filter(|&k| lead[k].is_some() && lead[k] != lead[k - 1]).collect();
            if changes.is_empty() || lead.iter().all(|l| l.is_none()) {
                continue;
            }
            let name = |l: Option<bool>| match l {
                Some(true) => a.activation.as_str(),
                Some(false) => b.activation.as_str(),
                None => "neither",
            };
            let mut parts = vec![format!("{} ahead at n = 1", name(lead[0]))];
            for k in changes {
                parts.push(format!("{} from n = {}", name(lead[k]), k + 1));
            }
            let at = if a.fixed.is_empty() { String::new() } else { format!(" (at {})", a.fixed) };
            // A change of order inside the expectations' own spread says little.
            let inside =
                (0..n).all(|k| (a.points[k].mean - b.points[k].mean).abs() <= a.points[k].std.max(b.points[k].std));
            let widest = (0..n).map(|k| (a.points[k].mean - b.points[k].mean).abs()).fold(0.0, f64::max);
            let note = if inside {
                format!(
                    " (every gap, at most {widest:.4}, is inside one standard deviation of the expectations: no budget effect beyond noise)"
                )
            } else {
                String::new()
            };
            out.push(format!("{} against {}{at}: {}{note}", a.activation, b.activation, parts.join(", ")));
        }
    }
    out
}

/// report.md's `## Budget` section (with `[tuning]`).
pub fn section(analysis: &Analysis) -> String {
    let Some(tuned) = &analysis.tuned else { return String::new() };
    let curves = curves(analysis);
    let mut md = String::from("## Budget\n\n");
    let _ = writeln!(
        md,
        "The expected best `{}` after n of the settings each activation was tuned over (drawn with replacement, Dodge et al. 2019), and the expected test accuracy of the one it picks: how much of its result each activation owes to the size of its search. A setting with a diverged run counts as a trial at the worst score any finished setting reached. Per n: `expected_performance.csv`; the curves: `plots/expected_performance`.\n",
        tuned.select.name()
    );
    let _ = writeln!(
        md,
        "| activation | settings | n = 1 | n = all | test at n = 1 | test at n = all |\n|---|---|---|---|---|---|"
    );
    for c in &curves {
        let (Some(first), Some(last)) = (c.points.first(), c.points.last()) else { continue };
        let label = if c.fixed.is_empty() { c.activation.clone() } else { format!("{} @ {}", c.activation, c.fixed) };
        let _ = writeln!(
            md,
            "| {label} | {} | {:.4} ± {:.4} | {:.4} ± {:.4} | {:.4} | {:.4} |",
            if c.diverged == 0 {
                c.points.len().to_string()
            } else {
                format!("{} ({} diverged)", c.points.len(), c.diverged)
            },
            first.mean,
            first.std,
            last.mean,
            last.std,
            first.test,
            last.test
        );
    }
    let changes = crossings(&curves, tuned.select.higher_is_better());
    md.push('\n');
    if changes.is_empty() {
        md.push_str("No two activations change order between a budget of one setting and all of them.\n\n");
    } else {
        md.push_str("The order changes with the budget:\n\n");
        for c in changes {
            let _ = writeln!(md, "- {c}");
        }
        md.push('\n');
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(activation: &str, means: &[f64]) -> Curve {
        Curve {
            activation: activation.into(),
            fixed: String::new(),
            points: means
                .iter()
                .enumerate()
                .map(|(i, &m)| Expected { n: i + 1, mean: m, std: 0.0, test: 0.0 })
                .collect(),
            diverged: 0,
        }
    }

    #[test]
    fn crossings_name_the_budgets_where_the_lead_changes() {
        let a = curve("relu", &[0.80, 0.82, 0.83, 0.835]);
        let b = curve("gelu", &[0.78, 0.82, 0.84, 0.85]);
        assert_eq!(
            crossings(&[a.clone(), b.clone()], true),
            ["relu against gelu: relu ahead at n = 1, gelu from n = 3"]
        );
        // For a loss the lower leads.
        assert_eq!(crossings(&[a.clone(), b], false), ["relu against gelu: gelu ahead at n = 1, relu from n = 3"]);
        let c = curve("tanh", &[0.70, 0.71, 0.72, 0.73]);
        assert!(crossings(&[a, c], true).is_empty());
    }
}
