//! `actbench run` (and `actbench --config FILE`): train every run of an
//! experiment, alone or as one of several workers, and print the summary table.

use std::path::Path;
use std::process::ExitCode;

use anyhow::bail;

use super::args::RunArgs;
use super::config_path::find_config;
use super::table;
use crate::backend::BackendKind;
use crate::config::Config;
use crate::data::files;
use crate::progress::Mode;
use crate::run::Options;

pub(super) fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let Some(given) = args.config else {
        bail!("no experiment given: try `actbench --config relu_vs_sigmoid.toml` (configs/ holds the examples)");
    };
    let path = find_config(&given)?;
    let config = Config::load_with(&path, &args.set)?;
    let backend = args.backend.map(BackendKind::from).unwrap_or(config.experiment.backend);
    let out = args.out.unwrap_or_else(|| Path::new("results").join(&config.experiment.name));
    crate::results::overwrite::results_folder("--out", &out).map_err(anyhow::Error::msg)?;
    let data_dir = files::data_dir(args.data_dir.as_deref(), Some(&path));
    let mut command_line =
        format!("actbench run --config {} --out {} --backend {}", path.display(), out.display(), backend.name());
    if config.data.dataset.files().is_some() {
        command_line.push_str(&format!(" --data-dir {}", data_dir.display()));
    }
    for set in &args.set {
        command_line.push_str(&format!(" --set '{set}'"));
    }
    let options = Options {
        out: out.clone(),
        backend,
        progress: Mode::detect(args.quiet),
        force: args.force,
        command_line,
        data_dir,
        jobs: args.jobs as usize,
    };
    crate::interrupt::install();
    if args.worker || args.shard.is_some() {
        let shard = args.shard.as_deref().map(crate::run::Shard::parse).transpose().map_err(anyhow::Error::msg)?;
        let (searched, worked) = match config.search {
            Some(_) => {
                let (searched, finals) = crate::search::work(&config, &options, shard)?;
                (Some(searched), finals)
            }
            None => (None, crate::run::work(&config, &options, shard)?),
        };
        if !args.quiet {
            if let Some(s) = &searched {
                println!(
                    "worker: the search: {} trainings over the rungs of its {} runs ({} were finished already)",
                    s.trained.len(),
                    s.share,
                    s.finished_before
                );
            }
            println!(
                "worker: trained {} of the {} runs of its share ({} were finished already); {}",
                worked.trained.len(),
                worked.share,
                worked.finished_before,
                if worked.claimed_by_others.is_empty() {
                    format!("run `actbench merge {}` once every worker is done", out.display())
                } else {
                    format!("{} held by other workers", worked.claimed_by_others.len())
                }
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let outcome = match config.search {
        Some(_) => crate::search::run(&config, &options)?,
        None => crate::run::run(&config, &options)?,
    };
    if !args.quiet {
        table::print_summary(&outcome.summaries());
        println!(
            "{} runs in {:.1}s on {}; results in {}",
            outcome.runs.len(),
            outcome.seconds,
            backend.name(),
            out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
