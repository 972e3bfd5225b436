//! One line per activation group naming what stands out in the data:
//! divergence, vanishing or exploding gradients, dead or saturated units, no
//! learning at all. Thresholds are stated in the text they produce.

use super::aggregate::Group;
use super::load::Results;

/// First-layer / output-layer gradient ratio below which gradients "vanish"
/// (the default experiment's sigmoid sits near 1e-5, its ReLU near 2).
const VANISHING: f64 = 1e-2;
const EXPLODING: f64 = 1e2;
/// Share of a layer's units that makes dead or saturated units notable.
const DEAD: f64 = 0.1;
const SATURATED: f64 = 0.5;

pub fn notes(results: &Results, group: &Group) -> Vec<String> {
    let runs: Vec<_> = results.summaries.iter().filter(|s| group.run_ids.contains(&s.run_id)).collect();
    let mut notes = Vec::new();
    if group.diverged > 0 {
        let first = runs.iter().filter(|r| r.diverged).min_by_key(|r| r.diverged_step);
        let at = first
            .map(|r| {
                format!(" (first at epoch {}, step {})", r.diverged_epoch.unwrap_or(0), r.diverged_step.unwrap_or(0))
            })
            .unwrap_or_default();
        notes.push(format!("diverged in {} of {} runs{at}", group.diverged, runs.len()));
    }
    if let Some(patience) = results.config.training.patience {
        let stopped: Vec<_> = runs.iter().filter(|r| !r.diverged).collect();
        let span = |values: Vec<usize>| {
            let (lo, hi) = (values.iter().min().copied().unwrap_or(0), values.iter().max().copied().unwrap_or(0));
            if lo == hi { lo.to_string() } else { format!("{lo}-{hi}") }
        };
        if !stopped.is_empty() {
            notes.push(format!(
                "early stopping (patience {}): trained {} of {} epochs; test accuracy of the best validation epoch ({})",
                patience.0,
                span(stopped.iter().map(|r| r.epochs_completed).collect()),
                results.config.training.rounds(),
                span(stopped.iter().map(|r| r.best_val_epoch).collect()),
            ));
        }
    }
    let ratios: Vec<f64> = runs.iter().filter_map(|r| r.grad_ratio_first_last).collect();
    if !ratios.is_empty() {
        let ratio = ratios.iter().sum::<f64>() / ratios.len() as f64;
        if ratio == 0.0 {
            notes.push(
                "no gradient reaches the first layer at all (exactly 0: nothing below the activation learns)".into(),
            );
        } else if ratio < VANISHING {
            notes.push(format!(
                "vanishing gradients: the first layer gets {ratio:.1e} of the output layer's gradient norm (< {VANISHING})"
            ));
        } else if ratio > EXPLODING {
            notes.push(format!(
                "exploding gradients: the first layer gets {ratio:.1e} times the output layer's gradient norm (> {EXPLODING})"
            ));
        }
    }
    // Dead and saturated units after the last epoch, mean over seeds, worst layer.
    let last_epoch = results.activations.iter().filter(|a| group.run_ids.contains(&a.run_id)).map(|a| a.epoch).max();
    if let Some(epoch) = last_epoch {
        let worst = |field: fn(&crate::train::record::activations::ActivationRecord) -> f64| {
            let mut per_layer: Vec<(usize, f64, usize)> = Vec::new();
            for a in results.activations.iter().filter(|a| group.run_ids.contains(&a.run_id) && a.epoch == epoch) {
                match per_layer.iter_mut().find(|(l, _, _)| *l == a.layer) {
                    Some(entry) => {
                        entry.1 += field(a);
                        entry.2 += 1;
                    }
                    None => per_layer.push((a.layer, field(a), 1)),
                }
            }
            per_layer.into_iter().map(|(layer, sum, n)| (layer, sum / n as f64)).max_by(|a, b| a.1.total_cmp(&b.1))
        };
        // A residual network's sites are named (`stages.2.blocks.1.act2`); an MLP's or CNN's by index.
        let place = |layer: usize| {
            let site = results.activations.iter().find(|a| a.layer == layer && group.run_ids.contains(&a.run_id));
            match site.map(|a| a.site.as_str()) {
                Some(name) if !name.is_empty() && !name.starts_with("layers.") && !name.starts_with("convs.") => {
                    format!("site {name}")
                }
                _ => format!("hidden layer {layer}"),
            }
        };
        if let Some((layer, dead)) = worst(|a| a.dead_fraction).filter(|(_, d)| *d >= DEAD) {
            notes.push(format!(
                "dead units: {:.0}% of {}'s units are zero (or have zero derivative) on every probe sample after epoch {epoch}",
                100.0 * dead,
                place(layer)
            ));
        }
        if let Some((layer, sat)) = worst(|a| a.saturated_fraction).filter(|(_, s)| *s >= SATURATED) {
            notes.push(format!(
                "saturated units: {:.0}% of {}'s units have a derivative under 1% of its maximum on most probe samples after epoch {epoch}",
                100.0 * sat,
                place(layer)
            ));
        }
    }
    let chance = 1.0 / results.config.data.dataset.classes() as f64;
    let accuracies: Vec<f64> = runs.iter().map(|r| r.test_accuracy).filter(|a| a.is_finite()).collect();
    if !accuracies.is_empty() {
        let mean = accuracies.iter().sum::<f64>() / accuracies.len() as f64;
        if mean < 1.5 * chance {
            notes.push(format!("did not learn: test accuracy {mean:.3} is near chance ({chance:.3})"));
        }
    }
    if notes.is_empty() {
        notes.push("nothing unusual: gradients reach the first layer, few dead or saturated units".into());
    }
    notes.extend(learned(results, group));
    notes
}

