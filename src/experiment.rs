//! An experiment end to end: config -> grid of runs -> training -> records
//! -> CSV files. Each finished run is written at once, so an interruption
//! loses at most the run in progress; running the same config again skips
//! the runs already finished (same config hash) and trains the rest.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Instant;

use anyhow::Context;

use crate::backend;
use crate::config::Normalize;
use crate::config::{BackendKind, Config};
use crate::data::{self, Source, Splits};
use crate::export::{atomic, csv};
use crate::grid::{self, RunSpec};
use crate::lock::Lock;
use crate::manifest::{self, Manifest};
use crate::progress::{GridProgress, Mode, RunProgress};
use crate::records::{ActivationRecord, EpochRecord, GradientRecord, RunRecords, RunSummary};
use crate::train;

/// The files of an experiment folder.
pub const CONFIG_FILE: &str = "config.toml";
pub const EPOCHS_FILE: &str = "epochs.csv";
pub const GRADIENTS_FILE: &str = "gradients.csv";
pub const SUMMARY_FILE: &str = "summary.csv";
pub const ACTIVATIONS_FILE: &str = "activations.csv";
/// Per-run copies of the three CSVs live in `runs/<run id>/`.
pub const RUNS_DIR: &str = "runs";
pub const MANIFEST_FILE: &str = "manifest.json";
/// A run in progress keeps its last epoch here (removed when it finishes).
pub const CHECKPOINT_DIR: &str = "checkpoint";

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
    pub summaries: Vec<RunSummary>,
    pub seconds: f64,
}

pub fn run(config: &Config, options: &Options) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let device = backend::device(options.backend)?;
    let out = &options.out;
    let runs = grid::expand(config);
    // Everything that needs the data comes before anything is written.
    let mut config = config.clone();
    let data = Data::load(&mut config, &options.data_dir, runs.first().map_or(0, |r| r.seed))?;
    let config = &config;
    let batch = config.training.batch_size.0;
    let train_samples = data.train_samples(config);
    if batch > train_samples {
        anyhow::bail!(
            "key `training.batch_size` ({batch}) is larger than the training split ({train_samples} samples of {}): lower it",
            config.data.dataset.name()
        );
    }
    std::fs::create_dir_all(out.join(RUNS_DIR))
        .with_context(|| format!("cannot create results folder '{}'", out.display()))?;
    let _lock = Lock::acquire(out)?;
    remove_stale_temporaries(out);
    let mut resolved = config.clone();
    resolved.experiment.backend = options.backend;
    write(&out.join(CONFIG_FILE), |p| atomic::write_string(p, &resolved.to_toml()))?;

    let mut progress = GridProgress::new(options.progress, runs.len());
    let mut summaries: Vec<Option<RunSummary>> = vec![None; runs.len()];
    let mut pending = VecDeque::new();
    for (i, spec) in runs.iter().enumerate() {
        let hash = manifest::config_hash(config, spec);
        match finished(out, spec, &hash).filter(|_| !options.force) {
            Some(summary) => {
                progress.skip_run(&summary);
                summaries[i] = Some(summary);
            }
            None => pending.push_back((i, hash)),
        }
    }
    if summaries.iter().any(Option::is_some) {
        combine(out, &runs)?;
    }

    // `jobs` workers train runs side by side, each on its own share of the
    // threads; this thread writes every finished run at once, in the order
    // they finish (the combined CSVs keep the grid order).
    let jobs = options.jobs.clamp(1, pending.len().max(1));
    let threads = (manifest::threads() / jobs).max(1);
    let queue = Mutex::new(pending);
    let data = Mutex::new(data);
    let progress_bars = Mutex::new(&mut progress);
    let stop = AtomicBool::new(false);
    let (sender, finished_runs) = mpsc::channel::<Finished>();
    let mut interrupted = false;
    let written: anyhow::Result<()> = std::thread::scope(|scope| {
        for _ in 0..jobs {
            let sender = sender.clone();
            let (queue, data, progress_bars, stop, device, runs) =
                (&queue, &data, &progress_bars, &stop, &device, &runs);
            scope.spawn(move || {
                // One pool per worker when runs share the machine; the global pool otherwise.
                let pool = (jobs > 1).then(|| {
                    rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a thread pool starts")
                });
                while !stop.load(Ordering::SeqCst) {
                    let Some((i, hash)) = queue.lock().expect("queue").pop_front() else { break };
                    let result = train_one(config, &runs[i], &hash, out, data, progress_bars, device, pool.as_ref());
                    let done = matches!(result, Ok(Some(_)));
                    if sender.send(Finished { index: i, hash, result }).is_err() || !done {
                        break;
                    }
                }
            });
        }
        drop(sender);
        for finished in finished_runs {
            let spec = &runs[finished.index];
            let (records, started_at, bar) = match finished.result {
                Ok(Some(done)) => done,
                Ok(None) => {
                    interrupted = true;
                    continue;
                }
                Err(e) => {
                    stop.store(true, Ordering::SeqCst);
                    return Err(e);
                }
            };
            let manifest = Manifest {
                run_id: spec.id.clone(),
                config_hash: finished.hash,
                run_config: manifest::run_config(config, spec).to_toml(),
                actbench_version: env!("CARGO_PKG_VERSION").into(),
                git_revision: manifest::git_revision().into(),
                burn_version: manifest::BURN_VERSION.into(),
                backend: options.backend.name().into(),
                device: format!("{device:?}"),
                deterministic: backend::is_deterministic(options.backend),
                cpu_model: manifest::cpu_model(),
                threads,
                started_at,
                finished_at: manifest::now(),
                command_line: options.command_line.clone(),
            };
            let saved = write_run(out, spec, &records, &manifest).and_then(|()| combine(out, &runs));
            if let Err(e) = saved {
                stop.store(true, Ordering::SeqCst);
                return Err(e);
            }
            progress_bars.lock().expect("progress").finish_run(bar, &records.summary);
            summaries[finished.index] = Some(records.summary);
        }
        Ok(())
    });
    progress.finish();
    written?;
    let saved = summaries.iter().filter(|s| s.is_some()).count();
    if interrupted || saved < runs.len() {
        anyhow::bail!(
            "interrupted: {saved} of {} runs finished and saved in '{}'; run the same command to resume",
            runs.len(),
            out.display()
        );
    }
    crate::report::build(out).context("the runs are saved, but the report failed (retry with `actbench report`)")?;
    Ok(Outcome { summaries: summaries.into_iter().flatten().collect(), seconds: started.elapsed().as_secs_f64() })
}

