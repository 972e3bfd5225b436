//! Per-epoch checkpoints of a run in progress (`runs/<id>/checkpoint/`): the
//! model, the optimizer state, the batch-order generator, and the rows
//! recorded so far. A run killed mid-way resumes from its last finished
//! epoch and ends with the same numbers as an uninterrupted one. The folder
//! is replaced whole (written beside, then renamed) and removed when the run
//! finishes.

use std::fs;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use serde::{Deserialize, Serialize};

use crate::export::csv::{self, read_optional_rows as read_optional, read_rows as read};
use crate::model::Network;
use crate::results::records::{ActivationRecord, EpochRecord, GradientRecord, LearnedRecord};
use crate::results::dir::{CheckpointDir, Table};

/// Where the training loop stands after an epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// The run's config hash (manifest.rs): a checkpoint of another config is ignored.
    pub config_hash: String,
    pub epoch: usize,
    pub step: usize,
    /// Position of the shuffle stream and the current order (shuffled in place every epoch).
    pub shuffle_word_pos: u128,
    /// Position of the augmentation stream (0 without augmentation).
    #[serde(default)]
    pub augment_word_pos: u128,
    pub order: Vec<i64>,
    /// The model's record layout ([`LAYOUT`]; 0 in a checkpoint from before it was kept).
    #[serde(default)]
    pub layout: u32,
    /// With training.patience: test loss and accuracy of the best epoch's model so far.
    #[serde(default)]
    pub test_at_best: Option<(f64, f64)>,
}

/// The layout of the model record a checkpoint holds, raised whenever a
/// module's fields change so that an older checkpoint is not loaded into the
/// new shape. 1: PReLU's slope moved into the activation's `learned` list.
pub const LAYOUT: u32 = 1;

pub struct Checkpoint {
    pub state: State,
    pub epochs: Vec<EpochRecord>,
    pub gradients: Vec<GradientRecord>,
    pub activations: Vec<ActivationRecord>,
    pub activation_steps: Vec<ActivationRecord>,
    pub learned: Vec<LearnedRecord>,
}

/// The rows a run has recorded so far, as a checkpoint saves them.
pub struct RowsSoFar<'a> {
    pub epochs: &'a [EpochRecord],
    pub gradients: &'a [GradientRecord],
    pub activations: &'a [ActivationRecord],
    pub activation_steps: &'a [ActivationRecord],
    pub learned: &'a [LearnedRecord],
}

/// Writes a checkpoint into `dir`, replacing the previous one.
pub fn save(
    dir: &Path,
    state: &State,
    model: &Network,
    optim: &ModuleOptimizer,
    rows: RowsSoFar,
    keys: &[String],
) -> anyhow::Result<()> {
    let RowsSoFar { epochs, gradients, activations, activation_steps, learned } = rows;
    let next = CheckpointDir::new(sibling(dir, "next"));
    let _ = fs::remove_dir_all(next.path());
    fs::create_dir_all(next.path())?;
    model.clone().save_file(next.model()).map_err(|e| anyhow::anyhow!("model: {e:?}"))?;
    optim.save(next.optimizer()).map_err(|e| anyhow::anyhow!("optimizer: {e:?}"))?;
    csv::write_rows(&next.table(Table::Epochs), epochs, keys)?;
    csv::write_rows(&next.table(Table::Gradients), gradients, keys)?;
    csv::write_rows(&next.table(Table::Activations), activations, keys)?;
    csv::write_rows(&next.table(Table::ActivationSteps), activation_steps, keys)?;
    csv::write_rows(&next.table(Table::Learned), learned, keys)?;
    // The state last: a folder without it is not a checkpoint.
    fs::write(next.state(), serde_json::to_string(state)?)?;
    let _ = fs::remove_dir_all(dir);
    fs::rename(next.path(), dir)?;
    Ok(())
}

/// What a checkpoint of this run must hold: everything read from disk is
/// checked against it before it reaches the training loop.
pub struct Expected<'a> {
    pub config_hash: &'a str,
    pub run_id: &'a str,
    pub epochs: usize,
    /// Training samples: the batch order is a permutation of `0..samples`.
    pub samples: usize,
    pub steps_per_epoch: usize,
}

