//! `actbench plan`: the grid of an experiment run by run (or a search's
//! candidates), and which runs are already finished in its results folder.

use std::path::Path;
use std::process::ExitCode;

use super::args::PlanArgs;
use super::config_path::find_config;
use super::table::{self, Column};
use crate::config::Config;
use crate::data::files;

pub(super) fn run(args: &PlanArgs) -> anyhow::Result<ExitCode> {
    let path = find_config(&args.config)?;
    let config = Config::load_with(&path, &args.set)?;
    let out = args.out.clone().unwrap_or_else(|| Path::new("results").join(&config.experiment.name));
    if let Some(search) = &config.search {
        // The candidates, before any training: what the walk keeps and drops.
        let found = crate::search::space::candidates(search);
        let columns = [Column::left("candidate", 60), Column::left("state", 0)];
        table::print_heading(&columns);
        for c in &found.met {
            let state = c.dropped.as_deref().map_or("to train".into(), |d| format!("dropped: {d}"));
            table::print_row(&columns, &[&c.formula, &state]);
        }
        let kept = found.kept().count();
        println!(
            "search: {} candidates in the space; the walk met {}: {kept} to train with {} seed(s) over rungs {:?}, {} dropped",
            found.size,
            found.met.len(),
            search.seeds.0,
            search.rungs.iter().map(|r| r.0).collect::<Vec<_>>(),
            found.met.len() - kept
        );
        return Ok(ExitCode::SUCCESS);
    }
    let rows = crate::run::merge::status(&config, &files::data_dir(args.data_dir.as_deref(), Some(&path)), &out)?;
    let columns = [Column::left("run", 48), Column::left("state", 0)];
    table::print_heading(&columns);
    for (id, state) in &rows {
        table::print_row(&columns, &[id, state]);
    }
    let finished = rows.iter().filter(|(_, s)| s == "finished").count();
    println!("{} runs; {finished} finished in {}, {} to train", rows.len(), out.display(), rows.len() - finished);
    Ok(ExitCode::SUCCESS)
}
