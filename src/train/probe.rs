//! Activation statistics of every activation site on a fixed probe batch:
//! the distribution of pre-activations (mean, spread, percentiles) and
//! outputs, dead units (the dying-ReLU measure) and saturated units (the
//! sigmoid/tanh measure). Taken at initialisation (epoch 0) and after every
//! epoch; everything is reduced on the device and read back in one transfer.

use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::activation::{self, Activation, ActivationKind};
use crate::data::Dataset;
use crate::model::{Mode, Network, Sites};

/// A unit is saturated when its derivative is below this share of the
/// activation's largest derivative (the book's definition of
/// `saturated_fraction`, "Output files")...
pub const SATURATION_SHARE: f64 = 0.01;
/// ...for more than this share of the probe samples.
pub const SATURATED_SAMPLE_SHARE: f64 = 0.5;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerStats {
    pub units: usize,
    pub pre_mean: f64,
    pub pre_std: f64,
    pub post_mean: f64,
    pub post_std: f64,
    /// Units whose output is zero for every probe sample, or whose derivative is.
    pub dead_fraction: f64,
    /// Units, not dead, whose derivative is below [`SATURATION_SHARE`] of
    /// the maximum for most probe samples.
    pub saturated_fraction: f64,
    /// The [`PERCENTILES`] of the inputs (pre-activations) of the site's first unit.
    pub pre_percentiles: [f64; 3],
    /// The outputs' largest magnitude, excess kurtosis and share beyond
    /// [`OUTLIER_STDS`] standard deviations from their mean, all values pooled.
    pub post_max_abs: f64,
    pub post_kurtosis: f64,
    pub post_beyond_6std: f64,
}

/// An output this many standard deviations from the mean is an outlier
/// (the threshold of Dettmers et al. 2022's LLM.int8() analysis is a
/// magnitude of 6; in standard deviations it holds for any scale).
pub const OUTLIER_STDS: f64 = 6.0;

/// The probe batch on the training device, with the activation's largest
/// derivative (the scale of the saturation threshold).
#[derive(Clone)]
pub struct Probe {
    x: Tensor<2>, // [samples, inputs]
    max_derivative: f64,
}

impl Probe {
    /// The first `samples` validation samples (the split is already shuffled
    /// by the seed); none without validation samples. A text's (windows of
    /// `block`): windows spread over the validation text that hold at least
    /// `samples` tokens.
    pub fn new(
        validation: &Dataset,
        samples: usize,
        block: Option<usize>,
        kind: ActivationKind,
        device: &Device,
        base_device: &Device,
    ) -> Option<Probe> {
        if validation.is_empty() {
            return None;
        }
        let max_derivative = max_derivative(kind, base_device);
        if let Some(block) = block {
            let (x, _) = crate::data::text::windows(&validation.labels, block, Some(samples.div_ceil(block)));
            if x.is_empty() {
                return None;
            }
            let windows = x.len() / block;
            let x = Tensor::<2>::from_data(burn::tensor::TensorData::new(x, [windows, block]), device);
            return Some(Probe { x, max_derivative });
        }
        let indices: Vec<usize> = (0..samples.min(validation.len())).collect();
        Some(Probe { x: super::to_device(&validation.subset(&indices), device).0, max_derivative })
    }

    /// [`layer_stats`] of `model` on this probe.
    pub fn layer_stats(&self, model: &Network) -> Vec<LayerStats> {
        layer_stats(model, &self.x, self.max_derivative)
    }
}

/// The largest |f'(x)| of an activation, found on a grid over [-10, 10]
/// (step 0.01) through the model's own autodiff path.
pub fn max_derivative(kind: ActivationKind, device: &Device) -> f64 {
    let grid: Vec<f32> = (0..=2000).map(|i| -10.0 + 0.01 * i as f32).collect();
    let (_, derivatives) = activation::evaluate(kind, &grid, device);
    derivatives.iter().fold(0.0f64, |m, d| m.max(d.abs() as f64))
}

/// The percentiles of each site's inputs in [`LayerStats`] (Ioffe & Szegedy
/// 2015, figure 1, track the 15th, 50th and 85th of a sigmoid's input).
pub const PERCENTILES: [f64; 3] = [0.15, 0.50, 0.85];
/// The percentiles are taken over at most this many of a unit's inputs
/// (every k-th value of the probe batch's, in order), so a convolution
/// channel's values at every position cost no more than a dense unit's.
pub const PERCENTILE_VALUES: usize = 1 << 16;

