//! The report's figures, one per file. Each is a [`Figure`]: its data are
//! prepared from the [`Analysis`] first (means and spreads over seeds), then
//! drawn by a backend-independent `chart::Plot`.

mod accuracy;
mod curves;
mod dead_saturated;
mod gradient_flow;

pub use accuracy::Accuracy;
pub use curves::Curves;
pub use dead_saturated::DeadSaturated;
pub use gradient_flow::GradientFlow;

use super::Analysis;
use crate::chart::{self, Plot};
use crate::results_dir::ResultsDir;

/// A figure of the report, written as `plots/<STEM>.svg` and `.png`.
pub trait Figure: Plot + Sized {
    /// File stem under plots/.
    const STEM: &'static str;
    /// The heading report.md gives it.
    const TITLE: &'static str;
    fn new(analysis: &Analysis) -> Self;
}

/// Prepares figure `F` and saves it.
pub fn write<F: Figure>(analysis: &Analysis, dir: &ResultsDir) -> anyhow::Result<()> {
    chart::save(&F::new(analysis), &dir.plots(), F::STEM)
}
