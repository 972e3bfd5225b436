//! `actbench check`: a finished experiment against a committed baseline, for
//! CI. Per group of seeds (activation, lr), a regression is
//! - a drop of mean test accuracy beyond max(check.min_drop,
//!   check.standard_errors x the baseline's standard error over seeds);
//! - a baseline ordering of two groups that Welch's test called significant
//!   (p < check.ranking_p) and that the current results reverse;
//! - more diverged runs than in the baseline.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use anyhow::bail;

use crate::config::Config;
use crate::records::RunSummary;
use crate::results_dir::{ResultsDir, Table};
use crate::stats;

/// One group's verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub group: String,
    pub baseline: f64,
    pub current: f64,
    pub tolerance: f64,
    pub regression: Option<String>,
}

pub struct Verdict {
    pub findings: Vec<Finding>,
    /// Reversed significant orderings and new divergences.
    pub other: Vec<String>,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.other.is_empty() && self.findings.iter().all(|f| f.regression.is_none())
    }

    pub fn table(&self) -> String {
        let mut out = format!(
            "{:<32} {:>9} {:>9} {:>11} {:>10}  verdict\n",
            "group", "baseline", "current", "difference", "tolerance"
        );
        for f in &self.findings {
            let _ = writeln!(
                out,
                "{:<32} {:>9.4} {:>9.4} {:>+11.4} {:>10.4}  {}",
                f.group,
                f.baseline,
                f.current,
                f.current - f.baseline,
                f.tolerance,
                f.regression.as_deref().unwrap_or("ok")
            );
        }
        for o in &self.other {
            let _ = writeln!(out, "REGRESSION: {o}");
        }
        let _ = writeln!(out, "{}", if self.passed() { "check passed" } else { "check FAILED: regression" });
        out
    }
}

struct Groups(BTreeMap<String, Vec<RunSummary>>);

/// Rows of a summary.csv.
fn load(dir: &Path) -> anyhow::Result<Vec<RunSummary>> {
    let path = ResultsDir::new(dir).table(Table::Summary);
    if !path.is_file() {
        bail!("'{}' holds no {}: give a folder written by `actbench run`", dir.display(), Table::Summary.file_name());
    }
    let rows: Vec<RunSummary> = crate::export::csv::read_rows(&path)?;
    if rows.is_empty() {
        bail!("'{}' has no runs", path.display());
    }
    Ok(rows)
}

impl Groups {
    /// Groups runs by activation, and also by learning rate when the
    /// baseline sweeps it; with one lr per activation, a changed lr is a
    /// change to check, not a different group.
    fn new(rows: Vec<RunSummary>, by_lr: bool) -> Groups {
        let mut groups: BTreeMap<String, Vec<RunSummary>> = BTreeMap::new();
        for row in rows {
            let key = if by_lr { format!("{} @ lr {}", row.activation, row.lr) } else { row.activation.clone() };
            groups.entry(key).or_default().push(row);
        }
        Groups(groups)
    }

    fn accuracies(&self, group: &str) -> Vec<f64> {
        self.0[group].iter().map(|r| r.test_accuracy).collect()
    }

    fn diverged(&self, group: &str) -> usize {
        self.0[group].iter().filter(|r| r.diverged).count()
    }
}

pub fn check(baseline_dir: &Path, current_dir: &Path) -> anyhow::Result<Verdict> {
    let config = Config::load(&ResultsDir::new(baseline_dir).config())?;
    let tolerances = &config.check;
    let (base_rows, current_rows) = (load(baseline_dir)?, load(current_dir)?);
    if base_rows.iter().all(|r| !r.test_accuracy.is_finite()) {
        bail!(
            "baseline '{}' has no finite test accuracy (every run diverged or has none): it cannot be checked against; run its config.toml again and keep that as the baseline",
            baseline_dir.display()
        );
    }
    let mut lrs: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for r in &base_rows {
        let seen = lrs.entry(&r.activation).or_default();
        if !seen.contains(&r.lr) {
            seen.push(r.lr);
        }
    }
    let by_lr = lrs.values().any(|l| l.len() > 1);
    let (base, current) = (Groups::new(base_rows, by_lr), Groups::new(current_rows, by_lr));
    if let Some(missing) = base.0.keys().find(|g| !current.0.contains_key(*g)) {
        bail!(
            "'{}' has no runs of `{missing}`, which the baseline has: run the baseline's config (its config.toml) into it",
            current_dir.display()
        );
    }
    let mut findings = Vec::new();
    let mut other = Vec::new();
    for group in base.0.keys() {
        let (b, c) = (stats::summarize(&base.accuracies(group)), stats::summarize(&current.accuracies(group)));
        let (b_mean, c_mean) = (b.map_or(f64::NAN, |s| s.mean), c.map_or(f64::NAN, |s| s.mean));
        let standard_error = b.map_or(0.0, |s| s.std / (s.n as f64).sqrt());
        let tolerance = tolerances.min_drop.0.max(tolerances.standard_errors.0 * standard_error);
        let regression = if !c_mean.is_finite() && b_mean.is_finite() {
            Some("REGRESSION: no finite accuracy".to_string())
        } else if c_mean < b_mean - tolerance {
            Some(format!("REGRESSION: dropped more than {tolerance:.4}"))
        } else {
            None
        };
        findings.push(Finding { group: group.clone(), baseline: b_mean, current: c_mean, tolerance, regression });
        let (was, now) = (base.diverged(group), current.diverged(group));
        if now > was {
            other.push(format!("`{group}` diverged in {now} runs (baseline: {was})"));
        }
    }
    // Orderings the baseline is sure of must hold.
    let names: Vec<&String> = base.0.keys().collect();
    for (i, a) in names.iter().enumerate() {
        for b in &names[i + 1..] {
            let Some(w) = stats::welch(&base.accuracies(a), &base.accuracies(b)) else { continue };
            if w.p >= tolerances.ranking_p.0 || w.diff == 0.0 {
                continue;
            }
            let (better, worse) = if w.diff > 0.0 { (a, b) } else { (b, a) };
            let mean = |g: &str| stats::summarize(&current.accuracies(g)).map_or(f64::NAN, |s| s.mean);
            if mean(worse) > mean(better) {
                other.push(format!(
                    "`{worse}` now beats `{better}`, reversing a baseline ordering with p = {:.1e}",
                    w.p
                ));
            }
        }
    }
    Ok(Verdict { findings, other })
}