/// Statistics of each activation site (input side first) for the probe
/// inputs `[samples, inputs]`, the network in evaluation mode (batch norm on
/// its running statistics, no dropout). A convolution's unit is a channel,
/// seen at every position of every sample. `model` is the training
/// (autodiff) model; nothing here touches its gradients or its statistics.
pub fn layer_stats(model: &Network, probe: &Tensor<2>, max_derivative: f64) -> Vec<LayerStats> {
    let threshold = SATURATION_SHARE * max_derivative;
    // Forward with a fresh leaf `z` per site (the input of each site
    // detached), so one backward of the sum of all outputs gives every
    // site's f'(z), element by element.
    let mut leaves = Leaves(Vec::new());
    model.forward_sites(probe.clone(), Mode::Eval, &mut leaves);
    let mut total: Option<Tensor<1>> = None;
    for (_, y, tracked) in &leaves.0 {
        if *tracked {
            let y_sum = y.clone().sum();
            total = Some(match total.take() {
                Some(t) => t + y_sum,
                None => y_sum,
            });
        }
    }
    let grads = total.map(|t| t.backward());
    let mut parts = Vec::new();
    let mut widths = Vec::new();
    for (z, y, _) in leaves.0 {
        // Everything as `[observations, units]`.
        let derivative = grads.as_ref().and_then(|g| z.grad(g)).map(channels_last);
        let (z, y) = (channels_last(z.inner()), channels_last(y.inner()));
        let [samples, units] = z.dims();
        let derivative = derivative.unwrap_or_else(|| Tensor::zeros([samples, units], &z.device()));

        let output_zero = y.clone().abs().max_dim(0).equal_elem(0.0); // [1, units]
        let derivative_zero = derivative.clone().abs().max_dim(0).equal_elem(0.0);
        let dead = output_zero.bool_or(derivative_zero).float(); // [1, units]
        let saturated =
            derivative.abs().lower_elem(threshold).float().mean_dim(0).greater_elem(SATURATED_SAMPLE_SHARE).float()
                * (dead.clone().neg() + 1.0);
        let outliers = outliers(y.clone().flatten::<1>(0, 1));
        parts.extend([
            z.clone().mean(),
            z.clone().flatten::<1>(0, 1).var(0),
            y.clone().mean(),
            y.flatten::<1>(0, 1).var(0),
            dead.sum(),
            saturated.sum(),
            percentiles(z),
            outliers,
        ]);
        widths.push(units);
    }
    let values =
        Tensor::cat(parts, 0).into_data().convert::<f32>().try_to_vec::<f32>().expect("statistics read as f32");
    const READ: usize = 6 + PERCENTILES.len() + 4;
    values
        .chunks_exact(READ)
        .zip(widths)
        .map(|(v, units)| LayerStats {
            units,
            pre_mean: v[0] as f64,
            pre_std: (v[1] as f64).sqrt(),
            post_mean: v[2] as f64,
            post_std: (v[3] as f64).sqrt(),
            dead_fraction: v[4] as f64 / units as f64,
            saturated_fraction: v[5] as f64 / units as f64,
            pre_percentiles: [v[6] as f64, v[7] as f64, v[8] as f64],
            post_max_abs: v[9] as f64,
            post_kurtosis: kurtosis(v[10] as f64, v[11] as f64),
            post_beyond_6std: v[12] as f64,
        })
        .collect()
}

/// `[4]`: the largest |value|, the fourth and second central moments
/// (biased, as scipy.stats.kurtosis takes them), and the share of values
/// beyond [`OUTLIER_STDS`] standard deviations from the mean.
fn outliers(values: Tensor<1>) -> Tensor<1> {
    let centred = values.clone() - values.clone().mean();
    let var = centred.clone().square().mean(); // [1]
    let m4 = centred.clone().square().square().mean();
    let beyond = (centred.abs() - var.clone().sqrt().mul_scalar(OUTLIER_STDS)).greater_elem(0.0).float().mean();
    Tensor::cat(vec![values.abs().max(), m4, var, beyond], 0)
}

/// Excess kurtosis from the moments (scipy's default, Fisher's): NaN for
/// constant values (0 / 0), as scipy gives.
fn kurtosis(m4: f64, var: f64) -> f64 {
    m4 / var.powi(2) - 3.0
}

/// Each site's pre-activation (the autodiff leaf), its output, and whether
/// the output depends on the leaf.
struct Leaves(Vec<(Tensor<4>, Tensor<4>, bool)>);