impl Expected<'_> {
    /// Why `checkpoint` cannot be this run's, if it cannot.
    fn mismatch(&self, c: &Checkpoint) -> Option<String> {
        let s = &c.state;
        if s.epoch == 0 || s.epoch >= self.epochs {
            return Some(format!("epoch {} is outside 1..{}", s.epoch, self.epochs));
        }
        if Some(s.step) != s.epoch.checked_mul(self.steps_per_epoch) {
            return Some(format!("step {} after {} epochs of {} steps", s.step, s.epoch, self.steps_per_epoch));
        }
        if s.order.len() != self.samples {
            return Some(format!("the batch order holds {} indices for {} samples", s.order.len(), self.samples));
        }
        let mut seen = vec![false; self.samples];
        for &i in &s.order {
            match usize::try_from(i).ok().filter(|&i| i < self.samples) {
                Some(i) if !seen[i] => seen[i] = true,
                _ => return Some(format!("the batch order is not a permutation (index {i})")),
            }
        }
        if c.epochs.len() != s.epoch || c.epochs.iter().enumerate().any(|(i, r)| r.epoch != i + 1) {
            return Some(format!("{} holds {} rows for {} epochs", Table::Epochs.file_name(), c.epochs.len(), s.epoch));
        }
        let ids = c.epochs.iter().map(|r| &r.run_id).chain(c.gradients.iter().map(|r| &r.run_id));
        let ids = ids.chain(c.activations.iter().chain(&c.activation_steps).map(|r| &r.run_id));
        if ids.chain(c.learned.iter().map(|r| &r.run_id)).any(|id| id != self.run_id) {
            return Some(format!("rows of another run than `{}`", self.run_id));
        }
        None
    }
}

/// Loads the checkpoint in `dir` into `model` and `optim`, when there is one
/// for this run and config.
pub fn load(
    dir: &Path,
    expected: &Expected,
    model: Network,
    optim: ModuleOptimizer,
) -> (Network, ModuleOptimizer, Option<Checkpoint>) {
    let files = CheckpointDir::new(dir);
    let Ok(text) = fs::read_to_string(files.state()) else {
        return (model, optim, None);
    };
    let state = match serde_json::from_str::<State>(&text) {
        Ok(state) if state.config_hash == expected.config_hash && state.layout == LAYOUT => state,
        Ok(state) if state.config_hash == expected.config_hash => {
            eprintln!(
                "warning: checkpoint '{}' was written by an older actbench (model layout {}, now {LAYOUT}); the run starts over",
                dir.display(),
                state.layout
            );
            return (model, optim, None);
        }
        // A checkpoint of another config (the config changed): not this run's.
        Ok(_) => return (model, optim, None),
        Err(e) => {
            warn_damaged(dir, &e.to_string());
            return (model, optim, None);
        }
    };
    let loaded = (|| -> anyhow::Result<(Network, ModuleOptimizer, Checkpoint)> {
        let checkpoint = Checkpoint {
            epochs: read(&files.table(Table::Epochs))?,
            gradients: read(&files.table(Table::Gradients))?,
            activations: read(&files.table(Table::Activations))?,
            // Absent from a checkpoint written before these tables existed.
            activation_steps: read_optional(&files.table(Table::ActivationSteps))?,
            learned: read_optional(&files.table(Table::Learned))?,
            state,
        };
        if let Some(why) = expected.mismatch(&checkpoint) {
            anyhow::bail!("{why}");
        }
        // Burn checks every tensor's shape against the model's.
        let loaded_model = model.clone().try_load_file(files.model()).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let optim = optim.clone().load(files.optimizer()).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        Ok((loaded_model, optim, checkpoint))
    })();
    match loaded {
        Ok((model, optim, checkpoint)) => (model, optim, Some(checkpoint)),
        // A damaged checkpoint: start the run over rather than fail it, and say so.
        Err(e) => {
            warn_damaged(dir, &format!("{e:#}"));
            (model, optim, None)
        }
    }
}

fn warn_damaged(dir: &Path, why: &str) {
    eprintln!("warning: checkpoint '{}' is damaged ({why}); the run starts over", dir.display());
}

pub fn remove(dir: &Path) {
    let _ = fs::remove_dir_all(dir);
    let _ = fs::remove_dir_all(sibling(dir, "next"));
}

fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    dir.with_file_name(format!(".{name}.{suffix}"))
}
