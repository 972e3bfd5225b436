//! Stage three: the finished runs -> the experiment's tables (in grid
//! order), then the report.

use anyhow::Context;

use crate::export::csv;
use crate::results::records::{ActivationRecord, EpochRecord, GradientRecord, LearnedRecord, RunSummary};
use crate::results::dir::{ResultsDir, Table};

use super::store::{SavedRun, write};

/// Writes the experiment-level tables from the finished runs, given in grid
/// order (`None`: not finished). The rows come from memory, already parsed
/// (store::finished) or just trained, so no run folder is read again and a
/// combined file is never malformed.
/// `keys` name the sweep's columns.
pub fn combine(out: &ResultsDir, keys: &[String], runs: &[Option<SavedRun>]) -> anyhow::Result<()> {
    for table in Table::ALL {
        let bodies = runs.iter().flatten().map(|run| run.body(table));
        write(&out.table(table), |p| match table {
            Table::Epochs => csv::write_tables::<EpochRecord>(p, keys, bodies),
            Table::Gradients => csv::write_tables::<GradientRecord>(p, keys, bodies),
            Table::Activations | Table::ActivationSteps => csv::write_tables::<ActivationRecord>(p, keys, bodies),
            Table::Learned => csv::write_tables::<LearnedRecord>(p, keys, bodies),
            Table::Summary => csv::write_tables::<RunSummary>(p, keys, bodies),
        })?;
    }
    Ok(())
}

/// The report of a folder whose runs are all finished.
pub fn report(out: &ResultsDir) -> anyhow::Result<()> {
    crate::report::build(out.root())
        .map(drop)
        .context("the runs are saved, but the report failed (retry with `actbench report`)")
}
