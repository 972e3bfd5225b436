//! Stage two: trains a subset of the plan. `jobs` workers train runs side by
//! side, each on its own share of the threads; the calling thread hands each
//! finished run to `save` at once, in the order they finish (the combined
//! tables keep the grid order, finalize.rs).

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};

use anyhow::Context;

use crate::progress::{GridProgress, RunProgress};
use crate::results::dir::ResultsDir;
use crate::results::manifest;
use crate::results::records::RunRecords;
use crate::train;

use super::data_cache::DataCache;
use super::plan::Plan;

/// A run trained to the end.
pub struct Trained {
    /// Its place in the plan.
    pub index: usize,
    pub records: RunRecords,
    pub started_at: String,
    /// CPU threads it trained on.
    pub threads: usize,
}

/// What a worker hands back; `Ok(None)` when a stop was requested before the run finished.
type Outcome = anyhow::Result<Option<(Trained, RunProgress)>>;

/// Decides, right before a run trains, whether this process trains it
/// (`run --worker` claims it, claim.rs), and is told when it is done with it.
pub trait Gate: Sync {
    /// Whether to train the run at `index` now; `false` skips it.
    fn enter(&self, index: usize) -> anyhow::Result<bool>;
    /// The run at `index` is saved, dropped or failed.
    fn leave(&self, index: usize);
}

/// Which runs of a plan to train, and how far.
pub(super) struct Subset<'a> {
    /// Indices into `plan.runs`.
    pub runs: &'a [usize],
    /// Runs that stop after this epoch (a rung of successive halving); the
    /// others train to the end.
    pub stops: &'a BTreeMap<usize, usize>,
}

/// Trains the runs of `plan` in `subset`, calling `save` for each as it
/// finishes. Returns whether a stop (Ctrl-C) left some untrained; the
/// first error stops the workers and is returned.
#[allow(clippy::too_many_arguments)]
pub(super) fn execute(
    plan: &Plan,
    subset: Subset,
    jobs: usize,
    data: &mut DataCache,
    device: &burn::tensor::Device,
    out: &ResultsDir,
    progress: &mut GridProgress,
    gate: Option<&dyn Gate>,
    mut save: impl FnMut(&Trained) -> anyhow::Result<()>,
) -> anyhow::Result<bool> {
    let jobs = jobs.clamp(1, subset.runs.len().max(1));
    let threads = (manifest::threads() / jobs).max(1);
    let queue = Mutex::new(subset.runs.iter().copied().collect::<VecDeque<_>>());
    let stops = subset.stops;
    let data = Mutex::new(data);
    let progress = Mutex::new(progress);
    let stop = AtomicBool::new(false);
    let (sender, finished) = mpsc::channel::<Outcome>();
    let mut interrupted = false;
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let sender = sender.clone();
            let (queue, data, progress, stop) = (&queue, &data, &progress, &stop);
            scope.spawn(move || {
                // One pool per worker when runs share the machine; the global pool otherwise.
                let pool = (jobs > 1).then(|| {
                    rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a thread pool starts")
                });
                while !stop.load(Ordering::SeqCst) {
                    let Some(index) = queue.lock().expect("queue").pop_front() else { break };
                    match gate.map_or(Ok(true), |g| g.enter(index)) {
                        Ok(true) => {}
                        Ok(false) => continue,
                        Err(e) => {
                            let _ = sender.send(Err(e));
                            break;
                        }
                    }
                    let stop = stops.get(&index).copied();
                    let result = train_one(plan, (index, stop), threads, out, data, progress, device, pool.as_ref());
                    let done = matches!(result, Ok(Some(_)));
                    if !done && let Some(g) = gate {
                        g.leave(index);
                    }
                    if sender.send(result).is_err() || !done {
                        break;
                    }
                }
            });
        }
        drop(sender);
        for outcome in finished {
            let saved = match outcome {
                Ok(Some((trained, bar))) => {
                    let saved = save(&trained);
                    if let Some(g) = gate {
                        g.leave(trained.index);
                    }
                    saved.map(|()| (trained, bar))
                }
                Ok(None) => {
                    interrupted = true;
                    continue;
                }
                Err(e) => Err(e),
            };
            match saved {
                Ok((trained, bar)) => progress.lock().expect("progress").finish_run(bar, &trained.records.summary),
                Err(e) => {
                    stop.store(true, Ordering::SeqCst);
                    return Err(e);
                }
            }
        }
        Ok(interrupted)
    })
}

/// Trains one run (on `pool` when given), checkpointing into its folder.
#[allow(clippy::too_many_arguments)]
fn train_one(
    plan: &Plan,
    (index, stop_after): (usize, Option<usize>),
    threads: usize,
    out: &ResultsDir,
    data: &Mutex<&mut DataCache>,
    progress: &Mutex<&mut GridProgress>,
    device: &burn::tensor::Device,
    pool: Option<&rayon::ThreadPool>,
) -> Outcome {
    let run = &plan.runs[index];
    let config = plan.config_of(run);
    let seed = config.experiment.seed_for(crate::config::experiment::Source::Split, run.spec.seed);
    let split = data.lock().expect("data").splits(run.spec.point, config, seed)?;
    let started_at = manifest::now();
    let mut bar = progress.lock().expect("progress").start_run(
        &run.spec.id,
        config.training.rounds(),
        if config.training.steps().is_some() { "evaluation" } else { "epoch" },
    );
    let dir = out.run(&run.spec.id);
    std::fs::create_dir_all(dir.path()).with_context(|| format!("cannot create '{}'", dir.path().display()))?;
    let checkpoint = dir.checkpoint();
    let mut train =
        || train::run(config, &run.spec, &split, device, Some((checkpoint.path(), &run.hash)), stop_after, &mut bar);
    let records = match pool {
        Some(pool) => pool.install(train),
        None => train(),
    };
    Ok(records.map(|records| (Trained { index, records, started_at, threads }, bar)))
}
