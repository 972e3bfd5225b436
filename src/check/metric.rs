//! The measurements a study's claim can name (`metric = "..."` in
//! expected.toml), one list: where each is read from, which way is better,
//! and the selectors it takes. Adding one is one entry.

use crate::model::kinds::KINDS;
use crate::report::load::Results;
use crate::results::records::{EpochRecord, RunSummary};
use crate::train::record::{activations::ActivationRecord, gradients::GradientRecord, learned::LearnedRecord};

/// Where a metric's per-run value comes from.
#[derive(Debug, Clone, Copy)]
pub enum Source {
    /// summary.csv: one value per run.
    Summary(fn(&RunSummary) -> f64),
    /// epochs.csv at `epoch` (default: the run's last).
    Epoch(fn(&EpochRecord) -> f64),
    /// activations.csv at `epoch` (default: the last; 0 is at initialisation)
    /// and `layer`; with `step`, activation_steps.csv at that step.
    Layer(fn(&ActivationRecord) -> f64),
    /// gradients.csv: `grad_l2` of `parameter` at `step` (default: the first recorded step).
    Gradient(fn(&GradientRecord) -> f64),
    /// gradients.csv: the first hidden layer's weight gradient norm over the
    /// output layer's, at `step` (default: the first recorded, before any update).
    GradientRatio,
    /// learned.csv: the value of `parameter` at `epoch` (default: the last).
    Learned(fn(&LearnedRecord) -> f64),
}

#[derive(Debug)]
pub struct Metric {
    pub name: &'static str,
    pub source: Source,
    /// Larger is better (accuracy), or smaller (loss): what `better`, `worse` and `best` mean.
    pub higher_is_better: bool,
    /// Its line in the book's table of metrics (docs/src/studies-and-claims.md) (a test keeps the two the same).
    #[cfg_attr(not(test), allow(dead_code))]
    pub doc: &'static str,
}

const fn metric(name: &'static str, source: Source, higher_is_better: bool, doc: &'static str) -> Metric {
    Metric { name, source, higher_is_better, doc }
}

fn bool_value(b: bool) -> f64 {
    f64::from(u8::from(b))
}

pub const METRICS: &[Metric] = &[
    metric("test_accuracy", Source::Summary(|s| s.test_accuracy), true, "test accuracy of the final model"),
    metric("test_loss", Source::Summary(|s| s.test_loss), false, "test cross-entropy of the final model"),
    metric(
        "best_val_accuracy",
        Source::Summary(|s| s.best_val_accuracy),
        true,
        "best validation accuracy over the epochs",
    ),
    metric("final_train_loss", Source::Summary(|s| s.final_train_loss), false, "training loss of the last epoch"),
    metric(
        "grad_ratio_first_last",
        Source::Summary(|s| s.grad_ratio_first_last.unwrap_or(f64::NAN)),
        true,
        "summary.csv's first-layer / output-layer gradient-norm ratio",
    ),
    metric("diverged", Source::Summary(|s| bool_value(s.diverged)), false, "1 for a diverged run, else 0"),
    metric("train_loss", Source::Epoch(|e| e.train_loss), false, "epochs.csv, at `epoch`"),
    metric("train_accuracy", Source::Epoch(|e| e.train_accuracy), true, "epochs.csv, at `epoch`"),
    metric("val_loss", Source::Epoch(|e| e.val_loss), false, "epochs.csv, at `epoch`"),
    metric("val_accuracy", Source::Epoch(|e| e.val_accuracy), true, "epochs.csv, at `epoch`"),
    metric(
        "dead_fraction",
        Source::Layer(|a| a.dead_fraction),
        false,
        "activations.csv at `epoch` (activation_steps.csv at `step`), at `layer`",
    ),
    metric(
        "saturated_fraction",
        Source::Layer(|a| a.saturated_fraction),
        false,
        "activations.csv at `epoch` (activation_steps.csv at `step`), at `layer`",
    ),
    metric(
        "pre_mean",
        Source::Layer(|a| a.pre_mean),
        true,
        "activations.csv at `epoch` (activation_steps.csv at `step`), at `layer`",
    ),
    metric(
        "pre_std",
        Source::Layer(|a| a.pre_std),
        true,
        "activations.csv at `epoch` (activation_steps.csv at `step`), at `layer`",
    ),
    metric(
        "post_mean",
        Source::Layer(|a| a.post_mean),
        true,
        "activations.csv at `epoch` (activation_steps.csv at `step`), at `layer`",
    ),
    metric(
        "post_std",
        Source::Layer(|a| a.post_std),
        true,
        "activations.csv at `epoch` (activation_steps.csv at `step`), at `layer`",
    ),
    metric(
        "pre_p15",
        Source::Layer(|a| a.pre_p15.unwrap_or(f64::NAN)),
        true,
        "activations.csv at `epoch` (activation_steps.csv at `step`), at `layer`: 15th percentile of the inputs",
    ),
    metric(
        "pre_p50",
        Source::Layer(|a| a.pre_p50.unwrap_or(f64::NAN)),
        true,
        "activations.csv at `epoch` (activation_steps.csv at `step`), at `layer`: median of the inputs",
    ),
    metric(
        "pre_p85",
        Source::Layer(|a| a.pre_p85.unwrap_or(f64::NAN)),
        true,
        "activations.csv at `epoch` (activation_steps.csv at `step`), at `layer`: 85th percentile of the inputs",
    ),
    metric(
        "post_max_abs",
        Source::Layer(|a| a.post_max_abs.unwrap_or(f64::NAN)),
        false,
        "activations.csv at `epoch` (activation_steps.csv at `step`), at `layer`: the outputs' largest magnitude",
    ),
    metric(
        "post_kurtosis",
        Source::Layer(|a| a.post_kurtosis.unwrap_or(f64::NAN)),
        false,
        "activations.csv at `epoch` (activation_steps.csv at `step`), at `layer`: the outputs' excess kurtosis",
    ),
    metric(
        "post_beyond_6std",
        Source::Layer(|a| a.post_beyond_6std.unwrap_or(f64::NAN)),
        false,
        "activations.csv at `epoch` (activation_steps.csv at `step`), at `layer`: the outputs' share beyond 6 standard deviations",
    ),
    metric("grad_l2", Source::Gradient(|g| g.grad_l2), true, "gradients.csv, of `parameter` at `step`"),
    metric(
        "grad_ratio",
        Source::GradientRatio,
        true,
        "gradients.csv: the first weight over the output's (layers.0.weight / output.weight for an MLP) at `step`",
    ),
    metric("learned", Source::Learned(|l| l.value), true, "learned.csv: the value of `parameter` at `epoch`"),
];

