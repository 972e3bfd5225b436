//! Reads a results folder back: the resolved config and the CSVs, so a
//! report can be rebuilt without training again.

use crate::config::Config;
use crate::export::csv::{read_optional_rows as read_optional, read_rows as read};
use crate::results::dir::{ResultsDir, Table};
use crate::results::records::{EpochRecord, RunSummary, SearchRecord};
use crate::train::record::{
    activations::ActivationRecord, gradients::GradientRecord, learned::LearnedRecord, samples::SampleRecord,
};

/// Everything a report is built from.
#[derive(Clone)]
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
    /// A language model's generated text, one per run (empty without).
    pub samples: Vec<SampleRecord>,
    /// With `[search]`: search.csv, and the search stage's run summaries.
    pub search: Vec<SearchRecord>,
    pub search_runs: Vec<RunSummary>,
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
            samples: read_optional(&dir.table(Table::Samples))?,
            search: read_search(&dir.search_table())?,
            search_runs: read_optional(&dir.search().table(Table::Summary))?,
        })
    }
}

/// search.csv's rows (none without the file); a damaged one is an error naming it.
fn read_search(path: &std::path::Path) -> anyhow::Result<Vec<SearchRecord>> {
    if !path.is_file() {
        return Ok(Vec::new());
    }
    let damaged = |e: &dyn std::fmt::Display| anyhow::anyhow!("'{}' is damaged: {e}", path.display());
    let mut reader = ::csv::Reader::from_path(path).map_err(|e| damaged(&e))?;
    let header: Vec<String> = reader.headers().map_err(|e| damaged(&e))?.iter().map(str::to_string).collect();
    // This version's columns, or those of a search.csv written before `val_loss` was added.
    let columns = <SearchRecord as crate::results::records::Columns>::COLUMNS;
    let earlier: Vec<&str> = columns.iter().copied().filter(|c| *c != "val_loss").collect();
    if header != columns && header != earlier {
        return Err(damaged(&"its header is not search.csv's"));
    }
    reader.deserialize().collect::<Result<_, _>>().map_err(|e| damaged(&e))
}
