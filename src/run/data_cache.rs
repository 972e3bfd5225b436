//! The data of a plan while it trains: a dataset read once and normalised
//! (or, for a set generated from the seed, generated per seed), and the
//! split of each seed in use, made once and shared by that seed's runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::Config;
use crate::data::{self, Source, Splits};

pub(super) struct DataCache {
    data_dir: PathBuf,
    /// One per distinct data section among the sweep points.
    slots: Vec<Slot>,
    /// The slot of each sweep point.
    slot_of: Vec<usize>,
}

struct Slot {
    /// Shared by all seeds; `None` for a set generated from each seed.
    shared: Option<Source>,
    /// Splits of the seeds in use (a split nobody holds any more is dropped).
    splits: BTreeMap<u64, Arc<Splits>>,
}

impl DataCache {
    /// `points` have their normalisation resolved (plan.rs); `sources` holds
    /// each distinct data section's dataset as loaded, at its first point.
    pub(super) fn new(points: &[Config], sources: Vec<Option<Source>>, data_dir: &Path) -> Self {
        let mut slots: Vec<Slot> = Vec::new();
        let mut slot_of = Vec::with_capacity(points.len());
        let mut firsts: Vec<usize> = Vec::new();
        for (p, (config, source)) in points.iter().zip(sources).enumerate() {
            if let Some(slot) = firsts.iter().position(|&f| points[f].data == config.data) {
                slot_of.push(slot);
                continue;
            }
            let shared = (!config.data.dataset.is_generated()).then(|| {
                let mut source = source.expect("the plan loads each data section once");
                data::normalize(&mut source, normalization(config), Some(&config.data.stats()));
                source
            });
            firsts.push(p);
            slot_of.push(slots.len());
            slots.push(Slot { shared, splits: BTreeMap::new() });
        }
        Self { data_dir: data_dir.to_path_buf(), slots, slot_of }
    }

    /// Samples in the training split of sweep point `point` (the same for every seed).
    pub(super) fn train_samples(&self, point: usize, config: &Config) -> usize {
        let (test, validation) = (config.data.test_split.0, config.data.validation_split.0);
        config.data.train_limit(match &self.slots[self.slot_of[point]].shared {
            Some(Source::Fixed { train, .. }) => data::split_sizes(train.len(), 0.0, validation).0,
            Some(Source::Pooled(all) | Source::Text(all)) => data::split_sizes(all.len(), test, validation).0,
            None => data::split_sizes(config.data.samples.0, test, validation).0,
        })
    }

    /// The split of `seed` at sweep point `point` (whose config is
    /// `config`), made once while some run of that seed holds it.
    pub(super) fn splits(&mut self, point: usize, config: &Config, seed: u64) -> anyhow::Result<Arc<Splits>> {
        let slot = &mut self.slots[self.slot_of[point]];
        slot.splits.retain(|s, split| *s == seed || Arc::strong_count(split) > 1);
        if let Some(split) = slot.splits.get(&seed) {
            return Ok(Arc::clone(split));
        }
        let split = |source: &Source| {
            let mut splits = data::split(source, config.data.test_split.0, config.data.validation_split.0, seed);
            // `data.train_samples` / `train_share`: the first of the (seeded, shuffled) training split.
            let n = config.data.train_limit(splits.train.len());
            if n < splits.train.len() {
                splits.train = splits.train.subset(&(0..n).collect::<Vec<_>>());
            }
            splits
        };
        let splits = Arc::new(match &slot.shared {
            Some(source) => split(source),
            None => {
                let mut source = config.data.load(&self.data_dir, seed)?;
                data::normalize(&mut source, normalization(config), Some(&config.data.stats()));
                split(&source)
            }
        });
        slot.splits.insert(seed, Arc::clone(&splits));
        Ok(splits)
    }
}

fn normalization(config: &Config) -> crate::data::Normalize {
    config.data.normalize.expect("the plan resolves the normalisation")
}