/// What a worker hands back: the run's records, when it started, its bar;
/// `None` when a stop was requested before it finished.
type Trained = Option<(RunRecords, String, RunProgress)>;

struct Finished {
    index: usize,
    hash: String,
    result: anyhow::Result<Trained>,
}

/// Trains one run (on `pool` when given), checkpointing into its folder.
#[allow(clippy::too_many_arguments)]
fn train_one(
    config: &Config,
    spec: &RunSpec,
    hash: &str,
    out: &Path,
    data: &Mutex<Data>,
    progress: &Mutex<&mut GridProgress>,
    device: &burn::tensor::Device,
    pool: Option<&rayon::ThreadPool>,
) -> anyhow::Result<Trained> {
    let split = data.lock().expect("data").splits(config, spec.seed)?;
    let started_at = manifest::now();
    let mut bar = progress.lock().expect("progress").start_run(&spec.id, config.training.epochs.0);
    let dir = run_dir(out, spec);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create '{}'", dir.display()))?;
    let checkpoint = dir.join(CHECKPOINT_DIR);
    let mut train = || train::run(config, spec, &split, device, Some((&checkpoint, hash)), &mut bar);
    let records = match pool {
        Some(pool) => pool.install(train),
        None => train(),
    };
    Ok(records.map(|r| (r, started_at, bar)))
}

/// The experiment's data: a dataset read once (or generated per seed), its
/// normalisation resolved into the config, and the current seed's split.
struct Data {
    /// Shared by all seeds; `None` for a set generated from each seed.
    shared: Option<Source>,
    data_dir: PathBuf,
    /// Splits of the seeds in use (a split nobody holds any more is dropped).
    splits: BTreeMap<u64, Arc<Splits>>,
}

impl Data {
    /// Loads (or generates, for `first_seed`) the dataset and writes the
    /// normalisation, with its statistics, into `config`.
    fn load(config: &mut Config, data_dir: &Path, first_seed: u64) -> anyhow::Result<Self> {
        let source = data::load(&config.data, data_dir, first_seed)?;
        let how = config.data.normalize.unwrap_or(config.data.dataset.default_normalize());
        config.data.normalize = Some(how);
        if how == Normalize::Standard && (config.data.mean.is_none() || config.data.std.is_none()) {
            // Measured on the training part only (for a generated set, the first seed's pool).
            let stats = data::channel_stats(source.training_part());
            config.data.mean.get_or_insert(stats.mean);
            config.data.std.get_or_insert(stats.std);
        }
        let shared = (!data::is_generated(config.data.dataset)).then(|| {
            let mut source = source;
            data::normalize(&mut source, how, Some(&stats_of(config)));
            source
        });
        Ok(Self { shared, data_dir: data_dir.to_path_buf(), splits: BTreeMap::new() })
    }

