//! Stage one: the config -> the plan, every run of the grid with its config
//! hash, and the config with what all runs share resolved (the
//! normalisation, with its statistics measured on the training part of the
//! dataset). A plan depends on the config and the data alone, never on
//! which runs are trained now, so every subset of it (a `--jobs` worker, a
//! resumed grid) trains the same runs the same way.

use std::path::Path;

use crate::config::{Config, Normalize};
use crate::data;
use crate::grid::{self, RunSpec};
use crate::manifest;

use super::data_cache::DataCache;

/// One run of the plan.
#[derive(Debug, Clone)]
pub struct PlannedRun {
    pub spec: RunSpec,
    /// FNV-1a of the run's own config (manifest.rs): equal hashes, same run.
    pub hash: String,
}

#[derive(Debug, Clone)]
pub struct Plan {
    /// The config as every run uses it: the normalisation resolved, with its statistics.
    pub config: Config,
    /// In grid order: activation, then learning rate, then seed.
    pub runs: Vec<PlannedRun>,
}

/// Plans `config`, loading its dataset once (kept for training in the returned cache).
pub(super) fn plan(config: &Config, data_dir: &Path) -> anyhow::Result<(Plan, DataCache)> {
    let specs = grid::expand(config);
    let mut config = config.clone();
    // A set generated from the seed is measured on the grid's first seed, as the experiment's own.
    let first_seed = specs.first().map_or(0, |r| r.seed);
    let source = config.data.load(data_dir, first_seed)?;
    resolve_normalization(&mut config, &source, first_seed);
    let cache = DataCache::new(&config, source, data_dir);
    let batch = config.training.batch_size.0;
    let train_samples = cache.train_samples(&config);
    if batch > train_samples {
        anyhow::bail!(
            "key `training.batch_size` ({batch}) is larger than the training split ({train_samples} samples of {}): lower it",
            config.data.dataset.name()
        );
    }
    let runs = specs.into_iter().map(|spec| PlannedRun { hash: manifest::config_hash(&config, &spec), spec }).collect();
    Ok((Plan { config, runs }, cache))
}

/// Writes the normalisation into `config` (the dataset's default when the
/// config names none) and, for `standard` without given values, the mean
/// and std measured on the training part of `source` (a pooled set's
/// training split of the grid's first seed: one set of statistics for every
/// run, and no test sample in it).
fn resolve_normalization(config: &mut Config, source: &data::Source, first_seed: u64) {
    let how = config.data.normalize.unwrap_or(config.data.dataset.default_normalize());
    config.data.normalize = Some(how);
    if how == Normalize::Standard && (config.data.mean.is_none() || config.data.std.is_none()) {
        let part = source.training_part(config.data.test_split.0, config.data.validation_split.0, first_seed);
        let stats = data::channel_stats(&part);
        config.data.mean.get_or_insert(stats.mean);
        config.data.std.get_or_insert(stats.std);
    }
}

/// The resolved config's normalisation statistics.
pub(super) fn stats_of(config: &Config) -> data::Stats {
    data::Stats { mean: config.data.mean.clone().unwrap_or_default(), std: config.data.std.clone().unwrap_or_default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_statistics_of_a_pool_come_from_its_training_split_alone() {
        let config = Config::parse("[data]\nnormalize = \"standard\"\n", Path::new("t.toml"), "t").unwrap();
        let dir = Path::new("data");
        let (plan, _) = plan(&config, dir).unwrap();
        let source = config.data.load(dir, 0).unwrap();
        let data::Source::Pooled(all) = &source else { panic!("digits is one pool") };
        let (test, validation) = (config.data.test_split.0, config.data.validation_split.0);
        let train = data::split(&source, test, validation, 0).train;
        let (from_train, from_pool) = (data::channel_stats(&train), data::channel_stats(all));
        assert_eq!(plan.config.data.mean, Some(from_train.mean.clone()));
        assert_eq!(plan.config.data.std, Some(from_train.std));
        assert_ne!(from_train.mean, from_pool.mean, "the pool's statistics include the test samples");
    }
}
