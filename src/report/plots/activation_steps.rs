//! activation_steps (with `logging.activation_every_steps` only): each hidden
//! layer's mean output on the probe batch against the optimizer step, one
//! panel per group, the band one standard deviation of the outputs either
//! side; both are means over seeds. Glorot & Bengio (2010), figure 2, draws
//! the same for sigmoid networks.

use super::Figure;
use super::panels::{Line, Panels};
use crate::report::Analysis;

pub struct ActivationSteps(Panels);

impl Figure for ActivationSteps {
    const STEM: &'static str = "activation_steps";
    const TITLE: &'static str =
        "Mean activation per layer against the step (mean over seeds, band = +- the outputs' standard deviation)";

    fn wanted(analysis: &Analysis) -> bool {
        !analysis.results.activation_steps.is_empty()
    }

    fn new(analysis: &Analysis) -> Self {
        let rows = &analysis.results.activation_steps;
        let panels = analysis
            .groups
            .iter()
            .zip(&analysis.labels)
            .filter_map(|(g, label)| {
                let mine: Vec<_> = rows.iter().filter(|r| g.run_ids.contains(&r.run_id)).collect();
                let layers = mine.iter().map(|r| r.layer + 1).max().unwrap_or(0);
                let lines: Vec<Line> = (0..layers)
                    .map(|layer| {
                        let mut steps: Vec<usize> =
                            mine.iter().filter(|r| r.layer == layer).filter_map(|r| r.step).collect();
                        steps.sort_unstable();
                        steps.dedup();
                        let points = steps
                            .into_iter()
                            .filter_map(|step| {
                                let at: Vec<_> = mine
                                    .iter()
                                    .filter(|r| r.layer == layer && r.step == Some(step))
                                    .filter(|r| r.post_mean.is_finite() && r.post_std.is_finite())
                                    .collect();
                                if at.is_empty() {
                                    return None;
                                }
                                let n = at.len() as f64;
                                let mean = at.iter().map(|r| r.post_mean).sum::<f64>() / n;
                                let std = at.iter().map(|r| r.post_std).sum::<f64>() / n;
                                Some((step as f64, mean, mean - std, mean + std))
                            })
                            .collect();
                        (format!("layer {layer}"), points)
                    })
                    .collect();
                (!lines.is_empty()).then(|| (label.clone(), lines))
            })
            .collect();
        Self(Panels { panels, x_desc: "step" })
    }
}

super::panels::delegate!(ActivationSteps);
