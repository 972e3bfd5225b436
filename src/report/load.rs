//! Reads a results folder back: the resolved config and the CSVs, so a
//! report can be rebuilt without training again.

use crate::config::Config;
use crate::export::csv::{read_optional_rows as read_optional, read_rows as read};
use crate::records::{ActivationRecord, EpochRecord, GradientRecord, LearnedRecord, RunSummary};
use crate::results_dir::{ResultsDir, Table};

/// Everything a report is built from.
pub struct Results {
    pub config: Config,
    pub summaries: Vec<RunSummary>,
    pub epochs: Vec<EpochRecord>,
    pub gradients: Vec<GradientRecord>,
    pub activations: Vec<ActivationRecord>,
    /// The same every `logging.activation_every_steps` steps (empty without).
    pub activation_steps: Vec<ActivationRecord>,
    /// Learned parameters of formula activations per epoch (empty without).
    pub learned: Vec<LearnedRecord>,
}

impl Results {
    pub fn load(dir: &ResultsDir) -> anyhow::Result<Self> {
        let summary = dir.table(Table::Summary);
        if !summary.is_file() {
            anyhow::bail!(
                "'{}' holds no {}: give the folder an experiment wrote (e.g. results/relu_vs_sigmoid)",
                dir.root().display(),
                Table::Summary.file_name()
            );
        }
        let config = Config::load(&dir.config())?;
        let summaries: Vec<RunSummary> = read(&summary)?;
        if summaries.is_empty() {
            anyhow::bail!("'{}' holds no run: train the experiment first", summary.display());
        }
        Ok(Self {
            config,
            summaries,
            epochs: read(&dir.table(Table::Epochs))?,
            gradients: read_optional(&dir.table(Table::Gradients))?,
            activations: read_optional(&dir.table(Table::Activations))?,
            activation_steps: read_optional(&dir.table(Table::ActivationSteps))?,
            learned: read_optional(&dir.table(Table::Learned))?,
        })
    }
}
