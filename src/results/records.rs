//! What a run records: the rows of epochs.csv, gradients.csv and summary.csv
//! (columns described in the README, "Output files"). Field order is column
//! order; every row starts with run_id, activation, seed and lr, so each
//! file stands alone in pandas or polars. Columns whose name ends in `_seconds` are wall-clock time, the only
//! columns that differ between two runs of the same config and seed.

use serde::{Deserialize, Serialize};

/// A CSV row type: its columns, in order, for the header of a file that may
/// have no rows yet.
pub trait Columns {
    const COLUMNS: &'static [&'static str];
    /// Columns added since the first version: a file without them still
    /// reads (their fields take their serde default).
    const ADDED: &'static [&'static str] = &[];
}

/// A row of one of a run's tables, which names its run.
pub trait Row: Serialize + serde::de::DeserializeOwned + Columns + Swept {
    fn run_id(&self) -> &str;
}

/// A row type with the sweep's columns after `lr` (`sweep`, not in [`Columns::COLUMNS`]).
pub trait Swept {
    fn sweep_mut(&mut self) -> &mut Vec<String>;
}

macro_rules! rows {
    ($($t:ty),*) => {$(
        impl Row for $t {
            fn run_id(&self) -> &str {
                &self.run_id
            }
        }
        impl Swept for $t {
            fn sweep_mut(&mut self) -> &mut Vec<String> {
                &mut self.sweep
            }
        }
    )*};
}
rows!(EpochRecord, GradientRecord, RunSummary, ActivationRecord, LearnedRecord);

/// One row of epochs.csv.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    pub run_id: String,
    pub activation: String,
    pub seed: u64,
    pub lr: f64,
    /// The run's value of each swept key, one CSV column per key (named by
    /// the key) after `lr`; none without a sweep (export/csv.rs).
    #[serde(skip_deserializing)]
    pub sweep: Vec<String>,
    pub epoch: usize,
    pub train_loss: f64,
    pub train_accuracy: f64,
    pub val_loss: f64,
    pub val_accuracy: f64,
    pub epoch_seconds: f64,
}

/// One row of gradients.csv: one parameter at one recorded step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradientRecord {
    pub run_id: String,
    pub activation: String,
    pub seed: u64,
    pub lr: f64,
    /// The run's value of each swept key, one CSV column per key (named by
    /// the key) after `lr`; none without a sweep (export/csv.rs).
    #[serde(skip_deserializing)]
    pub sweep: Vec<String>,
    pub epoch: usize,
    pub step: usize,
    pub loss: f64,
    pub parameter: String,
    pub grad_l2: f64,
    pub grad_max_abs: f64,
    pub weight_l2: f64,
}

/// One row of summary.csv.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub run_id: String,
    pub activation: String,
    pub seed: u64,
    pub lr: f64,
    /// The run's value of each swept key, one CSV column per key (named by
    /// the key) after `lr`; none without a sweep (export/csv.rs).
    #[serde(skip_deserializing)]
    pub sweep: Vec<String>,
    /// Non-default activation parameters, `name=value` joined by `;`.
    pub params: String,
    pub init: String,
    pub test_accuracy: f64,
    pub test_loss: f64,
    pub best_val_accuracy: f64,
    pub best_val_epoch: usize,
    pub final_train_loss: f64,
    /// Mean over recorded steps of |grad layers.0.weight| / |grad output.weight|:
    /// far below 1 when gradients vanish on their way down (empty if no step was recorded).
    pub grad_ratio_first_last: Option<f64>,
    pub diverged: bool,
    /// Epoch and step at which the loss became NaN or infinite (empty if it did not).
    pub diverged_epoch: Option<usize>,
    pub diverged_step: Option<usize>,
    pub epochs_completed: usize,
    pub wall_seconds: f64,
}

/// One row of activations.csv: one hidden layer on the probe batch after
/// one epoch (epoch 0 = at initialisation); and of activation_steps.csv,
/// the same statistics every `logging.activation_every_steps` steps, with
/// `epoch` the epoch the step belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivationRecord {
    pub run_id: String,
    pub activation: String,
    pub seed: u64,
    pub lr: f64,
    /// The run's value of each swept key, one CSV column per key (named by
    /// the key) after `lr`; none without a sweep (export/csv.rs).
    #[serde(skip_deserializing)]
    pub sweep: Vec<String>,
    pub epoch: usize,
    /// Optimizer steps taken before the statistics were read (0 at
    /// initialisation); empty in a file of an earlier version.
    #[serde(default)]
    pub step: Option<usize>,
    /// 0 = the hidden layer nearest the input.
    pub layer: usize,
    pub units: usize,
    pub pre_mean: f64,
    pub pre_std: f64,
    pub post_mean: f64,
    pub post_std: f64,
    pub dead_fraction: f64,
    pub saturated_fraction: f64,
}

/// One row of learned.csv: a learned parameter of a formula activation at
/// initialisation (epoch 0) and after every epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearnedRecord {
    pub run_id: String,
    pub activation: String,
    pub seed: u64,
    pub lr: f64,
    /// The run's value of each swept key (see [`EpochRecord::sweep`]).
    #[serde(skip_deserializing)]
    pub sweep: Vec<String>,
    pub epoch: usize,
    /// As in gradients.csv: `activations.<layer>.<name>`, `conv_activations.<block>.<name>`.
    pub parameter: String,
    pub value: f64,
}

