//! `actbench merge DIR`: the finalize step of a grid trained by workers
//! (worker.rs): reads the plan back from `DIR/config.toml`, combines every
//! finished run into the experiment's tables and builds the report, or
//! names the runs still missing, damaged or claimed, or (successive
//! halving) stopped at a rung that takes them on.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;

use crate::backend::BackendKind;
use crate::config::Config;
use crate::grid;
use crate::results::dir::ResultsDir;
use crate::results::manifest;

use super::claim;
use super::lock::Lock;
use super::plan::{Plan, PlannedRun};
use super::store::{self, Found, SavedRun};
use super::{Stage, finalize, halving, lock};

/// Where each run of a folder's plan stands.
#[derive(Debug, Default)]
pub struct Merged {
    pub runs: usize,
    pub finished: usize,
    /// Run ids not finished, each with why (`missing`, `claimed by ...`,
    /// `damaged: ...`, `stopped at epoch ...`); a search's own runs as `search/<id>`.
    pub unfinished: Vec<(String, String)>,
    /// Whether the tables and the report were written.
    pub written: bool,
}

/// Looks at every run of the plan in `dir`; with all finished (or `partial`),
/// writes the combined tables and the report. A `[search]`'s folder is
/// merged with the search's own folder (`dir/search`, no report there).
pub fn merge(dir: &Path, data_dir: &Path, partial: bool) -> anyhow::Result<Merged> {
    let out = ResultsDir::new(dir);
    let search = out.search();
    if !out.config().exists() && search.config().exists() {
        anyhow::bail!(
            "'{}' holds a search whose workers are still in its rungs (its runs so far are in '{}'): the finalists train after them; merge once the workers are done",
            dir.display(),
            search.root().display()
        );
    }
    let config = load(&out)?;
    let mut merged = Merged::default();
    if let Some(s) = &config.search {
        let stage = Stage::Search { rungs: s.rungs.iter().map(|r| r.0).collect(), keep: s.keep.0 };
        let inner = folder(&search, &load(&search)?, data_dir, partial, &stage, false)?;
        merged.runs += inner.runs;
        merged.finished += inner.finished;
        merged.unfinished.extend(inner.unfinished.into_iter().map(|(id, why)| (format!("search/{id}"), why)));
    }
    // The finalists' tables wait for the search's runs (unless --partial).
    let held = !merged.unfinished.is_empty();
    let outer = folder(&out, &config, data_dir, partial, &Stage::Experiment, held)?;
    merged.runs += outer.runs;
    merged.finished += outer.finished;
    merged.unfinished.extend(outer.unfinished);
    merged.written = outer.written;
    Ok(merged)
}

fn load(out: &ResultsDir) -> anyhow::Result<Config> {
    Config::load(&out.config())
        .with_context(|| format!("'{}' is not a results folder (no readable config.toml)", out.root().display()))
}