    /// Samples in the training split (the same for every seed).
    fn train_samples(&self, config: &Config) -> usize {
        let (test, validation) = (config.data.test_split.0, config.data.validation_split.0);
        match &self.shared {
            Some(Source::Fixed { train, .. }) => data::split_sizes(train.len(), 0.0, validation).0,
            Some(Source::Pooled(all)) => data::split_sizes(all.len(), test, validation).0,
            None => data::split_sizes(config.data.samples.0, test, validation).0,
        }
    }

    /// The split of `seed`, made once while some run of that seed holds it.
    fn splits(&mut self, config: &Config, seed: u64) -> anyhow::Result<Arc<Splits>> {
        self.splits.retain(|s, split| *s == seed || Arc::strong_count(split) > 1);
        if let Some(split) = self.splits.get(&seed) {
            return Ok(Arc::clone(split));
        }
        let split =
            |source: &Source| data::split(source, config.data.test_split.0, config.data.validation_split.0, seed);
        let splits = Arc::new(match &self.shared {
            Some(source) => split(source),
            None => {
                let mut source = data::load(&config.data, &self.data_dir, seed)?;
                let how = config.data.normalize.expect("resolved in Data::load");
                data::normalize(&mut source, how, Some(&stats_of(config)));
                split(&source)
            }
        });
        self.splits.insert(seed, Arc::clone(&splits));
        Ok(splits)
    }
}

/// The resolved config's normalisation statistics.
fn stats_of(config: &Config) -> data::Stats {
    data::Stats { mean: config.data.mean.clone().unwrap_or_default(), std: config.data.std.clone().unwrap_or_default() }
}

/// Temporary files a killed writer left behind (`.<name>.tmp-<pid>`); safe
/// to remove while holding the folder's lock.
fn remove_stale_temporaries(out: &Path) {
    let mut dirs = vec![out.to_path_buf(), out.join(crate::results_dir::PLOTS_DIR)];
    if let Ok(runs) = std::fs::read_dir(out.join(RUNS_DIR)) {
        dirs.extend(runs.flatten().map(|e| e.path()));
    }
    for dir in dirs {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && name.contains(".tmp") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

fn run_dir(out: &Path, spec: &RunSpec) -> PathBuf {
    out.join(RUNS_DIR).join(&spec.id)
}

/// The summary of a run already in `out` with the same config hash, if any.
fn finished(out: &Path, spec: &RunSpec, hash: &str) -> Option<RunSummary> {
    let dir = run_dir(out, spec);
    let manifest = manifest::read(&dir.join(MANIFEST_FILE))?;
    if manifest.config_hash != hash {
        return None;
    }
    let mut reader = ::csv::Reader::from_path(dir.join(SUMMARY_FILE)).ok()?;
    reader.deserialize().next()?.ok()
}

fn write_run(out: &Path, spec: &RunSpec, records: &RunRecords, manifest: &Manifest) -> anyhow::Result<()> {
    let dir = run_dir(out, spec);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create '{}'", dir.display()))?;
    let json = serde_json::to_string_pretty(manifest).expect("a manifest serialises");
    write(&dir.join(MANIFEST_FILE), |p| atomic::write_string(p, &(json + "\n")))?;
    write(&dir.join(EPOCHS_FILE), |p| csv::write_rows(p, &records.epochs))?;
    write(&dir.join(GRADIENTS_FILE), |p| csv::write_rows(p, &records.gradients))?;
    write(&dir.join(ACTIVATIONS_FILE), |p| csv::write_rows(p, &records.activations))?;
    // The summary last: its presence marks a finished run.
    write(&dir.join(SUMMARY_FILE), |p| csv::write_rows(p, std::slice::from_ref(&records.summary)))
}

/// Rebuilds the experiment-level CSVs from the finished runs, in grid order.
fn combine(out: &Path, finished: &[RunSpec]) -> anyhow::Result<()> {
    let inputs = |file: &str| finished.iter().map(|s| run_dir(out, s).join(file)).collect::<Vec<_>>();
    write(&out.join(EPOCHS_FILE), |p| csv::concat::<EpochRecord>(p, &inputs(EPOCHS_FILE)))?;
    write(&out.join(GRADIENTS_FILE), |p| csv::concat::<GradientRecord>(p, &inputs(GRADIENTS_FILE)))?;
    write(&out.join(ACTIVATIONS_FILE), |p| csv::concat::<ActivationRecord>(p, &inputs(ACTIVATIONS_FILE)))?;
    write(&out.join(SUMMARY_FILE), |p| csv::concat::<RunSummary>(p, &inputs(SUMMARY_FILE)))
}

fn write(path: &Path, f: impl FnOnce(&Path) -> std::io::Result<()>) -> anyhow::Result<()> {
    f(path).with_context(|| format!("cannot write '{}'", path.display()))
}
