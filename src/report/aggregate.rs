//! Statistics across seeds: for every group of runs that differ only by
//! seed (same activation entry, same learning rate) and every metric, the
//! spread, a 95% confidence interval, the comparison with the baseline
//! activation (Welch's t-test, Holm-corrected over the comparisons) and a
//! rank. One row per group and metric: aggregate.csv.

use anyhow::Context;
use serde::Serialize;

use super::Analysis;
use super::load::Results;
use crate::config::Config;
use crate::export::csv;
use crate::maths::{bootstrap, stats};
use crate::results::dir::ResultsDir;
use crate::results::records::Columns;

/// The metrics, in the order of aggregate.csv; `true` when higher is better.
pub const METRICS: &[(&str, bool)] = &[
    ("test_accuracy", true),
    ("best_val_accuracy", true),
    ("final_train_loss", false),
    ("epochs_to_target", false),
    ("steps_to_target", false),
    ("train_loss_auc", false),
    ("test_loss", false),
    ("best_val_loss", false),
];

/// Runs that differ only by seed.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub activation: String,
    /// Its sweep point: the value of each swept key (empty without a sweep).
    pub sweep: Vec<String>,
    pub lr: f64,
    pub run_ids: Vec<String>,
    /// Per metric (as [`METRICS`]), one value per run; NaN where undefined
    /// (e.g. the target accuracy never reached).
    pub values: Vec<Vec<f64>>,
    pub diverged: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AggregateRow {
    pub activation: String,
    pub lr: f64,
    /// The group's sweep point, one column per swept key (export/csv.rs).
    pub sweep: Vec<String>,
    pub metric: String,
    /// Runs with a finite value (the others never reached the target, or diverged).
    pub n: usize,
    pub runs: usize,
    pub mean: Option<f64>,
    pub std: Option<f64>,
    pub median: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub ci95_low: Option<f64>,
    pub ci95_high: Option<f64>,
    /// The group this one is compared with (empty for the baseline itself).
    pub baseline: String,
    pub diff: Option<f64>,
    pub diff_ci95_low: Option<f64>,
    pub diff_ci95_high: Option<f64>,
    pub p_value: Option<f64>,
    pub p_holm: Option<f64>,
    /// 1 = best mean for this metric.
    pub rank: Option<usize>,
    /// The smallest difference from the baseline this grid would detect
    /// (alpha 0.05, 80% power: `stats::Welch::mdd`).
    pub mdd: Option<f64>,
    /// Against the baseline, in the metric's own direction ([`Verdict`]);
    /// empty for the baseline itself.
    pub verdict: Option<Verdict>,
    /// The interquartile mean over seeds (rliable's robust centre).
    pub iqm: Option<f64>,
    /// The probability of improvement over the baseline, in the metric's
    /// direction: P(a run of this group is better than one of the
    /// baseline's), ties counting half; with its 95% bootstrap interval.
    pub p_improvement: Option<f64>,
    pub p_improvement_low: Option<f64>,
    pub p_improvement_high: Option<f64>,
    /// Within its sweep point: the share of bootstrap samples (seeds drawn
    /// with replacement per group) in which this group's mean is the best,
    /// and its mean rank over them (1 = best).
    pub best_share: Option<f64>,
    pub mean_rank: Option<f64>,
}

/// Bootstrap resamples of the report (rliable's default; the checked
/// statistics use more, maths::bootstrap::RESAMPLES), from a fixed seed so
/// that a report is the same each time it is built.
pub const RESAMPLES: usize = 2_000;
pub const BOOTSTRAP_SEED: u64 = 0;

/// What the comparison with the baseline lets one say, and no more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Holm-corrected p below [`ALPHA`], the difference in the better direction.
    Better,
    Worse,
    /// No difference found at [`ALPHA`]: not a proof of equality (see `mdd`).
    NoDetectableDifference,
    /// Fewer than 2 finite values on a side: no test.
    TooFewRuns,
}

/// The significance level of every verdict (after Holm's correction).
pub const ALPHA: f64 = 0.05;

impl Verdict {
    fn of(row: &AggregateRow, higher_is_better: bool) -> Option<Verdict> {
        if row.baseline.is_empty() {
            return None;
        }
        Some(match (row.diff, row.p_holm) {
            (Some(d), Some(p)) if p < ALPHA && d != 0.0 => {
                if (d > 0.0) == higher_is_better {
                    Verdict::Better
                } else {
                    Verdict::Worse
                }
            }
            (Some(_), Some(_)) => Verdict::NoDetectableDifference,
            _ => Verdict::TooFewRuns,
        })
    }
}