/// [`merge`] of one folder, whose plan `config` trains as `stage` says;
/// `held`: write nothing unless `partial`, whatever this folder holds.
fn folder(
    out: &ResultsDir,
    config: &Config,
    data_dir: &Path,
    partial: bool,
    stage: &Stage,
    held: bool,
) -> anyhow::Result<Merged> {
    let _lock: Lock = lock::Lock::acquire(out)?;
    let specs = grid::expand(config);
    // The points' resolved configs, which the hashes cover; the data is read
    // only where a swept data section's statistics were measured.
    let first_seed = specs.first().map_or(0, |r| r.seed);
    let (_, points, _) = super::plan::resolve(config, data_dir, first_seed, false)?;
    let mut saved: Vec<Option<SavedRun>> = Vec::with_capacity(specs.len());
    let mut runs = Vec::with_capacity(specs.len());
    let mut unfinished = Vec::new();
    for spec in specs {
        let candidates = hashes(&points[spec.point], &spec);
        let found = candidates.iter().find_map(|hash| {
            match store::finished(out, &PlannedRun { spec: spec.clone(), hash: hash.clone() }) {
                Found::Other => None,
                found => Some((hash.clone(), found)),
            }
        });
        let hash = found.as_ref().map_or_else(|| candidates[0].clone(), |(hash, _)| hash.clone());
        let why = match found {
            Some((_, Found::Finished(run))) => {
                saved.push(Some(*run));
                runs.push(PlannedRun { spec, hash });
                continue;
            }
            Some((_, Found::Damaged(why))) => format!("damaged: {why}"),
            _ => match claim::holder(&out.run(&spec.id)) {
                Some((owner, age)) => format!("claimed by {} (refreshed {}s ago)", owner.describe(), age.as_secs()),
                None => "missing".into(),
            },
        };
        unfinished.push((spec.id.clone(), why));
        saved.push(None);
        runs.push(PlannedRun { spec, hash });
    }
    let plan = Plan { config: config.clone(), points, runs };
    // Successive halving: every run has rows, but those a rung takes on must
    // have trained that far (the rungs' decisions taken again).
    let halving = config.tuning.as_ref().and_then(|t| t.halving);
    // Runs saved but not as far as a rung takes them.
    let mut behind = 0;
    if unfinished.is_empty() && (halving.is_some() || matches!(stage, Stage::Search { .. })) {
        let mut replay = |todo: &[usize], stops: &BTreeMap<usize, usize>, saved: &mut Vec<Option<SavedRun>>| {
            for &i in todo {
                let id = &plan.runs[i].spec.id;
                let at = saved[i].as_ref().map_or(0, |s| s.summary.epochs_completed);
                let to = stops.get(&i).copied().unwrap_or(plan.config_of(&plan.runs[i]).training.rounds());
                let held = claim::holder(&out.run(id)).map(|(o, _)| format!("; claimed by {}", o.describe()));
                let why = format!(
                    "stopped at epoch {at}: successive halving takes it on to epoch {to}{}",
                    held.unwrap_or_default()
                );
                unfinished.push((id.clone(), why));
                behind += 1;
            }
            Ok(!todo.is_empty())
        };
        // The replay only reads `saved`: it trains nothing.
        match (stage, &halving) {
            (Stage::Search { rungs, keep }, _) => halving::search(&plan, rungs, *keep, &mut saved, &mut replay)?,
            (_, Some(h)) => halving::train(&plan, h, &mut saved, &mut replay)?,
            _ => unreachable!("checked: halving or a search"),
        };
    }
    let finished = saved.iter().flatten().count() - behind;
    let written = (unfinished.is_empty() && !held) || partial;
    if written {
        finalize::combine(out, &config.sweep.keys(), &saved)?;
        if finished > 0 && *stage == Stage::Experiment {
            finalize::report(out)?;
        }
    }
    Ok(Merged { runs: saved.len(), finished, unfinished, written })
}

/// Every run of `config`'s plan with where it stands in `out`: `finished`,
/// `to train`, `claimed by ...` or `damaged: ...` (`actbench plan`).
pub fn status(config: &Config, data_dir: &Path, out: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let (plan, _) = super::plan::plan(config, data_dir)?;
    let out = crate::results::dir::ResultsDir::new(out);
    Ok(plan
        .runs
        .iter()
        .map(|run| {
            let state = match store::finished(&out, run) {
                store::Found::Finished(_) => "finished".to_string(),
                store::Found::Damaged(why) => format!("damaged: {why}"),
                _ => match claim::holder(&out.run(&run.spec.id)) {
                    Some((owner, _)) => format!("claimed by {}", owner.describe()),
                    None => "to train".to_string(),
                },
            };
            (run.spec.id.clone(), state)
        })
        .collect())
}

/// The config hashes a finished run of `spec` may carry: the folder's
/// config.toml records the backend that ran, while the hash was taken on the
/// experiment file's own (which `--backend` may have overridden); the rest
/// of the resolved config is the plan's exactly.
fn hashes(config: &Config, spec: &grid::RunSpec) -> Vec<String> {
    let mut candidates = vec![manifest::config_hash(config, spec)];
    for backend in [BackendKind::Flex, BackendKind::Ndarray, BackendKind::Wgpu, BackendKind::Cuda] {
        let mut other = config.clone();
        other.experiment.backend = backend;
        let hash = manifest::config_hash(&other, spec);
        if !candidates.contains(&hash) {
            candidates.push(hash);
        }
    }
    candidates
}