impl Sites for Leaves {
    const FUSED: bool = false;
    fn activate<const D: usize>(&mut self, activation: &Activation, z: Tensor<D>) -> Tensor<D> {
        let dims = z.dims();
        // The leaf in the one shape every site has; the activation sees its own.
        let leaf = as_maps(z.detach()).require_grad();
        let y = activation.forward(leaf.clone().reshape(dims));
        let tracked = y.is_tracked();
        self.0.push((leaf, as_maps(y.clone()), tracked));
        y.detach()
    }
}

/// `[samples, units]` as `[samples, units, 1, 1]`; maps as they are.
fn as_maps<const D: usize>(t: Tensor<D>) -> Tensor<4> {
    let dims = t.dims();
    let [n, c] = [dims[0], dims[1]];
    let (h, w) = if D == 4 { (dims[2], dims[3]) } else { (1, 1) };
    t.reshape([n, c, h, w])
}

/// `[samples, channels, h, w]` -> `[samples * h * w, channels]`.
fn channels_last(t: Tensor<4>) -> Tensor<2> {
    let [n, c, h, w] = t.dims();
    t.permute([0, 2, 3, 1]).reshape([n * h * w, c])
}

/// The [`PERCENTILES`] of the first unit's values in `z` (`[observations,
/// units]`, no autodiff), interpolated linearly between the closest ranks
/// as numpy's default: `[3]`. One unit, as Ioffe & Szegedy follow "a
/// typical" one: pooled over all units, each unit's drift hides in the
/// spread of the others.
fn percentiles(z: Tensor<2>) -> Tensor<1> {
    let n = z.dims()[0];
    let step = n.div_ceil(PERCENTILE_VALUES).max(1);
    let flat = z.slice([0..n, 0..1]).reshape([n]);
    let device = flat.device();
    let values = if step > 1 {
        let index: Vec<i64> = (0..n).step_by(step).map(|i| i as i64).collect();
        let len = index.len();
        flat.select(0, Tensor::<1, Int>::from_data(TensorData::new(index, [len]), &device))
    } else {
        flat
    };
    let m = values.dims()[0];
    let sorted = values.sort(0);
    let mut lower = Vec::new();
    let mut upper = Vec::new();
    let mut frac = Vec::new();
    for q in PERCENTILES {
        let (lo, hi, f) = rank(q, m);
        lower.push(lo as i64);
        upper.push(hi as i64);
        frac.push(f as f32);
    }
    let k = PERCENTILES.len();
    let pick =
        |index: Vec<i64>| sorted.clone().select(0, Tensor::<1, Int>::from_data(TensorData::new(index, [k]), &device));
    let (lo, hi) = (pick(lower), pick(upper));
    let frac = Tensor::<1>::from_data(TensorData::new(frac, [k]), &device);
    lo.clone() + (hi - lo) * frac
}

/// numpy's linear percentile of `m` sorted values: the ranks either side of
/// `q * (m - 1)` and the weight of the upper one.
fn rank(q: f64, m: usize) -> (usize, usize, f64) {
    let position = q * (m.max(1) - 1) as f64;
    let lower = position.floor() as usize;
    (lower, (lower + 1).min(m.max(1) - 1), position - lower as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outliers_match_scipy() {
        // x_i = (i mod 7) - 3 for i < 40, with 50 added to x_5: one outlier.
        // scipy 1.x: stats.kurtosis(x) = 31.08536148071289 (float32 input);
        // max |x| = 52; the share beyond 6 standard deviations (numpy's
        // population std) = 1/40.
        let x: Vec<f32> = (0..40).map(|i| (i % 7) as f32 - 3.0 + if i == 5 { 50.0 } else { 0.0 }).collect();
        let device = Device::default();
        let v: Vec<f32> = outliers(Tensor::<1>::from_data(TensorData::new(x, [40]), &device))
            .into_data()
            .convert::<f32>()
            .try_to_vec()
            .unwrap();
        assert_eq!(v[0], 52.0);
        let k = kurtosis(v[1] as f64, v[2] as f64);
        assert!((k - 31.08536148071289).abs() < 1e-4 * 31.1, "kurtosis {k}");
        assert_eq!(v[3], 0.025);
        // Constant values: no kurtosis, no outlier.
        let c: Vec<f32> = outliers(Tensor::<1>::from_data(TensorData::new(vec![2.0f32; 8], [8]), &device))
            .into_data()
            .convert::<f32>()
            .try_to_vec()
            .unwrap();
        assert!(kurtosis(c[1] as f64, c[2] as f64).is_nan());
        assert_eq!(c[3], 0.0);
    }
}
