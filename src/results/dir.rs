//! The layout of a results folder, in one place: every file and folder name
//! that `run` writes and `report`, `check`, `rerun`, the checkpoints and the
//! tests read. Nothing else in the crate types one of these names.
//!
//! ```text
//! <out>/config.toml            the resolved config (every default written out)
//! <out>/{epochs,gradients,activations,activation_steps,learned,summary}.csv   the runs' tables, in grid order
//! <out>/aggregate.csv, report.md, plots/             the report (report::ARTIFACTS)
//! <out>/.actbench.lock         the one writer's PID while it runs
//! <out>/search.csv, search/    with [search]: the candidates, and their runs (a results folder)
//! <out>/slurm/                 `actbench slurm`: the job scripts and logs
//! <out>/runs/<id>/manifest.json, the six tables      one finished run
//! <out>/runs/<id>/checkpoint/  a run in progress (the same tables, the model, the optimizer)
//! ```

use std::path::{Path, PathBuf};

/// The CSV tables every run writes and the experiment combines, in the
/// order they are written (the summary last: its presence marks a finished run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// One row per epoch: loss and accuracy (records::EpochRecord).
    Epochs,
    /// One row per parameter and recorded step (train::record::gradients).
    Gradients,
    /// One row per hidden layer at initialisation and after every epoch (train::record::activations).
    Activations,
    /// The same, every `logging.activation_every_steps` steps (train::record::activation_steps);
    /// header only when that is 0.
    ActivationSteps,
    /// One row per learned parameter of a formula at initialisation and
    /// after every epoch (train::record::learned); header only without one.
    Learned,
    /// One row per run (records::RunSummary).
    Summary,
    /// A language model's generated text, one row per run
    /// (train::record::samples); header only for other models.
    Samples,
}

impl Table {
    pub const ALL: [Table; 7] = [
        Table::Epochs,
        Table::Gradients,
        Table::Activations,
        Table::ActivationSteps,
        Table::Learned,
        Table::Summary,
        Table::Samples,
    ];

    /// Tables a run of an earlier version may lack (it had nothing to put in them).
    pub const fn optional(self) -> bool {
        matches!(self, Table::Learned | Table::ActivationSteps | Table::Samples)
    }

    pub const fn file_name(self) -> &'static str {
        match self {
            Table::Epochs => "epochs.csv",
            Table::Gradients => "gradients.csv",
            Table::Activations => "activations.csv",
            Table::ActivationSteps => "activation_steps.csv",
            Table::Learned => "learned.csv",
            Table::Summary => "summary.csv",
            Table::Samples => "samples.csv",
        }
    }
}

/// `[search]`: every candidate and how far it got (records::SearchRecord).
pub const SEARCH_FILE: &str = "search.csv";
/// `[search]`: the candidates' runs, a results folder of its own inside this one.
pub const SEARCH_DIR: &str = "search";

/// `actbench slurm`'s job scripts and the jobs' logs.
pub const SLURM_DIR: &str = "slurm";
/// In `slurm/`: the array job's script (and `merge.sbatch`, the merge job's).
pub const SLURM_ARRAY_SCRIPT: &str = "array.sbatch";
pub const SLURM_MERGE_SCRIPT: &str = "merge.sbatch";

/// The resolved config, at the top of a results folder.
pub const CONFIG_FILE: &str = "config.toml";
/// Statistics across seeds, per group and metric.
pub const AGGREGATE_FILE: &str = "aggregate.csv";
/// With `[tuning]`: the expected best validation score after n settings, per activation.
pub const EXPECTED_FILE: &str = "expected_performance.csv";
/// The Markdown report.
pub const REPORT_FILE: &str = "report.md";
/// The figures (SVG and PNG).
pub const PLOTS_DIR: &str = "plots";
/// One folder per run, named by its id.
pub const RUNS_DIR: &str = "runs";
/// A run's identity and provenance.
pub const MANIFEST_FILE: &str = "manifest.json";
/// A run in progress keeps its last epoch here (removed when it finishes).
pub const CHECKPOINT_DIR: &str = "checkpoint";
/// Held by the one process writing the folder.
pub const LOCK_FILE: &str = ".actbench.lock";
/// In a checkpoint: where the training loop stands (written last).
pub const CHECKPOINT_STATE_FILE: &str = "state.json";
/// In a checkpoint: the model's and the optimizer's records (Burn's file format adds the extension).
pub const CHECKPOINT_MODEL: &str = "model";
pub const CHECKPOINT_OPTIMIZER: &str = "optimizer";

