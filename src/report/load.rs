//! Reads a results folder back: the resolved config and the CSVs, so a
//! report can be rebuilt without training again.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::config::Config;
use crate::experiment::{ACTIVATIONS_FILE, CONFIG_FILE, EPOCHS_FILE, GRADIENTS_FILE, SUMMARY_FILE};
use crate::export::csv::read_rows as read;
use crate::records::{ActivationRecord, EpochRecord, GradientRecord, RunSummary};

/// Everything a report is built from.
pub struct Results {
    pub dir: PathBuf,
    pub config: Config,
    pub summaries: Vec<RunSummary>,
    pub epochs: Vec<EpochRecord>,
    pub gradients: Vec<GradientRecord>,
    pub activations: Vec<ActivationRecord>,
}

impl Results {
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        if !dir.join(SUMMARY_FILE).is_file() {
            anyhow::bail!(
                "'{}' holds no {SUMMARY_FILE}: give the folder an experiment wrote (e.g. results/relu_vs_sigmoid)",
                dir.display()
            );
        }
        let config_path = dir.join(CONFIG_FILE);
        let config = Config::load(&config_path)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            config,
            summaries: read(&dir.join(SUMMARY_FILE))?,
            epochs: read(&dir.join(EPOCHS_FILE))?,
            gradients: read_optional(&dir.join(GRADIENTS_FILE))?,
            activations: read_optional(&dir.join(ACTIVATIONS_FILE))?,
        })
    }
}

fn read_optional<T: DeserializeOwned>(path: &Path) -> anyhow::Result<Vec<T>> {
    if path.is_file() { read(path) } else { Ok(Vec::new()) }
}