impl Columns for AggregateRow {
    const COLUMNS: &'static [&'static str] = &[
        "activation",
        "lr",
        "metric",
        "n",
        "runs",
        "mean",
        "std",
        "median",
        "min",
        "max",
        "ci95_low",
        "ci95_high",
        "baseline",
        "diff",
        "diff_ci95_low",
        "diff_ci95_high",
        "p_value",
        "p_holm",
        "rank",
        "mdd",
        "verdict",
        "iqm",
        "p_improvement",
        "p_improvement_low",
        "p_improvement_high",
        "best_share",
        "mean_rank",
    ];
}

/// Writes aggregate.csv.
pub fn write(analysis: &Analysis, dir: &ResultsDir) -> anyhow::Result<()> {
    let path = dir.aggregate();
    let keys = analysis.results.config.sweep.keys();
    csv::write_rows(&path, &analysis.rows, &keys).with_context(|| format!("cannot write '{}'", path.display()))
}

/// Groups in the order their first run appears in summary.csv.
pub fn groups(results: &Results) -> Vec<Group> {
    let target = results.config.report.target_accuracy.0;
    let mut groups: Vec<Group> = Vec::new();
    for s in &results.summaries {
        let epochs: Vec<_> = results.epochs.iter().filter(|e| e.run_id == s.run_id).collect();
        let reached = epochs.iter().find(|e| e.val_accuracy >= target).map(|e| e.epoch);
        let steps = reached.and_then(|epoch| {
            results.gradients.iter().filter(|g| g.run_id == s.run_id && g.epoch == epoch).map(|g| g.step).max()
        });
        let losses: Vec<f64> = epochs.iter().map(|e| e.train_loss).collect();
        let auc = if losses.is_empty() || s.diverged { f64::NAN } else { stats::trapezoid(&losses) };
        let values = [
            s.test_accuracy,
            s.best_val_accuracy,
            s.final_train_loss,
            reached.map_or(f64::NAN, |e| e as f64),
            steps.map_or(f64::NAN, |s| s as f64),
            auc,
            s.test_loss,
            epochs.iter().map(|e| e.val_loss).filter(|l| l.is_finite()).fold(f64::NAN, f64::min),
        ];
        let index = match groups.iter().position(|g| g.is(&s.activation, &s.sweep, s.lr)) {
            Some(i) => i,
            None => {
                groups.push(Group {
                    activation: s.activation.clone(),
                    sweep: s.sweep.clone(),
                    lr: s.lr,
                    run_ids: Vec::new(),
                    values: vec![Vec::new(); METRICS.len()],
                    diverged: 0,
                });
                groups.len() - 1
            }
        };
        let g = &mut groups[index];
        g.run_ids.push(s.run_id.clone());
        g.diverged += usize::from(s.diverged);
        for (column, v) in g.values.iter_mut().zip(values) {
            column.push(v);
        }
    }
    groups
}

impl Group {
    /// Whether this is the group of `activation` at sweep point `sweep` and `lr`.
    pub fn is(&self, activation: &str, sweep: &[String], lr: f64) -> bool {
        self.activation == activation && self.sweep == sweep && self.lr == lr
    }
}

/// The baseline group for `group`: the baseline activation at the same
/// sweep point and lr, else at its best (highest mean test accuracy) lr of
/// that point. `None` for the baseline itself or when the experiment has no
/// baseline activation there.
pub fn baseline_of<'a>(config: &Config, groups: &'a [Group], group: &Group, baseline: &str) -> Option<&'a Group> {
    if group.activation == baseline {
        return None;
    }
    let candidates: Vec<&Group> =
        groups.iter().filter(|g| g.activation == baseline && same_point(config, &g.sweep, &group.sweep)).collect();
    candidates
        .iter()
        .find(|g| g.lr == group.lr)
        .copied()
        .or_else(|| candidates.into_iter().max_by(|a, b| mean(&a.values[0]).total_cmp(&mean(&b.values[0]))))
}

/// The groups (their indices) that compete with each other: those at one
/// setting of the swept keys not tuned, each set in the order of `groups`.
pub fn points(config: &Config, groups: &[Group]) -> Vec<Vec<usize>> {
    let mut points: Vec<Vec<usize>> = Vec::new();
    for (i, g) in groups.iter().enumerate() {
        match points.iter_mut().find(|p| same_point(config, &groups[p[0]].sweep, &g.sweep)) {
            Some(p) => p.push(i),
            None => points.push(vec![i]),
        }
    }
    points
}

