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

use crate::export::{atomic, csv};
use crate::model::Network;
use crate::results::dir::{CheckpointDir, Table};
use crate::results::records::{EpochRecord, Row};

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
/// 2: the network became one of the model kinds (model::Network's variants),
/// with norms beside the layers.
pub const LAYOUT: u32 = 2;

/// A run resumed from its checkpoint: the model and optimizer loaded, where
/// the loop stands, the epochs so far, and what `restore` made of the other
/// tables (the recorders, train/record/).
pub struct Resumed<R> {
    pub model: Network,
    pub optim: ModuleOptimizer,
    pub state: State,
    pub epochs: Vec<EpochRecord>,
    pub restored: R,
}

/// A table of the checkpoint being loaded, read when its recorder asks for its rows.
pub struct SavedTable<'a> {
    files: &'a CheckpointDir,
    table: Table,
    run_id: &'a str,
}

impl SavedTable<'_> {
    /// Its rows: none when a checkpoint written before the table existed
    /// lacks it ([`Table::optional`]); an error when one is another run's.
    pub fn rows<T: Row>(&self) -> anyhow::Result<Vec<T>> {
        let path = self.files.table(self.table);
        let rows: Vec<T> = if self.table.optional() { csv::read_optional_rows(&path)? } else { csv::read_rows(&path)? };
        if rows.iter().any(|r| r.run_id() != self.run_id) {
            anyhow::bail!("rows of another run than `{}`", self.run_id);
        }
        Ok(rows)
    }
}

/// The checkpoint being loaded, as the recorders restore their rows from it.
pub struct Saved<'a> {
    files: &'a CheckpointDir,
    run_id: &'a str,
}

impl Saved<'_> {
    pub fn table(&self, table: Table) -> SavedTable<'_> {
        SavedTable { files: self.files, table, run_id: self.run_id }
    }
}

/// Writes a checkpoint into `dir`, replacing the previous one; `tables`
/// are each table's CSV text, header included (epochs.csv and the recorders').
pub fn save(
    dir: &Path,
    state: &State,
    model: &Network,
    optim: &ModuleOptimizer,
    tables: &[(Table, String)],
) -> anyhow::Result<()> {
    let next = CheckpointDir::new(sibling(dir, "next"));
    let _ = fs::remove_dir_all(next.path());
    fs::create_dir_all(next.path())?;
    model.clone().save_file(next.model()).map_err(|e| anyhow::anyhow!("model: {e:?}"))?;
    optim.save(next.optimizer()).map_err(|e| anyhow::anyhow!("optimizer: {e:?}"))?;
    for (table, text) in tables {
        atomic::write_string(&next.table(*table), text)?;
    }
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
    /// Why a checkpoint's state and epochs cannot be this run's, if they cannot
    /// (each recorder's rows are checked as they are restored, [`SavedTable::rows`]).
    fn mismatch(&self, s: &State, epochs: &[EpochRecord]) -> Option<String> {
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
        if epochs.len() != s.epoch || epochs.iter().enumerate().any(|(i, r)| r.epoch != i + 1) {
            return Some(format!("{} holds {} rows for {} epochs", Table::Epochs.file_name(), epochs.len(), s.epoch));
        }
        if epochs.iter().any(|r| r.run_id != self.run_id) {
            return Some(format!("rows of another run than `{}`", self.run_id));
        }
        None
    }
}

/// Loads the checkpoint in `dir`, when there is one for this run and
/// config, into copies of `model` and `optim`; `restore` builds the
/// recorders from its tables, and an error there, as anywhere, means the run
/// starts over.
pub fn load<R>(
    dir: &Path,
    expected: &Expected,
    model: &Network,
    optim: &ModuleOptimizer,
    restore: impl FnOnce(&Saved) -> anyhow::Result<R>,
) -> Option<Resumed<R>> {
    let files = CheckpointDir::new(dir);
    let text = fs::read_to_string(files.state()).ok()?;
    let state = match serde_json::from_str::<State>(&text) {
        Ok(state) if state.config_hash == expected.config_hash && state.layout == LAYOUT => state,
        Ok(state) if state.config_hash == expected.config_hash => {
            eprintln!(
                "warning: checkpoint '{}' was written by an older actbench (model layout {}, now {LAYOUT}); the run starts over",
                dir.display(),
                state.layout
            );
            return None;
        }
        // A checkpoint of another config (the config changed): not this run's.
        Ok(_) => return None,
        Err(e) => {
            warn_damaged(dir, &e.to_string());
            return None;
        }
    };
    let loaded = (|| -> anyhow::Result<Resumed<R>> {
        let epochs: Vec<EpochRecord> = csv::read_rows(&files.table(Table::Epochs))?;
        if let Some(why) = expected.mismatch(&state, &epochs) {
            anyhow::bail!("{why}");
        }
        let restored = restore(&Saved { files: &files, run_id: expected.run_id })?;
        // Burn checks every tensor's shape against the model's.
        let model = model.clone().try_load_file(files.model()).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let optim = optim.clone().load(files.optimizer()).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        Ok(Resumed { model, optim, state, epochs, restored })
    })();
    // A damaged checkpoint: start the run over rather than fail it, and say so.
    loaded.inspect_err(|e| warn_damaged(dir, &format!("{e:#}"))).ok()
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
