//! `actbench merge`: combine the runs that workers trained into the
//! experiment's tables and report; exit 1 while some are missing.

use std::process::ExitCode;

use super::args::MergeArgs;
use crate::data::files;

pub(super) fn run(args: &MergeArgs) -> anyhow::Result<ExitCode> {
    crate::results::overwrite::not_a_baseline(&args.dir).map_err(anyhow::Error::msg)?;
    let merged =
        crate::run::merge(&args.dir, &files::data_dir(args.data_dir.as_deref(), Some(&args.dir)), args.partial)?;
    for (id, why) in &merged.unfinished {
        println!("{id}: {why}");
    }
    let state = format!("{} of {} runs finished", merged.finished, merged.runs);
    if merged.unfinished.is_empty() {
        println!("{state}; tables and report written in {}", args.dir.display());
        Ok(ExitCode::SUCCESS)
    } else if merged.written {
        println!("{state}; tables and report of those written in {} (--partial)", args.dir.display());
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "Error: {state} in '{}': train the rest (the same workers again), or pass --partial",
            args.dir.display()
        );
        Ok(ExitCode::from(1))
    }
}
