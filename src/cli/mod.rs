//! The command line: one dispatch of every command, each of which returns
//! its exit code. The work is done by `run`, `report`, `check`, `rerun`,
//! `activation`, `fetch` and `bench`; the files here parse the arguments and
//! print the results.
//!
//! - `args`: clap's definitions of every command and flag (the `--help` texts);
//! - one file per command, named for it, each with one `run` function that
//!   this dispatch calls;
//! - helpers that several commands share, each in a file named for what it
//!   is: `config_path` (finding a config file), `shown_activations` (which
//!   activations `activations` and `plot-activations` show), `from_run`
//!   (the shapes a finished run learned), `table` (aligned columns);
//! - `reference`: the book's command-line page, the man page and the shell
//!   completions, generated from `args`.
//!
//! A new command is its handler file, its arguments in `args.rs` (a variant
//! of `Command` and its `*Args` struct), and one line in the dispatch below.

mod activations;
mod args;
mod baseline;
mod bench;
mod check;
mod config_path;
mod fetch;
mod from_run;
mod merge;
mod plan;
mod plot;
pub mod reference;
mod report;
mod rerun;
mod run;
mod shown_activations;
mod slurm;
mod table;

use std::process::ExitCode;

use clap::Parser;

pub use args::Cli;
use args::Command;

/// Runs the command line and gives the exit code to end with; an error is
/// printed as one `Error: ...` line.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    crate::heap::keep_freed_memory();
    // The exit code of a failure: `check` keeps 1 for a regression and says
    // 2 for bad input, so CI can tell the two apart.
    let mut failure = 1;
    let result = match cli.command.unwrap_or(Command::Run(cli.run)) {
        Command::Run(args) => run::run(args),
        Command::Activations(args) => activations::run(args),
        Command::Report(args) => report::run(&args),
        Command::PlotActivations(args) => plot::run(&args),
        Command::Check(args) => {
            failure = check::BAD_INPUT;
            check::run(&args)
        }
        Command::Baseline(command) => baseline::run(command),
        Command::Merge(args) => merge::run(&args),
        Command::Plan(args) => plan::run(&args),
        Command::Slurm(args) => slurm::run(&args),
        Command::Rerun(args) => rerun::run(&args),
        Command::Fetch(args) => fetch::run(&args),
        Command::Bench(args) => bench::run(&args),
        Command::Completions(args) => {
            reference::completions(args.shell, &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("Error: {}", crate::config::error::printable(&format!("{err:#}")));
            ExitCode::from(failure)
        }
    }
}