pub fn lookup(name: &str) -> Option<&'static Metric> {
    METRICS.iter().find(|m| m.name == name)
}

pub fn closest(name: &str) -> Option<&'static str> {
    METRICS
        .iter()
        .map(|m| (strsim::jaro_winkler(name, m.name), m.name))
        .filter(|(score, _)| *score > 0.75)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, n)| n)
}

pub fn names() -> Vec<&'static str> {
    METRICS.iter().map(|m| m.name).collect()
}

/// Which layers a per-layer metric reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Layers {
    /// One hidden layer (0 = nearest the input).
    Index(usize),
    /// The last hidden layer.
    Last,
    /// Every layer: the claim must hold at each one.
    Each,
    /// The largest or smallest value over the layers, per run.
    Max,
    Min,
}

/// The selectors of one claim.
#[derive(Debug, Clone, Default)]
pub struct At {
    pub epoch: Option<usize>,
    pub step: Option<usize>,
    pub layers: Option<Layers>,
    pub parameter: Option<String>,
}

/// One run's value(s) of `metric`: one number, or one per layer with
/// [`Layers::Each`]. `Err` says what the results lack.
pub fn values(results: &Results, run: &RunSummary, metric: &Metric, at: &At) -> Result<Vec<f64>, String> {
    let id = &run.run_id;
    match metric.source {
        Source::Summary(f) => Ok(vec![f(run)]),
        Source::Epoch(f) => {
            let rows: Vec<&EpochRecord> = results.epochs.iter().filter(|e| &e.run_id == id).collect();
            let row = match at.epoch {
                Some(epoch) => rows.iter().find(|e| e.epoch == epoch),
                None => rows.iter().max_by_key(|e| e.epoch),
            };
            // A run that diverged before that epoch has no row: no value.
            Ok(vec![row.map_or(f64::NAN, |e| f(e))])
        }
        Source::Layer(f) => {
            // At a step: activation_steps.csv; else activations.csv at an epoch.
            let (table, rows): (&str, Vec<&ActivationRecord>) = match at.step {
                Some(_) => {
                    ("activation_steps.csv", results.activation_steps.iter().filter(|a| &a.run_id == id).collect())
                }
                None => ("activations.csv", results.activations.iter().filter(|a| &a.run_id == id).collect()),
            };
            if rows.is_empty() {
                let key = if at.step.is_some() { "activation_every_steps is 0" } else { "activation_stats is off" };
                return Err(format!("{table} has no rows for it (logging.{key}?)"));
            }
            let mut layer: Vec<&ActivationRecord> = match at.step {
                Some(step) => {
                    let layer: Vec<_> = rows.iter().copied().filter(|a| a.step == Some(step)).collect();
                    let last = rows.iter().filter_map(|a| a.step).max().unwrap_or(0);
                    if layer.is_empty() && step <= last {
                        let mut steps: Vec<usize> = rows.iter().filter_map(|a| a.step).collect();
                        steps.dedup();
                        let shown: Vec<String> = steps.iter().take(6).map(|s| s.to_string()).collect();
                        return Err(format!(
                            "{table} has no rows at step {step} (its steps: {}{})",
                            shown.join(", "),
                            if steps.len() > 6 { ", ..." } else { "" }
                        ));
                    }
                    layer
                }
                None => {
                    let epoch = at.epoch.unwrap_or_else(|| rows.iter().map(|a| a.epoch).max().unwrap_or(0));
                    rows.into_iter().filter(|a| a.epoch == epoch).collect()
                }
            };
            layer.sort_by_key(|a| a.layer);
            if layer.is_empty() {
                return Ok(vec![f64::NAN]);
            }
            let all: Vec<f64> = layer.iter().map(|a| f(a)).collect();
            Ok(match at.layers.as_ref().unwrap_or(&Layers::Each) {
                Layers::Index(i) => match layer.iter().find(|a| a.layer == *i) {
                    Some(a) => vec![f(a)],
                    None => return Err(format!("the network has no hidden layer {i} (it has {})", layer.len())),
                },
                Layers::Last => vec![*all.last().expect("not empty")],
                Layers::Each => all,
                Layers::Max => vec![all.iter().copied().fold(f64::NEG_INFINITY, f64::max)],
                Layers::Min => vec![all.iter().copied().fold(f64::INFINITY, f64::min)],
            })
        }
        Source::Learned(f) => {
            let parameter = at.parameter.as_deref().expect("checked: learned names one");
            let rows: Vec<&LearnedRecord> =
                results.learned.iter().filter(|l| &l.run_id == id && l.parameter == parameter).collect();
            if rows.is_empty() {
                let mut known: Vec<&str> =
                    results.learned.iter().filter(|l| &l.run_id == id).map(|l| l.parameter.as_str()).collect();
                known.sort();
                known.dedup();
                return Err(format!(
                    "learned.csv has no `{parameter}` for it (its learned parameters: {})",
                    if known.is_empty() { "none".to_string() } else { known.join(", ") }
                ));
            }
            let row = match at.epoch {
                Some(epoch) => rows.iter().find(|l| l.epoch == epoch),
                None => rows.iter().max_by_key(|l| l.epoch),
            };
            Ok(vec![row.map_or(f64::NAN, |l| f(l))])
        }
        Source::Gradient(_) | Source::GradientRatio => {
            let rows: Vec<&GradientRecord> = results.gradients.iter().filter(|g| &g.run_id == id).collect();
            if rows.is_empty() {
                return Err("gradients.csv has no rows for it (logging.every_steps is 0?)".into());
            }
            let step = at.step.unwrap_or_else(|| rows.iter().map(|g| g.step).min().unwrap_or(1));
            let read = match metric.source {
                Source::Gradient(f) => f,
                _ => |g: &GradientRecord| g.grad_l2,
            };
            let norm = |parameter: &str| -> Result<f64, String> {
                rows.iter().find(|g| g.step == step && g.parameter == parameter).map(|g| read(g)).ok_or_else(|| {
                    let mut known: Vec<&str> = rows.iter().map(|g| g.parameter.as_str()).collect();
                    known.dedup();
                    format!("gradients.csv has no `{parameter}` at step {step} (parameters: {})", known.join(", "))
                })
            };
            match metric.source {
                Source::Gradient(_) => Ok(vec![norm(at.parameter.as_deref().expect("checked: grad_l2 names one"))?]),
                _ => {
                    // The model kind's pair; under a sweep of `model.kind`, the pair of the kind the run has.
                    let model = &results.config.model;
                    let own = (model.kind.info().ratio)(model);
                    let present = |[first, last]: [&str; 2]| norm(first).is_ok() && norm(last).is_ok();
                    let [first, last] = std::iter::once(own)
                        .chain(KINDS.iter().map(|k| (k.ratio)(model)))
                        .find(|&pair| present(pair))
                        .unwrap_or(own);
                    Ok(vec![norm(first)? / norm(last)?])
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The book's table of metrics is this list: every metric, with its text.
    #[test]
    fn the_readme_lists_every_metric() {
        let readme = include_str!("../../docs/src/studies-and-claims.md");
        for m in METRICS {
            let row = format!("| `{}` | {} |", m.name, m.doc);
            assert!(readme.contains(&row), "docs/src/studies-and-claims.md lacks the row {row}");
        }
    }
}
