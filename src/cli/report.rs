//! `actbench report`: rebuild a results folder's aggregate, plots and report without training.

use std::process::ExitCode;

use super::args::ReportArgs;

pub(super) fn run(args: &ReportArgs) -> anyhow::Result<ExitCode> {
    crate::results::overwrite::not_a_baseline(&args.dir).map_err(anyhow::Error::msg)?;
    let built = crate::report::build(&args.dir)?;
    for w in &built.warnings {
        eprintln!("warning: fairness ({}): {}", w.guard, w.text);
    }
    let names: Vec<String> = built.outputs.iter().map(ToString::to_string).collect();
    println!("wrote {} in {}", names.join(", "), args.dir.display());
    Ok(ExitCode::SUCCESS)
}
