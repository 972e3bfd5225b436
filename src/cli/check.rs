//! `actbench check`: compare a finished experiment with a baseline, or with a
//! study's claims (`--expect`); exit 1 on a regression, 2 on bad input.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use super::args::CheckArgs;
use crate::config::Config;
use crate::results::dir::ResultsDir;

/// The exit code of an error (bad input), told apart from 1, a regression.
pub(super) const BAD_INPUT: u8 = 2;

pub(super) fn run(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let format = <crate::check::Format as clap::ValueEnum>::from_str(&args.format, true).map_err(|_| {
        anyhow::anyhow!("--format `{}` is not one of text, json, junit, markdown", args.format.escape_debug())
    })?;
    let given = args.current.as_ref().or(args.results.as_ref());
    if let Some(expected) = &args.expect {
        let Some(dir) = given else {
            anyhow::bail!(
                "check --expect {}: give the results folder to check, e.g. `actbench check --expect {} results/<experiment>`",
                expected.display(),
                expected.display()
            );
        };
        let outcome = crate::check::expect::check(expected, dir)?;
        let rendered = match format {
            crate::check::Format::Text => outcome.table(),
            crate::check::Format::Json => serde_json::to_string_pretty(&outcome).expect("plain data") + "\n",
            crate::check::Format::Markdown => outcome.markdown(),
            crate::check::Format::Junit => crate::check::expect_junit(&outcome),
        };
        match &args.output {
            Some(path) => {
                let path = &output_file(path, &[expected.as_path()])?;
                crate::export::atomic::write_string(path, &rendered)
                    .with_context(|| format!("--output: cannot write '{}'", path.display()))?;
                print!("{}", outcome.table());
            }
            None => print!("{rendered}"),
        }
        return Ok(if outcome.passed() { ExitCode::SUCCESS } else { ExitCode::from(1) });
    }
    let baseline = args.baseline.as_ref().expect("clap requires --baseline without --expect");
    let current = match given {
        Some(dir) => dir.clone(),
        None => {
            let config = Config::load(&ResultsDir::new(baseline).config())?;
            Path::new("results").join(config.experiment.name)
        }
    };
    let verdict = crate::check::check(baseline, &current)?;
    match &args.output {
        Some(path) => {
            let path = &output_file(path, &[])?;
            crate::export::atomic::write_string(path, &verdict.render(format))
                .with_context(|| format!("--output: cannot write '{}'", path.display()))?;
            print!("{}", verdict.table());
        }
        None => print!("{}", verdict.render(format)),
    }
    Ok(if verdict.passed() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Where `--output` writes: refused when it is a file the check reads (the
/// claims file; a results folder's or baseline's tables, as any file of one).
fn output_file(path: &Path, reads: &[&Path]) -> anyhow::Result<std::path::PathBuf> {
    crate::results::overwrite::output_file("--output", path, reads).map_err(anyhow::Error::msg)
}