/// Every name at the top of a results folder that actbench writes: none of
/// them may be written by a command that was not asked to write the folder.
pub const NAMES: [&str; 16] = [
    CONFIG_FILE,
    Table::Epochs.file_name(),
    Table::Gradients.file_name(),
    Table::Activations.file_name(),
    Table::ActivationSteps.file_name(),
    Table::Learned.file_name(),
    Table::Summary.file_name(),
    AGGREGATE_FILE,
    EXPECTED_FILE,
    REPORT_FILE,
    PLOTS_DIR,
    RUNS_DIR,
    LOCK_FILE,
    SEARCH_FILE,
    SEARCH_DIR,
    SLURM_DIR,
];

/// A results folder (`--out`, by default `results/<experiment name>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultsDir {
    root: PathBuf,
}

impl ResultsDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn config(&self) -> PathBuf {
        self.root.join(CONFIG_FILE)
    }

    /// A combined table.
    pub fn table(&self, table: Table) -> PathBuf {
        self.root.join(table.file_name())
    }

    pub fn aggregate(&self) -> PathBuf {
        self.root.join(AGGREGATE_FILE)
    }

    pub fn expected_performance(&self) -> PathBuf {
        self.root.join(EXPECTED_FILE)
    }

    pub fn report(&self) -> PathBuf {
        self.root.join(REPORT_FILE)
    }

    pub fn plots(&self) -> PathBuf {
        self.root.join(PLOTS_DIR)
    }

    pub fn search_table(&self) -> PathBuf {
        self.root.join(SEARCH_FILE)
    }

    /// The search stage's own results folder.
    pub fn search(&self) -> ResultsDir {
        ResultsDir::new(self.root.join(SEARCH_DIR))
    }

    pub fn lock(&self) -> PathBuf {
        self.root.join(LOCK_FILE)
    }

    pub fn runs(&self) -> PathBuf {
        self.root.join(RUNS_DIR)
    }

    /// The folder of the run with this id.
    pub fn run(&self, id: &str) -> RunDir {
        RunDir::new(self.runs().join(id))
    }
}

/// One run's folder (`<out>/runs/<id>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    dir: PathBuf,
}

impl RunDir {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    pub fn manifest(&self) -> PathBuf {
        self.dir.join(MANIFEST_FILE)
    }

    /// One of the run's own tables.
    pub fn table(&self, table: Table) -> PathBuf {
        self.dir.join(table.file_name())
    }

    pub fn checkpoint(&self) -> CheckpointDir {
        CheckpointDir::new(self.dir.join(CHECKPOINT_DIR))
    }
}

/// A checkpoint of a run in progress (`<out>/runs/<id>/checkpoint`): the
/// tables so far, the model, the optimizer, and the state, written last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointDir {
    dir: PathBuf,
}

impl CheckpointDir {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    pub fn state(&self) -> PathBuf {
        self.dir.join(CHECKPOINT_STATE_FILE)
    }

    pub fn model(&self) -> PathBuf {
        self.dir.join(CHECKPOINT_MODEL)
    }

    pub fn optimizer(&self) -> PathBuf {
        self.dir.join(CHECKPOINT_OPTIMIZER)
    }

    /// The rows of one table recorded so far.
    pub fn table(&self, table: Table) -> PathBuf {
        self.dir.join(table.file_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct() {
        let mut names: Vec<&str> = NAMES.to_vec();
        names.push(MANIFEST_FILE);
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n);
    }

    #[test]
    fn a_run_lives_under_runs() {
        let out = ResultsDir::new("results/x");
        assert_eq!(
            out.run("relu-lr0.1-s0").table(Table::Summary),
            Path::new("results/x/runs/relu-lr0.1-s0/summary.csv")
        );
        assert_eq!(out.run("a").checkpoint().state(), Path::new("results/x/runs/a/checkpoint/state.json"));
    }
}
