//! Stage three: the per-run folders -> the experiment's tables (in grid
//! order), then the report.

use anyhow::Context;

use crate::export::csv;
use crate::records::{ActivationRecord, EpochRecord, GradientRecord, RunSummary};
use crate::results_dir::{ResultsDir, Table};

use super::plan::Plan;
use super::store::write;

/// Rebuilds the experiment-level tables from the runs of `plan` finished in `out`.
pub fn combine(out: &ResultsDir, plan: &Plan) -> anyhow::Result<()> {
    for table in Table::ALL {
        let inputs: Vec<_> = plan.runs.iter().map(|r| out.run(&r.spec.id).table(table)).collect();
        let path = out.table(table);
        write(&path, |p| match table {
            Table::Epochs => csv::concat::<EpochRecord>(p, &inputs),
            Table::Gradients => csv::concat::<GradientRecord>(p, &inputs),
            Table::Activations => csv::concat::<ActivationRecord>(p, &inputs),
            Table::Summary => csv::concat::<RunSummary>(p, &inputs),
        })?;
    }
    Ok(())
}

/// The report of a folder whose runs are all finished.
pub fn report(out: &ResultsDir) -> anyhow::Result<()> {
    crate::report::build(out.root()).context("the runs are saved, but the report failed (retry with `actbench report`)")
}
