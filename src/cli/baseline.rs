//! `actbench baseline`: update a baseline from a finished experiment, or show one.

use std::process::ExitCode;

use super::args::BaselineCommand;
use crate::check::baseline::{self, UpdateOptions};

pub(super) fn run(command: BaselineCommand) -> anyhow::Result<ExitCode> {
    let text = match command {
        BaselineCommand::Update { from, to, allow_incomplete, allow_diverged } => {
            baseline::update(&from, &to, &UpdateOptions { allow_incomplete, allow_diverged })?
        }
        BaselineCommand::Show { dir } => baseline::show(&dir)?,
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}
