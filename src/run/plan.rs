//! Stage one: the config -> the plan, every run of the grid with its config
//! hash, and the config with what all runs share resolved (the
//! normalisation, with its statistics measured on the training part of the
//! dataset). A plan depends on the config and the data alone, never on
//! which runs are trained now, so every subset of it (a `--jobs` worker, a
//! resumed grid) trains the same runs the same way.

use std::path::Path;

use crate::config::Config;
use crate::data;
use crate::data::Normalize;
use crate::data::settings::Data;
use crate::grid::{self, RunSpec};
use crate::results::manifest;

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
    /// The experiment's config as written next to the results: without a
    /// sweep of `data.` keys, with the normalisation resolved (statistics
    /// included), which every point then shares.
    pub config: Config,
    /// Each sweep point's config, resolved (one point without a sweep).
    pub points: Vec<Config>,
    /// In grid order: activation, then sweep point, then learning rate, then seed.
    pub runs: Vec<PlannedRun>,
}

impl Plan {
    /// The resolved config `run` trains with.
    pub fn config_of(&self, run: &PlannedRun) -> &Config {
        &self.points[run.spec.point]
    }
}

/// Plans `config`, loading each dataset once (kept for training in the returned cache).
pub(super) fn plan(config: &Config, data_dir: &Path) -> anyhow::Result<(Plan, DataCache)> {
    let specs = grid::expand(config);
    // A set generated from the seed is measured on the grid's first seed, as the experiment's own.
    let first_seed = specs.first().map_or(0, |r| r.seed);
    let (config, points, sources) = resolve(config, data_dir, first_seed, true)?;
    let cache = DataCache::new(&points, sources, data_dir);
    for (p, point) in points.iter().enumerate() {
        let batch = point.training.batch_size.0;
        let train_samples = cache.train_samples(p, point);
        if batch > train_samples {
            anyhow::bail!(
                "key `training.batch_size` ({batch}) is larger than the training split ({train_samples} samples of {}): lower it",
                point.data.dataset.name()
            );
        }
    }
    let runs = specs
        .into_iter()
        .map(|spec| PlannedRun { hash: manifest::config_hash(&points[spec.point], &spec), spec })
        .collect();
    Ok((Plan { config, points, runs }, cache))
}

/// The config with its normalisation resolved where all points share the
/// data, and every point's config resolved; with `keep`, each point's
/// dataset as loaded (one `Some` per distinct data section, the first
/// point that has it). The data is read only where a statistic must be
/// measured, or `keep` asks for it.
pub(super) fn resolve(
    config: &Config,
    data_dir: &Path,
    first_seed: u64,
    keep: bool,
) -> anyhow::Result<(Config, Vec<Config>, Vec<Option<data::Source>>)> {
    let mut config = config.clone();
    let mut sources = Vec::new();
    if !config.sweep.sweeps_data() {
        let source = load_if(&config, data_dir, first_seed, keep)?;
        if let Some(source) = &source {
            resolve_normalization(&mut config, source, first_seed);
        }
        config.data.normalize = Some(config.data.normalize.unwrap_or(config.data.dataset.default_normalize()));
        sources.push(source);
        let points = config.points();
        sources.resize_with(points.len(), || None);
        return Ok((config, points, sources));
    }
    let mut points = config.points();
    let mut resolved: Vec<(Data, Data)> = Vec::new();
    for point in &mut points {
        if let Some((_, done)) = resolved.iter().find(|(given, _)| *given == point.data) {
            point.data = done.clone();
            sources.push(None);
            continue;
        }
        let given = point.data.clone();
        let source = load_if(point, data_dir, first_seed, keep)?;
        if let Some(source) = &source {
            resolve_normalization(point, source, first_seed);
        }
        point.data.normalize = Some(point.data.normalize.unwrap_or(point.data.dataset.default_normalize()));
        resolved.push((given, point.data.clone()));
        sources.push(source);
    }
    Ok((config, points, sources))
}

/// `config`'s dataset, when kept or needed for its statistics.
fn load_if(config: &Config, data_dir: &Path, seed: u64, keep: bool) -> anyhow::Result<Option<data::Source>> {
    let how = config.data.normalize.unwrap_or(config.data.dataset.default_normalize());
    let measure = how == Normalize::Standard && (config.data.mean.is_none() || config.data.std.is_none());
    let text = config.data.dataset.is_text();
    let source = if keep || measure || text { Some(config.data.load(data_dir, seed)?) } else { None };
    if let Some(data::Source::Text(all)) = &source {
        check_text_parts(config, all.len())?;
    }
    Ok(source)
}

/// Every part of a text holds at least one window of `block_size + 1`
/// tokens (a window and the token after it), or the plan stops here.
fn check_text_parts(config: &Config, tokens: usize) -> anyhow::Result<()> {
    let Some(block) = crate::train::text_block(config) else { return Ok(()) };
    let data = &config.data;
    let (train, validation, test) = data::split_sizes(tokens, data.test_split.0, data.validation_split.0);
    let train = data.train_limit(train);
    let source = match &data.path {
        Some(path) => format!("'{}'", path.display()),
        None => format!("`{}`", data.dataset.name()),
    };
    for (part, n, key) in [
        ("training", train, "data.train_samples"),
        ("validation", validation, "data.validation_split"),
        ("test", test, "data.test_split"),
    ] {
        if n < block + 1 {
            anyhow::bail!(
                "the {part} part of {source} holds {n} tokens, fewer than one window of model.block_size + 1 = {}: use a longer text, a smaller model.block_size, or change {key}",
                block + 1
            );
        }
    }
    Ok(())
}

/// Writes the normalisation into `config` (the dataset's default when the
/// config names none) and, for `standard` without given values, the mean
/// and std measured on the training part of `source` (a pooled set's
/// training split of the grid's first seed: one set of statistics for every
/// run, and no test sample in it).
fn resolve_normalization(config: &mut Config, source: &data::Source, first_seed: u64) {
    let how = config.data.normalize.unwrap_or(config.data.dataset.default_normalize());
    if how == Normalize::Standard && (config.data.mean.is_none() || config.data.std.is_none()) {
        let part = source.training_part(config.data.test_split.0, config.data.validation_split.0, first_seed);
        let stats = data::channel_stats(&part);
        config.data.mean.get_or_insert(stats.mean);
        config.data.std.get_or_insert(stats.std);
    }
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
