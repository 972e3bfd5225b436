//! `actbench merge DIR`: the finalize step of a grid trained by workers
//! (worker.rs): reads the plan back from `DIR/config.toml`, combines every
//! finished run into the experiment's tables and builds the report, or
//! names the runs still missing, damaged or claimed.

use std::path::Path;

use anyhow::Context;

use crate::config::{BackendKind, Config};
use crate::grid;
use crate::manifest;
use crate::results_dir::ResultsDir;

use super::claim;
use super::lock::Lock;
use super::plan::PlannedRun;
use super::store::{self, Found, SavedRun};
use super::{finalize, lock};

/// Where each run of a folder's plan stands.
pub struct Merged {
    pub runs: usize,
    pub finished: usize,
    /// Run ids not finished, each with why (`missing`, `claimed by ...`, `damaged: ...`).
    pub unfinished: Vec<(String, String)>,
    /// Whether the tables and the report were written.
    pub written: bool,
}

/// Looks at every run of the plan in `dir`; with all finished (or `partial`),
/// writes the combined tables and the report.
pub fn merge(dir: &Path, data_dir: &Path, partial: bool) -> anyhow::Result<Merged> {
    let out = ResultsDir::new(dir);
    let config = Config::load(&out.config())
        .with_context(|| format!("'{}' is not a results folder (no readable config.toml)", dir.display()))?;
    let _lock: Lock = lock::Lock::acquire(&out)?;
    let specs = grid::expand(&config);
    // The points' resolved configs, which the hashes cover; the data is read
    // only where a swept data section's statistics were measured.
    let first_seed = specs.first().map_or(0, |r| r.seed);
    let (_, points, _) = super::plan::resolve(&config, data_dir, first_seed, false)?;
    let mut saved: Vec<Option<SavedRun>> = Vec::with_capacity(specs.len());
    let mut unfinished = Vec::new();
    for spec in specs {
        let found = hashes(&points[spec.point], &spec).into_iter().find_map(|hash| {
            match store::finished(&out, &PlannedRun { spec: spec.clone(), hash }) {
                Found::Other => None,
                found => Some(found),
            }
        });
        let why = match found {
            Some(Found::Finished(run)) => {
                saved.push(Some(*run));
                continue;
            }
            Some(Found::Damaged(why)) => format!("damaged: {why}"),
            _ => match claim::holder(&out.run(&spec.id)) {
                Some((owner, age)) => format!("claimed by {} (refreshed {}s ago)", owner.describe(), age.as_secs()),
                None => "missing".into(),
            },
        };
        unfinished.push((spec.id.clone(), why));
        saved.push(None);
    }
    let finished = saved.iter().flatten().count();
    let written = unfinished.is_empty() || partial;
    if written {
        finalize::combine(&out, &config.sweep.keys(), &saved)?;
        if finished > 0 {
            finalize::report(&out)?;
        }
    }
    Ok(Merged { runs: saved.len(), finished, unfinished, written })
}

/// Every run of `config`'s plan with where it stands in `out`: `finished`,
/// `to train`, `claimed by ...` or `damaged: ...` (`actbench plan`).
pub fn status(config: &Config, data_dir: &Path, out: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let (plan, _) = super::plan::plan(config, data_dir)?;
    let out = crate::results_dir::ResultsDir::new(out);
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
    for backend in [BackendKind::Flex, BackendKind::Ndarray, BackendKind::Wgpu] {
        let mut other = config.clone();
        other.experiment.backend = backend;
        let hash = manifest::config_hash(&other, spec);
        if !candidates.contains(&hash) {
            candidates.push(hash);
        }
    }
    candidates
}
