//! `[data]`: which dataset, how it is split, scaled and augmented.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::text::Tokens;
use super::{DatasetKind, Normalize};
use crate::config::error::KeyError;
use crate::config::values::{Count, Fraction, NonNegative};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Data {
    /// A name from the dataset table (data/catalog.rs).
    pub dataset: DatasetKind,
    /// Share of the samples held out for the final test accuracy (ignored
    /// by a dataset with its own test set).
    pub test_split: Fraction,
    /// Share of the samples held out for validation after every epoch: of
    /// the whole pool, or of the official training set where a dataset has
    /// its own test set (data::split; tested in data/mod.rs).
    pub validation_split: Fraction,
    /// Synthetic sets only: number of points generated.
    pub samples: Count,
    /// Train on only the first this many samples of the (seeded, shuffled)
    /// training split; validation and test stay whole. Absent: all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub train_samples: Option<Count>,
    /// Train on only this share (0 < share <= 1) of the training split, the
    /// first of it as `train_samples` takes them (rounded, at least one);
    /// validation and test stay whole. Absent: all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub train_share: Option<f64>,
    /// Synthetic sets only: standard deviation of the Gaussian noise added to each point.
    pub noise: NonNegative,
    /// Input scaling; absent = the dataset's usual one (written into the resolved config).
    pub normalize: Option<Normalize>,
    /// `standard` only: per-channel mean and standard deviation of the inputs;
    /// absent = measured on the training set (and written into the resolved config).
    pub mean: Option<Vec<f64>>,
    pub std: Option<Vec<f64>>,
    /// Image sets: random crop (4-pixel padding) and horizontal flip of every training batch.
    pub augment: bool,
    /// `dataset = "text"` only: the text file to read (relative to the
    /// current folder), cut by position into training, validation and test.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<std::path::PathBuf>,
    /// `dataset = "text"` only: `chars` (the default; the file must be
    /// UTF-8) or `bytes` (any file, 256 symbols).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens: Option<Tokens>,
}

impl Default for Data {
    fn default() -> Self {
        Self {
            dataset: DatasetKind::named("digits"),
            test_split: Fraction(0.2),
            validation_split: Fraction(0.1),
            samples: Count(1000),
            train_samples: None,
            train_share: None,
            noise: NonNegative(0.1),
            normalize: None,
            mean: None,
            std: None,
            augment: false,
            path: None,
            tokens: None,
        }
    }
}

impl Data {
    /// The dataset as loaded (see `data::load`): a generated set drawn from `seed`.
    pub fn load(&self, data_dir: &Path, seed: u64) -> Result<super::Source, super::DataError> {
        let text_file = self.path.as_deref().map(|p| (p, self.tokens.unwrap_or_default()));
        super::load(self.dataset, self.samples.0, self.noise.0, data_dir, seed, text_file)
    }

    /// Samples trained on of a training split of `train`: all of them, or
    /// `train_samples` / `train_share` of them.
    pub fn train_limit(&self, train: usize) -> usize {
        match (self.train_samples, self.train_share) {
            (Some(n), _) => n.0.min(train),
            (None, Some(share)) => ((share * train as f64).round() as usize).clamp(1.min(train), train),
            (None, None) => train,
        }
    }

    /// The normalisation statistics the section gives (resolved by the plan).
    pub fn stats(&self) -> super::Stats {
        super::Stats { mean: self.mean.clone().unwrap_or_default(), std: self.std.clone().unwrap_or_default() }
    }

    /// The checks of `[data]` across its keys.
    pub fn validate(&self) -> Result<(), KeyError> {
        let data = self;
        let held_out = data.test_split.0 + data.validation_split.0;
        if held_out >= 0.9 {
            return KeyError::fail(
                "data.validation_split",
                format!("together with data.test_split holds out {held_out:.2} of the data: keep the sum below 0.9"),
            );
        }
        let dataset = data.dataset.name();
        // Keys of another kind of dataset are refused, not ignored (and
        // written into the resolved config as if they had done something).
        let default = Data::default();
        if !data.dataset.is_generated() {
            for (key, given) in [("samples", data.samples != default.samples), ("noise", data.noise != default.noise)] {
                if given {
                    return KeyError::fail(
                        format!("data.{key}"),
                        format!(
                            "applies to generated datasets only; `{dataset}` has its own samples: remove it (to train on fewer, use data.train_samples or data.train_share)"
                        ),
                    );
                }
            }
        }
        if data.dataset.has_own_test_set() && data.test_split != default.test_split {
            return KeyError::fail(
                "data.test_split",
                format!("does not apply to `{dataset}`, which has its own test set: remove it"),
            );
        }
        if data.dataset.is_user_file() && data.path.is_none() {
            return KeyError::fail(
                "data.path",
                "is missing: `dataset = \"text\"` reads your own text file; give its path, e.g. path = \"corpus.txt\"",
            );
        }
        for (key, given) in [("path", data.path.is_some()), ("tokens", data.tokens.is_some())] {
            if given && !data.dataset.is_user_file() {
                return KeyError::fail(
                    format!("data.{key}"),
                    format!("applies to `dataset = \"text\"` only, not `{dataset}`: remove it"),
                );
            }
        }
        if data.dataset.is_text() {
            let how = data.normalize.unwrap_or(Normalize::None);
            if how != Normalize::None || data.mean.is_some() || data.std.is_some() {
                let key = if data.normalize.is_some() { "data.normalize" } else { "data.mean" };
                return KeyError::fail(
                    key,
                    format!("does not apply to `{dataset}`: a text has no features to scale; remove it"),
                );
            }
        }
        if let Some(share) = data.train_share {
            if !(share > 0.0 && share <= 1.0) {
                return KeyError::fail("data.train_share", format!("must be a share in (0, 1], got {share}"));
            }
            if data.train_samples.is_some() {
                return KeyError::fail(
                    "data.train_share",
                    "and data.train_samples both limit the training split: keep one",
                );
            }
        }
        if data.augment && data.dataset.image().is_none() {
            return KeyError::fail(
                "data.augment",
                format!("needs an image dataset; `{dataset}` is not one: remove the key"),
            );
        }
        // A share of 0 holds out no sample: the accuracy measured on it would be NaN.
        if data.test_split.0 == 0.0 && !data.dataset.has_own_test_set() {
            return KeyError::fail(
                "data.test_split",
                format!("is 0, which leaves `{dataset}` (no test set of its own) nothing to test on: use e.g. 0.2"),
            );
        }
        if data.validation_split.0 == 0.0 {
            return KeyError::fail(
                "data.validation_split",
                "is 0, but every epoch's validation accuracy and the activation statistics are measured on it: use e.g. 0.1",
            );
        }
        let standard = data.normalize.unwrap_or(data.dataset.default_normalize()) == Normalize::Standard;
        for (key, values) in [("data.mean", &data.mean), ("data.std", &data.std)] {
            let Some(values) = values else { continue };
            if !standard {
                return KeyError::fail(
                    key,
                    "applies to `normalize = \"standard\"` only: remove it or set data.normalize",
                );
            }
            let want = data.dataset.channels();
            if values.len() != want {
                return KeyError::fail(
                    key,
                    format!("lists {} values; `{dataset}` needs {want} (one per channel)", values.len()),
                );
            }
            if values.iter().any(|v| !v.is_finite()) || (key == "data.std" && values.iter().any(|v| *v <= 0.0)) {
                return KeyError::fail(key, "must hold finite numbers (std > 0)");
            }
        }
        Ok(())
    }
}