/// Whether two groups' sweep values agree on every key not tuned: with
/// `[tuning]`, each activation sits at its own setting of the tuned keys.
pub fn same_point(config: &Config, a: &[String], b: &[String]) -> bool {
    let tuned = config.tuning.as_ref().map_or(&[][..], |t| t.tune.as_slice());
    a.len() == b.len() && config.sweep.keys().iter().zip(a.iter().zip(b)).all(|(k, (x, y))| tuned.contains(k) || x == y)
}

fn mean(xs: &[f64]) -> f64 {
    stats::summarize(xs).map_or(f64::NEG_INFINITY, |s| s.mean)
}

pub fn rows(results: &Results, groups: &[Group]) -> Vec<AggregateRow> {
    let baseline = results.config.report.baseline.as_str();
    let mut rows = Vec::new();
    for (m, (metric, higher_is_better)) in METRICS.iter().enumerate() {
        let first = rows.len();
        for g in groups {
            let summary = stats::summarize(&g.values[m]);
            let base = baseline_of(&results.config, groups, g, baseline);
            let welch = base.and_then(|b| stats::welch(&g.values[m], &b.values[m]));
            // In the metric's direction: higher is better after the turn.
            let turned =
                |xs: &[f64]| -> Vec<f64> { xs.iter().map(|x| if *higher_is_better { *x } else { -x }).collect() };
            let improvement = base.map(|b| (turned(&g.values[m]), turned(&b.values[m])));
            let p_improvement = improvement.as_ref().and_then(|(a, b)| bootstrap::probability_of_improvement(a, b));
            let interval = improvement
                .as_ref()
                .and_then(|(a, b)| bootstrap::improvement_interval(a, b, RESAMPLES, BOOTSTRAP_SEED));
            rows.push(AggregateRow {
                activation: g.activation.clone(),
                lr: g.lr,
                sweep: g.sweep.clone(),
                metric: metric.to_string(),
                n: summary.map_or(0, |s| s.n),
                runs: g.run_ids.len(),
                mean: summary.map(|s| s.mean),
                std: summary.map(|s| s.std),
                median: summary.map(|s| s.median),
                min: summary.map(|s| s.min),
                max: summary.map(|s| s.max),
                ci95_low: summary.map(|s| s.ci_low),
                ci95_high: summary.map(|s| s.ci_high),
                baseline: base.map(|b| format!("{}@{}", b.activation, b.lr)).unwrap_or_default(),
                diff: welch.map(|w| w.diff),
                diff_ci95_low: welch.map(|w| w.ci_low),
                diff_ci95_high: welch.map(|w| w.ci_high),
                p_value: welch.map(|w| w.p),
                p_holm: None,
                rank: None,
                mdd: welch.map(|w| w.mdd),
                verdict: None,
                iqm: bootstrap::iqm(&g.values[m]),
                p_improvement,
                p_improvement_low: interval.map(|i| i.0),
                p_improvement_high: interval.map(|i| i.1),
                best_share: None,
                mean_rank: None,
            });
        }
        let block = &mut rows[first..];
        // Holm over this metric's comparisons with the baseline.
        let tested: Vec<usize> = (0..block.len()).filter(|&i| block[i].p_value.is_some()).collect();
        let adjusted = stats::holm(&tested.iter().map(|&i| block[i].p_value.unwrap_or(1.0)).collect::<Vec<_>>());
        for (&i, p) in tested.iter().zip(adjusted) {
            block[i].p_holm = Some(p);
        }
        for row in block.iter_mut() {
            row.verdict = Verdict::of(row, *higher_is_better);
        }
        // Rank by mean within each sweep point (of the keys not tuned); groups
        // without a finite mean are not ranked.
        for members in points(&results.config, groups) {
            let mut order: Vec<usize> = members.iter().copied().filter(|&i| block[i].mean.is_some()).collect();
            order.sort_by(|&a, &b| {
                let (x, y) = (block[a].mean.unwrap_or(f64::NAN), block[b].mean.unwrap_or(f64::NAN));
                if *higher_is_better { y.total_cmp(&x) } else { x.total_cmp(&y) }
            });
            for (rank, i) in order.into_iter().enumerate() {
                block[i].rank = Some(rank + 1);
            }
            let values: Vec<Vec<f64>> = members.iter().map(|&i| groups[i].values[m].clone()).collect();
            let shares = bootstrap::rank_shares(&values, *higher_is_better, RESAMPLES, BOOTSTRAP_SEED);
            for (&i, share) in members.iter().zip(shares) {
                block[i].best_share = share.map(|s| s.0);
                block[i].mean_rank = share.map(|s| s.1);
            }
        }
    }
    rows
}
