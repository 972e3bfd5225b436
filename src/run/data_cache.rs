//! The data of a plan while it trains: a dataset read once and normalised
//! (or, for a set generated from the seed, generated per seed), and the
//! split of each seed in use, made once and shared by that seed's runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::Config;
use crate::data::{self, Source, Splits};

use super::plan::stats_of;

pub(super) struct DataCache {
    /// Shared by all seeds; `None` for a set generated from each seed.
    shared: Option<Source>,
    data_dir: PathBuf,
    /// Splits of the seeds in use (a split nobody holds any more is dropped).
    splits: BTreeMap<u64, Arc<Splits>>,
}

impl DataCache {
    /// `source` as loaded; `config` has its normalisation resolved (plan.rs).
    pub(super) fn new(config: &Config, source: Source, data_dir: &Path) -> Self {
        let shared = (!config.data.dataset.is_generated()).then(|| {
            let mut source = source;
            data::normalize(&mut source, normalization(config), Some(&stats_of(config)));
            source
        });
        Self { shared, data_dir: data_dir.to_path_buf(), splits: BTreeMap::new() }
    }

    /// Samples in the training split (the same for every seed).
    pub(super) fn train_samples(&self, config: &Config) -> usize {
        let (test, validation) = (config.data.test_split.0, config.data.validation_split.0);
        match &self.shared {
            Some(Source::Fixed { train, .. }) => data::split_sizes(train.len(), 0.0, validation).0,
            Some(Source::Pooled(all)) => data::split_sizes(all.len(), test, validation).0,
            None => data::split_sizes(config.data.samples.0, test, validation).0,
        }
    }

    /// The split of `seed`, made once while some run of that seed holds it.
    pub(super) fn splits(&mut self, config: &Config, seed: u64) -> anyhow::Result<Arc<Splits>> {
        self.splits.retain(|s, split| *s == seed || Arc::strong_count(split) > 1);
        if let Some(split) = self.splits.get(&seed) {
            return Ok(Arc::clone(split));
        }
        let split =
            |source: &Source| data::split(source, config.data.test_split.0, config.data.validation_split.0, seed);
        let splits = Arc::new(match &self.shared {
            Some(source) => split(source),
            None => {
                let mut source = config.data.load(&self.data_dir, seed)?;
                data::normalize(&mut source, normalization(config), Some(&stats_of(config)));
                split(&source)
            }
        });
        self.splits.insert(seed, Arc::clone(&splits));
        Ok(splits)
    }
}

fn normalization(config: &Config) -> crate::config::Normalize {
    config.data.normalize.expect("the plan resolves the normalisation")
}
