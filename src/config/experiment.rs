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
}

impl Default for Experiment {
    fn default() -> Self {
        Self { name: String::new(), seeds: Seeds(vec![0]), backend: BackendKind::default() }
    }
}

impl Experiment {
    /// The checks of `[experiment]`.
    pub fn validate(&self) -> Result<(), KeyError> {
        check_folder_name(&self.name).map_err(|why| KeyError::new("experiment.name", why))
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
