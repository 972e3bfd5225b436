//! Datasets held in memory as flat `f32` features and `i64` labels, and the
//! seeded train/validation/test split.

mod digits;
mod split;
mod synthetic;

pub use split::{Splits, split};

use crate::config::{self, DatasetKind};

/// Samples in row-major order: `features[i * n_features..][..n_features]` is sample `i`.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub features: Vec<f32>,
    pub labels: Vec<i64>,
    pub n_features: usize,
    pub n_classes: usize,
}

impl Dataset {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
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

/// The whole dataset a config names; synthetic sets are generated from `seed`.
pub fn load(data: &config::Data, seed: u64) -> Dataset {
    match data.dataset {
        DatasetKind::Digits => digits::load(),
        DatasetKind::Spirals => synthetic::spirals(data.samples.0, data.noise.0, seed),
        DatasetKind::Xor => synthetic::xor(data.samples.0, data.noise.0, seed),
        DatasetKind::Circles => synthetic::circles(data.samples.0, data.noise.0, seed),
    }
}