/// Where the learned parameters (PReLU's slope, a formula's `learn`) went:
/// per layer, the value at the start and after the last epoch, means over
/// the group's runs; with one value per unit, also the range over units.
fn learned(results: &Results, group: &Group) -> Option<String> {
    let rows: Vec<_> = results.learned.iter().filter(|r| group.run_ids.contains(&r.run_id)).collect();
    let (first, last) = (rows.iter().map(|r| r.epoch).min()?, rows.iter().map(|r| r.epoch).max()?);
    if first == last {
        return None;
    }
    // `activations.0.beta` per layer, `activations.0.beta.3` per unit: both under `activations.0.beta`.
    let key = |parameter: &str| -> (String, bool) {
        let parts: Vec<&str> = parameter.split('.').collect();
        match parts.as_slice() {
            [prefix, layer, name, unit] if unit.parse::<usize>().is_ok() => (format!("{prefix}.{layer}.{name}"), true),
            _ => (parameter.to_string(), false),
        }
    };
    let mut keys: Vec<(String, bool)> = Vec::new();
    for r in &rows {
        let k = key(&r.parameter);
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let parts: Vec<String> = keys
        .iter()
        .map(|(k, per_unit)| {
            let at = |epoch: usize| -> Vec<f64> {
                rows.iter().filter(|r| r.epoch == epoch && key(&r.parameter).0 == *k).map(|r| r.value).collect()
            };
            let (start, end) = (at(first), at(last));
            let range = |v: &[f64]| {
                let (lo, hi) =
                    v.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| (lo.min(*x), hi.max(*x)));
                format!(" [{lo:.3}, {hi:.3}]")
            };
            let spread = if *per_unit { range(&end) } else { String::new() };
            format!("{k} {:.3} -> {:.3}{spread}", mean(&start), mean(&end))
        })
        .collect();
    let units = if keys.iter().any(|k| k.1) { ", per unit: mean [min, max] over units" } else { "" };
    Some(format!("learned parameters (start -> after epoch {last}, mean over runs{units}): {}", parts.join(", ")))
}
