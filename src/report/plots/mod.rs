//! The report's figures, one per file. Each is a [`Figure`]: its data are
//! prepared from the [`Analysis`] first (means and spreads over seeds), then
//! drawn by a backend-independent `chart::Plot`.

mod accuracy;
mod activation_steps;
mod curves;
mod dead_saturated;
mod expected_performance;
mod gradient_flow;
mod improvement;
mod input_percentiles;
mod interval_bars;
mod learned;
mod learned_shapes;
mod panels;
mod ranks;
mod search_finalists;
mod sensitivity;

pub use accuracy::Accuracy;
pub use activation_steps::ActivationSteps;
pub use curves::Curves;
pub use dead_saturated::DeadSaturated;
pub use expected_performance::ExpectedPerformance;
pub use gradient_flow::GradientFlow;
pub use improvement::Improvement;
pub use input_percentiles::InputPercentiles;
pub use learned::Learned;
pub use learned_shapes::LearnedShapes;
pub use ranks::Ranks;
pub use search_finalists::SearchFinalists;
pub use sensitivity::Sensitivity;

use super::Analysis;
use crate::chart::{self, Plot};
use crate::results::dir::ResultsDir;

/// A figure of the report, written as `plots/<STEM>.svg` and `.png`.
pub trait Figure: Plot + Sized {
    /// File stem under plots/.
    const STEM: &'static str;
    /// The heading report.md gives it.
    const TITLE: &'static str;
    /// Whether the experiment has what the figure shows (e.g. `[tuning]`).
    fn wanted(_analysis: &Analysis) -> bool {
        true
    }
    fn new(analysis: &Analysis) -> Self;
}

/// Prepares figure `F` and saves it; a figure not wanted is not drawn, and
/// one left from an earlier report of the folder is removed.
pub fn write<F: Figure>(analysis: &Analysis, dir: &ResultsDir) -> anyhow::Result<()> {
    if !F::wanted(analysis) {
        for ext in ["svg", "png"] {
            let _ = std::fs::remove_file(dir.plots().join(format!("{}.{ext}", F::STEM)));
        }
        return Ok(());
    }
    chart::save(&F::new(analysis), &dir.plots(), F::STEM)
}
