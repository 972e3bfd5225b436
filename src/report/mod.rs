//! Analysis of a finished experiment, from its CSV files alone:
//! aggregate.csv (statistics across seeds), plots/ (SVG and PNG) and
//! report.md. `actbench report DIR` rebuilds them without training.

mod aggregate;
mod load;
mod markdown;
mod notes;
pub mod plots;

pub use aggregate::{AggregateRow, METRICS};
pub use load::Results;

use std::path::Path;

use anyhow::Context;

use crate::chart;
use crate::export::{atomic, csv};

pub const AGGREGATE_FILE: &str = "aggregate.csv";
pub const REPORT_FILE: &str = "report.md";
pub const PLOTS_DIR: &str = "plots";

/// Writes aggregate.csv, the plots and report.md into `dir`.
pub fn build(dir: &Path) -> anyhow::Result<()> {
    let results = Results::load(dir)?;
    let groups = aggregate::groups(&results);
    let rows = aggregate::rows(&results, &groups);
    let path = dir.join(AGGREGATE_FILE);
    csv::write_rows(&path, &rows).with_context(|| format!("cannot write '{}'", path.display()))?;

    let several_lrs = groups.iter().any(|g| g.lr != groups[0].lr);
    let labels: Vec<String> = groups
        .iter()
        .map(|g| if several_lrs { format!("{} @ lr {}", g.activation, g.lr) } else { g.activation.clone() })
        .collect();
    let plots = dir.join(PLOTS_DIR);
    chart::save(&plots::Curves::new(&results, &groups, &labels), &plots, "curves")?;
    chart::save(&plots::GradientFlow::new(&results, &groups, &labels), &plots, "gradient_flow")?;
    chart::save(&plots::DeadSaturated::new(&results, &groups, &labels), &plots, "dead_saturated")?;
    chart::save(&plots::Accuracy::new(&rows, &groups, &labels), &plots, "accuracy")?;

    let path = dir.join(REPORT_FILE);
    atomic::write_string(&path, &markdown::render(&results, &groups, &rows))
        .with_context(|| format!("cannot write '{}'", path.display()))
}
