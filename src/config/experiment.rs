//! `[experiment]`: the experiment's name (its results folder), its seeds and
//! its backend.

use serde::{Deserialize, Serialize};

use super::error::KeyError;
use super::values::Seeds;
use crate::backend::BackendKind;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Experiment {
    /// Names the results folder; defaults to the config file's stem.
    pub name: String,
    /// One run per seed (and activation, and learning rate).
    pub seeds: Seeds,
    /// Where training runs; `--backend` overrides it.
    pub backend: BackendKind,
    /// The sources of randomness the seed drives; the others are held at
    /// seed [`FIXED_SEED`] in every run. Absent: all of them (Bouthillier
    /// et al. 2021 show that varying one alone understates the spread).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vary: Option<Vec<Source>>,
    /// The seed the sources not in `vary` are held at (a second value
    /// checks that a result does not hang on the one fixed draw).
    #[serde(skip_serializing_if = "is_default_fixed")]
    pub fixed_seed: u64,
}

fn is_default_fixed(seed: &u64) -> bool {
    *seed == FIXED_SEED
}

/// A source of randomness in a run, each drawn from its own seeded stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The initial weights.
    Init,
    /// The batch order and the dropout masks.
    Order,
    /// The train / validation / test split, and a generated dataset's points.
    Split,
    /// The random crops and flips of `data.augment`.
    Augment,
}

/// The seed of a source the experiment holds fixed, unless `fixed_seed` says another.
pub const FIXED_SEED: u64 = 0;

impl Default for Experiment {
    fn default() -> Self {
        Self {
            name: String::new(),
            seeds: Seeds(vec![0]),
            backend: BackendKind::default(),
            vary: None,
            fixed_seed: FIXED_SEED,
        }
    }
}

impl Experiment {
    /// The checks of `[experiment]`.
    pub fn validate(&self) -> Result<(), KeyError> {
        check_folder_name(&self.name).map_err(|why| KeyError::new("experiment.name", why))?;
        if let Some(vary) = &self.vary {
            let mut sorted = vary.clone();
            sorted.sort();
            sorted.dedup();
            if sorted.len() < vary.len() {
                return KeyError::fail("experiment.vary", "names a source twice: name each once");
            }
        }
        if self.fixed_seed != FIXED_SEED && self.vary.is_none() {
            return KeyError::fail(
                "experiment.fixed_seed",
                "holds the sources not in `vary` fixed, but without `vary` every source varies: add `vary`",
            );
        }
        Ok(())
    }

    /// The seed a run of `seed` draws `source` from: its own where the
    /// source varies (every source, without `vary`), else `fixed_seed`.
    pub fn seed_for(&self, source: Source, seed: u64) -> u64 {
        match &self.vary {
            Some(vary) if !vary.contains(&source) => self.fixed_seed,
            _ => seed,
        }
    }
}

/// The longest experiment name, in characters: it names a folder, and file
/// systems allow 255 bytes per name.
pub const MAX_NAME_CHARS: usize = 100;

/// Whether `name` can name the results folder on every common file system;
/// the error quotes it escaped (a NUL or a newline is never printed).
fn check_folder_name(name: &str) -> Result<(), String> {
    let quoted = format!("{name:?}");
    let chars = name.chars().count();
    let why = if chars > MAX_NAME_CHARS {
        format!("is {chars} characters long; keep it to {MAX_NAME_CHARS}")
    } else if name.chars().any(char::is_control) {
        format!("{quoted} holds a control character (a NUL, a newline, ...)")
    } else if name.contains(['/', '\\', '<', '>', ':', '"', '|', '?', '*']) || name == "." || name == ".." {
        format!("{quoted} cannot name a folder")
    } else if name.trim() != name || name.starts_with('.') {
        format!("{quoted} starts or ends with a space, or starts with a dot")
    } else {
        return Ok(());
    };
    Err(format!("{why}: use letters, digits, `-` and `_`, e.g. \"relu_vs_sigmoid\""))
}
