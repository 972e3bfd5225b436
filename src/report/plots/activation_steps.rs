//! activation_steps (with `logging.activation_every_steps` only): each hidden
//! layer's mean output on the probe batch against the optimizer step, one
//! panel per group, the band one standard deviation of the outputs either
//! side; both are means over seeds. Glorot & Bengio (2010), figure 2, draws
//! the same for sigmoid networks.

use super::Figure;
use super::panels::{LineKind, Panels, step_panels};
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
        let panels = step_panels(
            analysis,
            |count| (0..count).collect(),
            |_, layer| format!("layer {layer}"),
            |r| Some([r.post_mean, r.post_mean - r.post_std, r.post_mean + r.post_std]),
        );
        Self(Panels {
            panels,
            x_desc: "step",
            lines: LineKind::Layers,
            legend: plotters::prelude::SeriesLabelPosition::UpperLeft,
        })
    }
}

super::panels::delegate!(ActivationSteps);
