//! Datasets held in memory as flat `f32` features and `i64` labels: the
//! table of datasets (catalog.rs: the embedded digits, generated 2-D sets,
//! and the benchmark sets read from files, MNIST, Fashion-MNIST, CIFAR-10);
//! input normalisation; the seeded train/validation/test split;
//! augmentation of training batches.

pub mod augment;
pub mod catalog;
pub mod cifar;
mod digits;
pub mod fetch;
pub mod files;
pub mod idx;
mod normalize;
pub mod settings;
mod split;
mod synthetic;
pub mod text;

use std::path::Path;

pub use catalog::{DatasetInfo, DatasetKind};
pub use files::DataError;
pub use normalize::{Normalize, Stats, channel_stats};
pub use split::{Splits, split_sizes};

/// Samples in row-major order: `features[i * n_features..][..n_features]` is sample `i`.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub features: Vec<f32>,
    pub labels: Vec<i64>,
    pub n_features: usize,
    pub n_classes: usize,
    /// `[channels, height, width]` when a sample is an image (stored channel-major).
    pub image: Option<[usize; 3]>,
    /// A text set (text.rs): `labels` is a stream of token ids, one per
    /// character or byte, and these are their symbols; there are no features.
    pub vocab: Option<std::sync::Arc<text::Vocab>>,
}

impl Dataset {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The same kind of dataset with no samples.
    pub fn clone_empty(&self) -> Dataset {
        Dataset {
            features: Vec::new(),
            labels: Vec::new(),
            n_features: self.n_features,
            n_classes: self.n_classes,
            image: self.image,
            vocab: self.vocab.clone(),
        }
    }

    /// The samples at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> Dataset {
        let d = self.n_features;
        let mut features = Vec::with_capacity(indices.len() * d);
        for &i in indices {
            features.extend_from_slice(&self.features[i * d..(i + 1) * d]);
        }
        Dataset {
            features,
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            n_features: d,
            n_classes: self.n_classes,
            image: self.image,
            vocab: self.vocab.clone(),
        }
    }

    /// Samples per class.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.n_classes];
        for &label in &self.labels {
            counts[label as usize] += 1;
        }
        counts
    }
}

/// A dataset as it comes: one pool that the seed splits three ways, an
/// official training set (split into training and validation) and test
/// set, or a stream of text cut three ways by position.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    Pooled(Dataset),
    Fixed { train: Dataset, test: Dataset },
    Text(Dataset),
}

impl Source {
    /// The samples that statistics such as the normalisation may see: the
    /// official training set, or for a pooled set the training split of
    /// `seed` (as `split` draws it), never its validation or test samples.
    pub fn training_part(&self, test_share: f64, validation_share: f64, seed: u64) -> std::borrow::Cow<'_, Dataset> {
        match self {
            Source::Pooled(all) => std::borrow::Cow::Owned(split::split(all, test_share, validation_share, seed).train),
            Source::Fixed { train, .. } => std::borrow::Cow::Borrowed(train),
            Source::Text(all) => std::borrow::Cow::Owned(text::split(all, test_share, validation_share).train),
        }
    }

    /// The parts whose features a normalisation scales (a text set has none).
    fn parts_mut(&mut self) -> Vec<&mut Dataset> {
        match self {
            Source::Pooled(all) => vec![all],
            Source::Fixed { train, test } => vec![train, test],
            Source::Text(_) => vec![],
        }
    }
}

/// A dataset as loaded (pixels in [0, 1]): a generated set is drawn from
/// `seed` (`samples` points with Gaussian `noise`), a file set is read from
/// `data_dir`, a user's text from `text_file` (its path and tokens).
pub fn load(
    dataset: DatasetKind,
    samples: usize,
    noise: f64,
    data_dir: &Path,
    seed: u64,
    text_file: Option<(&Path, text::Tokens)>,
) -> Result<Source, DataError> {
    Ok(match &dataset.info().origin {
        catalog::Origin::Embedded(load) => Source::Pooled(load()),
        catalog::Origin::Generated(generate) => Source::Pooled(generate(samples, noise, seed)),
        catalog::Origin::Files(files) => (files.read)(dataset, data_dir)?,
        catalog::Origin::UserText => match text_file {
            Some((path, tokens)) => text::load_file(dataset, path, tokens)?,
            None => unreachable!("the config check requires data.path for `{dataset}`"),
        },
    })
}

/// Applies the config's (resolved) normalisation to every part in place.
pub fn normalize(source: &mut Source, how: Normalize, stats: Option<&Stats>) {
    for part in source.parts_mut() {
        normalize::apply(part, how, stats);
    }
}

/// The seeded split: a pool is cut three ways by `test_share` and
/// `validation_share`; an official training set gives up `validation_share`
/// of itself and the official test set stays the test set.
pub fn split(source: &Source, test_share: f64, validation_share: f64, seed: u64) -> Splits {
    match source {
        Source::Pooled(all) => split::split(all, test_share, validation_share, seed),
        Source::Fixed { train, test } => {
            let mut parts = split::split(train, 0.0, validation_share, seed);
            parts.test = test.clone();
            parts
        }
        Source::Text(all) => text::split(all, test_share, validation_share),
    }
}

/// `n` samples of one feature, numbered, two classes (for tests).
#[cfg(test)]
pub(crate) fn numbered(n: usize) -> Dataset {
    Dataset {
        features: (0..n).map(|i| i as f32).collect(),
        labels: (0..n).map(|i| (i % 2) as i64).collect(),
        n_features: 1,
        n_classes: 2,
        image: None,
        vocab: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_is_a_share_of_the_pool_or_of_the_official_training_set() {
        // As the config reference (docs/src/reference/config.md) says: a pool gives up both shares of all its samples...
        let pooled = split(&Source::Pooled(numbered(1000)), 0.2, 0.1, 0);
        assert_eq!((pooled.train.len(), pooled.validation.len(), pooled.test.len()), (700, 100, 200));
        // ... a set with its own test set gives up the validation share of its training set.
        let fixed = split(&Source::Fixed { train: numbered(1000), test: numbered(300) }, 0.2, 0.1, 0);
        assert_eq!((fixed.train.len(), fixed.validation.len(), fixed.test.len()), (900, 100, 300));
    }
}
