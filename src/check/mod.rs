//! `actbench check`: a finished experiment against a committed baseline, for
//! CI. Per group of seeds (activation, lr), a regression is
//! - a drop of mean test accuracy (a rise of the test loss per token, for a
//!   language model) beyond max(check.min_drop, check.standard_errors x the
//!   baseline's standard error over seeds);
//! - a baseline ordering of two groups that Welch's test called significant
//!   (p < check.ranking_p) and that the current results reverse;
//! - more diverged runs than in the baseline.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::bail;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::maths::stats;
use crate::results::dir::{ResultsDir, Table};
use crate::results::records::{EpochRecord, RunSummary};

pub mod baseline;
pub mod expect;
mod format;
mod metric;
pub mod settings;

pub use format::{Format, expect_junit};

/// One group of seeds (an activation, with its lr when the baseline sweeps lr).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupCheck {
    pub group: String,
    /// Mean test accuracy over the seeds with a finite one; `None` when none has.
    pub baseline: Option<f64>,
    pub current: Option<f64>,
    /// The largest drop of the mean that is not a regression.
    pub tolerance: f64,
    pub baseline_runs: usize,
    pub current_runs: usize,
    pub baseline_diverged: usize,
    pub current_diverged: usize,
    /// Why this group regressed, one sentence each (empty: it passed).
    pub failures: Vec<String>,
}

/// An ordering of two groups the baseline is sure of (Welch's test).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderingCheck {
    pub better: String,
    pub worse: String,
    /// Welch's two-sided p in the baseline.
    pub p: f64,
    /// Current means of the two groups.
    pub current_better: Option<f64>,
    pub current_worse: Option<f64>,
    /// The current results reverse it.
    pub reversed: bool,
}

impl GroupCheck {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// What `check` found: every group and every sure ordering, pass or fail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub baseline_dir: String,
    pub current_dir: String,
    pub experiment: String,
    /// What the groups' means are of: `test_accuracy`, or `test_loss` for a
    /// language model (lower is better).
    #[serde(default = "test_accuracy")]
    pub metric: String,
    pub groups: Vec<GroupCheck>,
    pub orderings: Vec<OrderingCheck>,
    pub passed: bool,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.passed
    }

    /// The text table printed on stdout.
    pub fn table(&self) -> String {
        format::text(self)
    }
}

fn test_accuracy() -> String {
    "test_accuracy".into()
}

struct Groups(BTreeMap<String, Vec<RunSummary>>);

