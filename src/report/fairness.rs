//! Guards against an unfair comparison, from the results alone: a tuned
//! choice on the edge of the range it was chosen from (the best setting may
//! lie beyond), activations trained under different initialisation
//! schemes, and groups with unequal numbers of finished runs (a group whose
//! diverged seeds are left out is averaged over its luckier ones). Each is
//! a warning on the run's stderr, a line of report.md's `## Fairness`, and
//! a failing claim under `check --expect` when a claims file asks for
//! `fair = true`.

use std::fmt::Write;

use super::Analysis;

/// One guard that found something, in a sentence that says what to do.
#[derive(Debug, Clone, PartialEq)]
pub struct Warning {
    /// `tuned_edge`, `init` or `runs`.
    pub guard: &'static str,
    pub text: String,
}

/// Every warning of `analysis`, in the order: tuned edges, init, runs.
pub fn warnings(analysis: &Analysis) -> Vec<Warning> {
    let mut out = tuned_edges(analysis);
    out.extend(inits(analysis));
    out.extend(runs(analysis));
    out
}

/// Each compared group's resolved init schemes (as summary.csv has them),
/// with its label: `he`, or `he, glorot` for a group that mixes.
pub fn resolved_inits(analysis: &Analysis) -> Vec<(String, String)> {
    analysis
        .groups
        .iter()
        .zip(&analysis.labels)
        .map(|(g, label)| {
            let mut schemes: Vec<&str> = Vec::new();
            for s in analysis.results.summaries.iter().filter(|s| g.run_ids.contains(&s.run_id)) {
                if !schemes.contains(&s.init.as_str()) {
                    schemes.push(&s.init);
                }
            }
            (label.clone(), schemes.join(", "))
        })
        .collect()
}

/// A tuned key's chosen value at the smallest or largest of the numbers tried.
fn tuned_edges(analysis: &Analysis) -> Vec<Warning> {
    let Some(tuned) = &analysis.tuned else { return Vec::new() };
    let keys = analysis.results.config.sweep.keys();
    let mut out = Vec::new();
    for choice in &tuned.choices {
        let chosen = &tuned.candidates[choice.chosen];
        for key in &tuned.tuned_keys {
            let number = |c: &crate::tuning::Candidate| tuned.value_of(&keys, c, key).parse::<f64>().ok();
            let Some(value) = number(chosen) else { continue };
            let at = if choice.fixed.is_empty() { String::new() } else { format!(" (at {})", choice.fixed.join(", ")) };
            let drawn = analysis.results.config.sweep.draw_of(key);
            if let Some(d) = drawn.filter(|d| !matches!(d, crate::tuning::draw::Distribution::Choice(_))) {
                // Drawn: the range is the distribution's, not the extremes of the draws.
                if let Some(end) = d.near_edge(value) {
                    out.push(Warning {
                        guard: "tuned_edge",
                        text: format!(
                            "{}{at}: the chosen {key} = {} lies in the {end} tenth of its distribution ({}); the best may lie beyond it: widen the range",
                            choice.activation,
                            tuned.value_of(&keys, chosen, key),
                            d.describe()
                        ),
                    });
                }
                continue;
            }
            // A drawn choice's range is its list, whichever of it the trials drew.
            let mut tried: Vec<f64> = match drawn {
                Some(crate::tuning::draw::Distribution::Choice(items)) => {
                    items.iter().filter_map(|v| v.as_float().or_else(|| v.as_integer().map(|i| i as f64))).collect()
                }
                _ => choice.candidates.iter().filter_map(|&i| number(&tuned.candidates[i])).collect(),
            };
            tried.sort_by(f64::total_cmp);
            tried.dedup();
            let (Some(&lo), Some(&hi)) = (tried.first(), tried.last()) else { continue };
            if tried.len() < 2 || (value != lo && value != hi) {
                continue;
            }
            let (end, side) = if value == lo { ("smallest", "below") } else { ("largest", "above") };
            out.push(Warning {
                guard: "tuned_edge",
                text: format!(
                    "{}{at}: the chosen {key} = {} is the {end} of the {} values tried ({} to {}); the best may lie {side} it: extend the range",
                    choice.activation,
                    tuned.value_of(&keys, chosen, key),
                    tried.len(),
                    crate::activation::format_number(lo),
                    crate::activation::format_number(hi),
                ),
            });
        }
    }
    out
}

/// The compared groups under more than one initialisation scheme.
fn inits(analysis: &Analysis) -> Option<Warning> {
    let resolved = resolved_inits(analysis);
    let mut schemes: Vec<(&str, Vec<&str>)> = Vec::new();
    for (label, scheme) in &resolved {
        match schemes.iter_mut().find(|(s, _)| s == scheme) {
            Some((_, labels)) => labels.push(label),
            None => schemes.push((scheme, vec![label])),
        }
    }
    if schemes.len() < 2 {
        return None;
    }
    let parts: Vec<String> = schemes.iter().map(|(s, labels)| format!("{s} for {}", labels.join(", "))).collect();
    Some(Warning {
        guard: "init",
        text: format!(
            "the activations start from different initialisation schemes ({}): a difference may come from the scheme, not the shape; set `model.init` to one scheme to compare them on equal terms",
            parts.join("; ")
        ),
    })
}

/// Compared groups with different numbers of finished runs, or diverged runs.
fn runs(analysis: &Analysis) -> Option<Warning> {
    let counts: Vec<(String, usize, usize)> = analysis
        .groups
        .iter()
        .zip(&analysis.labels)
        .map(|(g, label)| (label.clone(), g.run_ids.len() - g.diverged, g.run_ids.len()))
        .collect();
    let first = counts.first()?;
    let unequal = counts.iter().any(|c| c.1 != first.1);
    let diverged = counts.iter().any(|c| c.1 < c.2);
    if !unequal && !diverged {
        return None;
    }
    let parts: Vec<String> =
        counts.iter().map(|(label, finished, runs)| format!("{label} {finished} of {runs}")).collect();
    Some(Warning {
        guard: "runs",
        text: format!(
            "the groups do not rest on equal finished runs (not diverged: {}): a mean without its diverged seeds flatters its activation, and fewer seeds give a wider interval; add seeds, or lower the learning rate of the diverging ones",
            parts.join(", ")
        ),
    })
}

/// report.md's `## Fairness` section: the warnings, or what was checked.
pub fn section(analysis: &Analysis) -> String {
    let warnings = warnings(analysis);
    let mut md = String::from("## Fairness\n\n");
    if warnings.is_empty() {
        let _ = writeln!(
            md,
            "No warning: the activations share one initialisation scheme and equal finished runs{}.\n",
            if analysis.tuned.is_some() { ", and no tuned choice is on the edge of its range" } else { "" }
        );
    } else {
        for w in &warnings {
            let _ = writeln!(md, "- **{}**: {}", w.guard, w.text);
        }
        md.push('\n');
    }
    md
}
