//! Stage three: the finished runs -> the experiment's tables (in grid
//! order), then the report.

use anyhow::Context;

use crate::export::csv;
use crate::results::dir::{ResultsDir, Table};

use super::store::{SavedRun, header_of, write};

/// Writes the experiment-level tables from the finished runs, given in grid
/// order (`None`: not finished). The rows come from memory, already parsed
/// (store::finished) or just trained, so no run folder is read again and a
/// combined file is never malformed.
/// `keys` name the sweep's columns.
pub fn combine(out: &ResultsDir, keys: &[String], runs: &[Option<SavedRun>]) -> anyhow::Result<()> {
    for table in Table::ALL {
        let bodies = runs.iter().flatten().map(|run| run.body(table));
        write(&out.table(table), |p| csv::write_tables(p, &header_of(table, keys), bodies))?;
    }
    Ok(())
}

/// The report of a folder whose runs are all finished; its fairness
/// warnings on stderr (report.md has them too).
pub fn report(out: &ResultsDir) -> anyhow::Result<()> {
    let built = crate::report::build(out.root())
        .context("the runs are saved, but the report failed (retry with `actbench report`)")?;
    for w in &built.warnings {
        eprintln!("warning: fairness ({}): {}", w.guard, w.text);
    }
    Ok(())
}