/// The rows of a results folder's (or a baseline's) summary.csv.
pub fn load(dir: &Path) -> anyhow::Result<Vec<RunSummary>> {
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

/// Whether some activation of `baseline` was run at several learning rates.
pub fn sweeps_lr(baseline: &[RunSummary]) -> bool {
    let mut lrs: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for r in baseline {
        let seen = lrs.entry(&r.activation).or_default();
        if !seen.contains(&r.lr) {
            seen.push(r.lr);
        }
    }
    lrs.values().any(|l| l.len() > 1)
}

/// Runs by group: by activation and sweep point, and also by learning rate
/// when the baseline sweeps it (`by_lr`); with one lr per activation, a
/// changed lr is a change to check, not a different group.
pub fn groups(rows: Vec<RunSummary>, by_lr: bool) -> BTreeMap<String, Vec<RunSummary>> {
    let mut groups: BTreeMap<String, Vec<RunSummary>> = BTreeMap::new();
    for row in rows {
        let mut key = row.activation.clone();
        if !row.sweep.is_empty() {
            key.push_str(&format!(" @ {}", row.sweep.join(", ")));
        }
        if by_lr {
            key.push_str(&format!(" @ lr {}", row.lr));
        }
        groups.entry(key).or_default().push(row);
    }
    groups
}

/// With `[tuning]` in the baseline's config: the runs of `dir` at each
/// activation's chosen setting (chosen on `dir`'s own validation data, by
/// the baseline's rules), grouped by activation and the keys not tuned; a
/// changed choice is a change to check, not a different group. `None`
/// without `[tuning]`.
fn tuned_groups(
    config: &Config,
    dir: &Path,
    rows: &[RunSummary],
) -> anyhow::Result<Option<BTreeMap<String, Vec<RunSummary>>>> {
    if config.tuning.is_none() {
        return Ok(None);
    }
    let epochs: Vec<EpochRecord> = crate::export::csv::read_rows(&ResultsDir::new(dir).table(Table::Epochs))?;
    let Some(tuned) = crate::tuning::choose(config, rows, &epochs) else { return Ok(None) };
    let mut groups: BTreeMap<String, Vec<RunSummary>> = BTreeMap::new();
    for choice in &tuned.choices {
        let c = &tuned.candidates[choice.chosen];
        let mut key = choice.activation.clone();
        for (k, v) in tuned.fixed_keys.iter().zip(&choice.fixed) {
            key.push_str(&format!(" @ {} {v}", crate::config::leaf(k)));
        }
        let chosen = rows.iter().filter(|r| c.run_ids.contains(&r.run_id)).cloned();
        groups.entry(key).or_default().extend(chosen);
    }
    Ok(Some(groups))
}

impl Groups {
    /// The headline metric of each run (test accuracy, or test loss).
    fn values(&self, group: &str, loss: bool) -> Vec<f64> {
        self.0[group].iter().map(|r| if loss { r.test_loss } else { r.test_accuracy }).collect()
    }

    fn diverged(&self, group: &str) -> usize {
        self.0[group].iter().filter(|r| r.diverged).count()
    }
}

pub fn check(baseline_dir: &Path, current_dir: &Path) -> anyhow::Result<Verdict> {
    let config = Config::load(&ResultsDir::new(baseline_dir).config())?;
    let tolerances = &config.check;
    let headline = crate::report::Headline::of(&config);
    let loss = !headline.higher_is_better;
    let name = headline.name;
    let (base_rows, current_rows) = (load(baseline_dir)?, load(current_dir)?);
    if base_rows.iter().all(|r| !(if loss { r.test_loss } else { r.test_accuracy }).is_finite()) {
        bail!(
            "baseline '{}' has no finite {name} (every run diverged or has none): it cannot be checked against; run its config.toml again and keep that as the baseline",
            baseline_dir.display()
        );
    }
    let (base, current) =
        match (tuned_groups(&config, baseline_dir, &base_rows)?, tuned_groups(&config, current_dir, &current_rows)?) {
            (Some(base), Some(current)) => (Groups(base), Groups(current)),
            _ => {
                let by_lr = sweeps_lr(&base_rows);
                (Groups(groups(base_rows, by_lr)), Groups(groups(current_rows, by_lr)))
            }
        };
    if let Some(missing) = base.0.keys().find(|g| !current.0.contains_key(*g)) {
        bail!(
            "'{}' has no runs of `{missing}`, which the baseline has: run the baseline's config (its config.toml) into it",
            current_dir.display()
        );
    }
    let mut groups = Vec::new();
    for group in base.0.keys() {
        let (b, c) = (stats::summarize(&base.values(group, loss)), stats::summarize(&current.values(group, loss)));
        let (b_mean, c_mean) = (b.map(|s| s.mean), c.map(|s| s.mean));
        let standard_error = b.map_or(0.0, |s| s.std / (s.n as f64).sqrt());
        let tolerance = tolerances.min_drop.0.max(tolerances.standard_errors.0 * standard_error);
        let mut failures = Vec::new();
        match (b_mean, c_mean) {
            (Some(_), None) => failures.push(format!("no finite {name} in any run")),
            (Some(b), Some(c)) if !loss && c < b - tolerance => {
                failures.push(format!("test accuracy dropped by {:.4}, more than the tolerance {tolerance:.4}", b - c))
            }
            (Some(b), Some(c)) if loss && c > b + tolerance => {
                failures.push(format!("{name} rose by {:.4}, more than the tolerance {tolerance:.4}", c - b))
            }
            _ => {}
        }
        let (was, now) = (base.diverged(group), current.diverged(group));
        if now > was {
            failures.push(format!("diverged in {now} runs (baseline: {was})"));
        }
        groups.push(GroupCheck {
            group: group.clone(),
            baseline: b_mean,
            current: c_mean,
            tolerance,
            baseline_runs: base.0[group].len(),
            current_runs: current.0[group].len(),
            baseline_diverged: was,
            current_diverged: now,
            failures,
        });
    }
    // Orderings the baseline is sure of must hold.
    let mut orderings = Vec::new();
    let names: Vec<&String> = base.0.keys().collect();
    // Orderings are within a sweep point (or setting of the untuned keys) only.
    let point = |g: &str| base.0[g].first().map(|r| r.sweep.clone()).unwrap_or_default();
    let tuned_point = |g: &str| g.split_once(" @ ").map(|(_, rest)| rest.to_string()).unwrap_or_default();
    for (i, a) in names.iter().enumerate() {
        for b in names[i + 1..]
            .iter()
            .filter(|b| if config.tuning.is_some() { tuned_point(a) == tuned_point(b) } else { point(a) == point(b) })
        {
            let Some(w) = stats::welch(&base.values(a, loss), &base.values(b, loss)) else { continue };
            if w.p >= tolerances.ranking_p.0 || w.diff == 0.0 {
                continue;
            }
            let (better, worse) = if (w.diff > 0.0) != loss { (a, b) } else { (b, a) };
            let mean = |g: &str| stats::summarize(&current.values(g, loss)).map(|s| s.mean);
            let (current_better, current_worse) = (mean(better), mean(worse));
            let reversed = matches!((current_better, current_worse), (Some(x), Some(y)) if (y > x) != loss && y != x);
            orderings.push(OrderingCheck {
                better: better.to_string(),
                worse: worse.to_string(),
                p: w.p,
                current_better,
                current_worse,
                reversed,
            });
        }
    }
    let passed = groups.iter().all(GroupCheck::passed) && !orderings.iter().any(|o| o.reversed);
    Ok(Verdict {
        baseline_dir: baseline_dir.display().to_string(),
        current_dir: current_dir.display().to_string(),
        experiment: config.experiment.name.clone(),
        metric: headline.metric.to_string(),
        groups,
        orderings,
        passed,
    })
}