/// One row of search.csv (`[search]`): a candidate of the space, dropped
/// before training (one row, `dropped` says why), or trained (one row per
/// rung it reached).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchRecord {
    /// The candidate's place in the walk of the space (0-based).
    pub candidate: usize,
    pub formula: String,
    /// Why it was not trained (empty when it was).
    pub dropped: String,
    /// 1-based rung, and the epochs trained by its end (empty when dropped).
    pub rung: Option<usize>,
    pub epochs: Option<usize>,
    /// Mean validation accuracy over the search's seeds after those epochs.
    pub val_accuracy: Option<f64>,
    /// Whether it went on to the next rung.
    pub went_on: bool,
    /// Whether it was retrained against the baselines (its last row only).
    pub finalist: bool,
}

impl Columns for SearchRecord {
    const COLUMNS: &'static [&'static str] =
        &["candidate", "formula", "dropped", "rung", "epochs", "val_accuracy", "went_on", "finalist"];
}

/// Everything one run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecords {
    pub epochs: Vec<EpochRecord>,
    pub gradients: Vec<GradientRecord>,
    pub activations: Vec<ActivationRecord>,
    /// Every `logging.activation_every_steps` steps (empty when 0).
    pub activation_steps: Vec<ActivationRecord>,
    pub learned: Vec<LearnedRecord>,
    pub summary: RunSummary,
}

#[cfg(test)]
impl RunSummary {
    /// A run that trained one epoch at lr 0.1 without diverging, for the unit tests' fixtures.
    pub fn example(run_id: &str, activation: &str, seed: u64) -> RunSummary {
        RunSummary {
            run_id: run_id.into(),
            activation: activation.into(),
            seed,
            lr: 0.1,
            sweep: Vec::new(),
            params: String::new(),
            init: "pytorch".into(),
            test_accuracy: 0.5,
            test_loss: 1.0,
            best_val_accuracy: 0.5,
            best_val_epoch: 1,
            final_train_loss: 1.0,
            grad_ratio_first_last: None,
            diverged: false,
            diverged_epoch: None,
            diverged_step: None,
            epochs_completed: 1,
            wall_seconds: 1.0,
        }
    }
}

#[cfg(test)]
impl EpochRecord {
    /// `summary`'s row after `epoch` with validation accuracy `val`, for the unit tests' fixtures.
    pub fn example(summary: &RunSummary, epoch: usize, val: f64) -> EpochRecord {
        EpochRecord {
            run_id: summary.run_id.clone(),
            activation: summary.activation.clone(),
            seed: summary.seed,
            lr: summary.lr,
            sweep: summary.sweep.clone(),
            epoch,
            train_loss: 1.0,
            train_accuracy: val,
            val_loss: 1.0,
            val_accuracy: val,
            epoch_seconds: 0.1,
        }
    }
}

impl RunSummary {
    /// Whether the run went as far as its config takes it: every one of its
    /// `epochs`, until its loss diverged, or until `patience` epochs passed
    /// without a better validation accuracy (training.patience). A run that
    /// successive halving stopped did not.
    pub fn ran_to_its_end(&self, epochs: usize, patience: Option<usize>) -> bool {
        self.diverged
            || self.epochs_completed >= epochs
            || patience.is_some_and(|p| self.epochs_completed >= self.best_val_epoch.saturating_add(p))
    }
}

impl Columns for EpochRecord {
    const COLUMNS: &'static [&'static str] = &[
        "run_id",
        "activation",
        "seed",
        "lr",
        "epoch",
        "train_loss",
        "train_accuracy",
        "val_loss",
        "val_accuracy",
        "epoch_seconds",
    ];
}

impl Columns for GradientRecord {
    const COLUMNS: &'static [&'static str] = &[
        "run_id",
        "activation",
        "seed",
        "lr",
        "epoch",
        "step",
        "loss",
        "parameter",
        "grad_l2",
        "grad_max_abs",
        "weight_l2",
    ];
}

impl Columns for RunSummary {
    const COLUMNS: &'static [&'static str] = &[
        "run_id",
        "activation",
        "seed",
        "lr",
        "params",
        "init",
        "test_accuracy",
        "test_loss",
        "best_val_accuracy",
        "best_val_epoch",
        "final_train_loss",
        "grad_ratio_first_last",
        "diverged",
        "diverged_epoch",
        "diverged_step",
        "epochs_completed",
        "wall_seconds",
    ];
}

impl Columns for LearnedRecord {
    const COLUMNS: &'static [&'static str] = &["run_id", "activation", "seed", "lr", "epoch", "parameter", "value"];
}

impl Columns for ActivationRecord {
    const COLUMNS: &'static [&'static str] = &[
        "run_id",
        "activation",
        "seed",
        "lr",
        "epoch",
        "step",
        "layer",
        "units",
        "pre_mean",
        "pre_std",
        "post_mean",
        "post_std",
        "dead_fraction",
        "saturated_fraction",
    ];
    const ADDED: &'static [&'static str] = &["step"];
}
