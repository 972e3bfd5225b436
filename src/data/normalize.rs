//! Input normalisation: per-channel standardisation with the training set's
//! mean and standard deviation (as torchvision's `Normalize` with MNIST's
//! 0.1307/0.3081), or the symmetric [-1, 1] scaling of `Normalize(0.5, 0.5)`.

use serde::{Deserialize, Serialize};

use super::Dataset;

/// How inputs are scaled before training (pixels are loaded in [0, 1]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Normalize {
    /// As loaded.
    None,
    /// Per channel: (x - mean) / std, with `data.mean` and `data.std`.
    Standard,
    /// 2x - 1, i.e. pixels in [-1, 1] (torchvision `Normalize(0.5, 0.5)`).
    Symmetric,
}

/// Per-channel mean and standard deviation (per feature when the samples are not images).
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
}

/// Channels of a sample and values per channel.
fn layout(d: &Dataset) -> (usize, usize) {
    match d.image {
        Some([c, h, w]) => (c, h * w),
        None => (d.n_features, 1),
    }
}

/// Mean and (population) standard deviation of every channel over all samples,
/// summed in f64 so the result does not depend on the order of the samples' chunks.
pub fn channel_stats(d: &Dataset) -> Stats {
    let (channels, per_channel) = layout(d);
    let mut sum = vec![0.0f64; channels];
    let mut sum_sq = vec![0.0f64; channels];
    for sample in d.features.chunks_exact(d.n_features) {
        for (c, values) in sample.chunks_exact(per_channel).enumerate() {
            for &v in values {
                sum[c] += v as f64;
                sum_sq[c] += (v as f64) * (v as f64);
            }
        }
    }
    let n = (d.len() * per_channel).max(1) as f64;
    let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
    let std = sum_sq.iter().zip(&mean).map(|(sq, m)| (sq / n - m * m).max(0.0).sqrt()).collect();
    Stats { mean, std }
}

/// Normalises the features in place; `stats` is required for `Standard`.
pub fn apply(d: &mut Dataset, how: Normalize, stats: Option<&Stats>) {
    let (_, per_channel) = layout(d);
    match how {
        Normalize::None => {}
        Normalize::Symmetric => d.features.iter_mut().for_each(|v| *v = 2.0 * *v - 1.0),
        Normalize::Standard => {
            let stats = stats.expect("standard normalisation is resolved with its statistics");
            // A constant channel (std 0) is only centred.
            let scale: Vec<f32> = stats.std.iter().map(|&s| if s > 0.0 { (1.0 / s) as f32 } else { 1.0 }).collect();
            let mean: Vec<f32> = stats.mean.iter().map(|&m| m as f32).collect();
            let n_features = d.n_features;
            for sample in d.features.chunks_exact_mut(n_features) {
                for (c, values) in sample.chunks_exact_mut(per_channel).enumerate() {
                    for v in values {
                        *v = (*v - mean[c]) * scale[c];
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standardised_channels_have_zero_mean_and_unit_std() {
        let features: Vec<f32> = (0..2 * 3 * 4).map(|i| ((i * 7) % 11) as f32 / 10.0).collect();
        let mut d =
            Dataset { features, labels: vec![0, 1], n_features: 12, n_classes: 2, image: Some([3, 2, 2]), vocab: None };
        let stats = channel_stats(&d);
        assert_eq!(stats.mean.len(), 3);
        apply(&mut d, Normalize::Standard, Some(&stats));
        let after = channel_stats(&d);
        for c in 0..3 {
            assert!(after.mean[c].abs() < 1e-6 && (after.std[c] - 1.0).abs() < 1e-5, "{after:?}");
        }
    }
}
