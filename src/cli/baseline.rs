//! `actbench baseline`: update a baseline from a finished experiment, or show one.

use std::process::ExitCode;

use super::args::BaselineCommand;

pub(super) fn run(command: BaselineCommand) -> anyhow::Result<ExitCode> {
    let text = match command {
        BaselineCommand::Update { from, to, allow_incomplete, allow_diverged } => {
            crate::check::baseline::update(&from, &to, &crate::check::baseline::UpdateOptions { allow_incomplete, allow_diverged })?
        }
        BaselineCommand::Show { dir } => crate::check::baseline::show(&dir)?,
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}
