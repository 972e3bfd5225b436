//! An experiment end to end, in three stages that data flows through one way:
//! - [`plan`]: config -> the grid of runs, with everything resolved that every
//!   run must share (the normalisation and its statistics) and each run's
//!   config hash; nothing is written yet, so bad input loses nothing;
//! - [`execute`]: trains a given subset of the plan (the `--jobs` scheduler);
//! - [`finalize`]: combines the per-run folders into the experiment's tables,
//!   then builds the report.
//!
//! Each finished run is written at once ([`store`]), so an interruption loses
//! at most the runs in progress; running the same config again skips the runs
//! already finished (same config hash) and trains the rest.

mod budget;
mod claim;
mod data_cache;
pub mod execute;
pub mod finalize;
mod halving;
mod lock;
pub mod merge;
pub mod plan;
pub mod rerun;
pub mod slurm;
pub mod store;
pub mod worker;

pub use halving::{keep_of, search_score};
pub use merge::{Merged, merge};
pub use plan::{Plan, PlannedRun};
pub use worker::{Shard, Worked, work, work_stage};

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::backend;
use crate::backend::BackendKind;
use crate::config::Config;
use crate::progress::{GridProgress, Mode};
use crate::results::dir::ResultsDir;
use crate::results::manifest::{self, Manifest};
use crate::results::records::RunSummary;
use execute::Trained;
use lock::Lock;
use store::{Found, SavedRun};

/// How often, at most, the combined tables are rewritten while a grid trains
/// (and once more when it stops).
const COMBINE_EVERY: Duration = Duration::from_secs(5);

pub struct Options {
    pub out: PathBuf,
    pub backend: BackendKind,
    pub progress: Mode,
    /// Train runs again even when their results are already in `out`.
    pub force: bool,
    /// How this experiment was started, for the manifests.
    pub command_line: String,
    /// The folder holding the dataset folders (`files::data_dir`).
    pub data_dir: PathBuf,
    /// Runs trained at the same time, the threads divided between them.
    pub jobs: usize,
}

pub struct Outcome {
    /// Every run of the plan, in grid order.
    pub runs: Vec<SavedRun>,
    pub seconds: f64,
}

impl Outcome {
    pub fn summaries(&self) -> Vec<RunSummary> {
        self.runs.iter().map(|r| r.summary.clone()).collect()
    }
}

/// How a plan is trained: an experiment (every run to its end, or by
/// `[tuning.halving]`), then its report; or a `[search]`'s candidates by
/// successive halving over `rungs` (epochs), keeping the best share `keep`
/// after each, without a report (src/search/ writes its own).
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    Experiment,
    Search { rungs: Vec<usize>, keep: f64 },
}

/// Plans, trains what is not finished yet, and finalizes.
pub fn run(config: &Config, options: &Options) -> anyhow::Result<Outcome> {
    run_stage(config, options, &Stage::Experiment)
}

/// [`run`] as `stage` says.
pub fn run_stage(config: &Config, options: &Options, stage: &Stage) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let device = backend::device(options.backend)?;
    budget::check(config, options.jobs)?;
    // Everything that needs the data comes before anything is written.
    let (plan, mut data) = plan::plan(config, &options.data_dir)?;
    let out = ResultsDir::new(&options.out);
    store::create(&out)?;
    let _lock = Lock::acquire(&out)?;
    // Workers may be training into this folder: a second writer would train the same runs.
    if let Some((id, owner)) = plan.runs.iter().find_map(|run| {
        let id = &run.spec.id;
        claim::live_holder(&out.run(id)).map(|owner| (id, owner))
    }) {
        anyhow::bail!(
            "run `{id}` in '{}' is claimed by a worker ({}): wait for the workers, or join them with --worker",
            out.root().display(),
            owner.describe()
        );
    }
    store::remove_stale_temporaries(&out);
    for run in &plan.runs {
        claim::remove_if_gone(&out.run(&run.spec.id));
    }
    store::write_config(&out, &plan.config, options.backend)?;

    let keys = plan.config.sweep.keys();
    let halving = plan.config.tuning.as_ref().and_then(|t| t.halving);
    let rungs = halving.is_some() || matches!(stage, Stage::Search { .. });
    let mut progress = GridProgress::new(options.progress, plan.runs.len());
    let all: Vec<usize> = (0..plan.runs.len()).collect();
    let (mut saved, pending) = sort_runs(&plan, &out, &all, options.force, rungs, &mut progress);
    if saved.iter().any(Option::is_some) {
        finalize::combine(&out, &keys, &saved)?;
    }

    let mut last_combine: Option<Instant> = None;
    let mut rung = |runs: &[usize], stops: &BTreeMap<usize, usize>, saved: &mut Vec<Option<SavedRun>>| {
        let subset = execute::Subset { runs, stops };
        execute::execute(&plan, subset, options.jobs, &mut data, &device, &out, &mut progress, None, |trained| {
            let run = &plan.runs[trained.index];
            let manifest = manifest(&plan, run, options, &device, trained);
            let run_saved = SavedRun::new(&trained.records);
            store::write_run(&out, run, &run_saved, manifest)?;
            saved[trained.index] = Some(run_saved);
            // Rewriting the combined tables after every run would cost O(runs^2)
            // on a large grid; after the first and then every few seconds keeps
            // them fresh enough to look at.
            if last_combine.is_none_or(|t| t.elapsed() >= COMBINE_EVERY) {
                finalize::combine(&out, &keys, saved)?;
                last_combine = Some(Instant::now());
            }
            Ok(())
        })
    };
    let executed = match (stage, &halving) {
        (Stage::Search { rungs, keep }, _) => halving::search(&plan, rungs, *keep, &mut saved, &mut rung),
        (Stage::Experiment, None) => rung(&pending, &BTreeMap::new(), &mut saved),
        (Stage::Experiment, Some(halving)) => halving::train(&plan, halving, &mut saved, &mut rung),
    };
    // Whatever stopped the grid, the combined tables hold every run saved.
    let combined = finalize::combine(&out, &keys, &saved);
    progress.finish();
    let interrupted = executed?;
    combined?;
    let finished = saved.iter().filter(|s| s.is_some()).count();
    if interrupted || finished < plan.runs.len() {
        anyhow::bail!(
            "interrupted: {finished} of {} runs finished and saved in '{}'; run the same command to resume",
            plan.runs.len(),
            out.root().display()
        );
    }
    if *stage == Stage::Experiment {
        finalize::report(&out)?;
    }
    Ok(Outcome { runs: saved.into_iter().flatten().collect(), seconds: started.elapsed().as_secs_f64() })
}

/// The runs of `plan` at `indices`, sorted: those already finished in
/// `out` (at their place in the grid, shown as skipped) and those to train
/// (a damaged one said on stderr). A run that successive halving stopped
/// early is kept with `stopped` (halving decides whether it goes on), else
/// trained on from its checkpoint. With `force`, nothing is read back.
fn sort_runs(
    plan: &Plan,
    out: &ResultsDir,
    indices: &[usize],
    force: bool,
    stopped: bool,
    progress: &mut GridProgress,
) -> (Vec<Option<SavedRun>>, Vec<usize>) {
    let mut saved: Vec<Option<SavedRun>> = vec![None; plan.runs.len()];
    let mut pending = Vec::new();
    for &i in indices {
        let run = &plan.runs[i];
        match if force { Found::Nothing } else { store::finished(out, run) } {
            Found::Finished(found) if !stopped && stopped_early(plan, run, &found) => pending.push(i),
            Found::Finished(found) => {
                progress.skip_run(&found.summary);
                saved[i] = Some(*found);
            }
            Found::Damaged(why) => {
                progress.warn(&format!("run `{}` is damaged: {why}; it is trained again", run.spec.id));
                pending.push(i);
            }
            Found::Nothing | Found::Other => pending.push(i),
        }
    }
    (saved, pending)
}

/// Whether `saved`, a run of `run`, stopped before its last epoch without
/// diverging or meeting its patience.
fn stopped_early(plan: &Plan, run: &PlannedRun, saved: &SavedRun) -> bool {
    !reached(plan, run, saved, None)
}

/// Whether `saved`, a run of `run`, has trained as far as it is asked to:
/// to its end (or diverged, or met its patience), or to epoch `stop` (a
/// rung of successive halving).
fn reached(plan: &Plan, run: &PlannedRun, saved: &SavedRun, stop: Option<usize>) -> bool {
    let training = &plan.config_of(run).training;
    saved.summary.ran_to_its_end(training.rounds(), training.patience.map(|p| p.0))
        || stop.is_some_and(|e| saved.summary.epochs_completed >= e)
}

/// What a run was and where it ran.
fn manifest(
    plan: &Plan,
    run: &PlannedRun,
    options: &Options,
    device: &burn::tensor::Device,
    trained: &Trained,
) -> Manifest {
    Manifest {
        run_id: run.spec.id.clone(),
        config_hash: run.hash.clone(),
        run_config: manifest::run_config(plan.config_of(run), &run.spec).to_toml(),
        actbench_version: env!("CARGO_PKG_VERSION").into(),
        git_revision: manifest::git_revision().into(),
        burn_version: manifest::BURN_VERSION.into(),
        backend: options.backend.name().into(),
        device: format!("{device:?}"),
        deterministic: backend::is_deterministic(options.backend),
        cpu_model: manifest::cpu_model(),
        threads: trained.threads,
        started_at: trained.started_at.clone(),
        finished_at: manifest::now(),
        command_line: options.command_line.clone(),
        files: Default::default(),
        init: run.spec.init.to_string(),
        slurm_job: manifest::slurm_job(),
    }
}
