//! Activation statistics of every hidden layer on a fixed probe batch: the
//! distribution of pre-activations and outputs, dead units (the dying-ReLU
//! measure) and saturated units (the sigmoid/tanh measure). Taken at
//! initialisation (epoch 0) and after every epoch; everything is reduced on
//! the device and read back in one transfer.

use burn::tensor::{Device, Tensor};

use crate::activation::{self, ActivationKind};
use crate::model::Mlp;

/// A unit is saturated when its derivative is below this share of the
/// activation's largest derivative (issue #4's definition)...
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
}

/// The largest |f'(x)| of an activation, found on a grid over [-10, 10]
/// (step 0.01) through the model's own autodiff path.
pub fn max_derivative(kind: ActivationKind, device: &Device) -> f64 {
    let grid: Vec<f32> = (0..=2000).map(|i| -10.0 + 0.01 * i as f32).collect();
    let (_, derivatives) = activation::evaluate(kind, &grid, device);
    derivatives.iter().fold(0.0f64, |m, d| m.max(d.abs() as f64))
}

/// Statistics of each hidden layer for the probe inputs `[samples, inputs]`.
/// `model` is the training (autodiff) model; nothing here touches its gradients.
pub fn layer_stats(model: &Mlp, probe: &Tensor<2>, max_derivative: f64) -> Vec<LayerStats> {
    let threshold = SATURATION_SHARE * max_derivative;
    // Forward through the layers with a fresh leaf `z` per layer (the input
    // of each layer detached), so one backward of the sum of all outputs
    // gives every layer's f'(z), element by element.
    let mut h = probe.clone();
    let mut leaves = Vec::with_capacity(model.layers.len());
    let mut total: Option<Tensor<1>> = None;
    for (layer, act) in model.layers.iter().zip(&model.activations) {
        let z = layer.forward(h).detach().require_grad(); // [samples, units]
        let y = act.forward(z.clone());
        if y.is_tracked() {
            let s = y.clone().sum();
            total = Some(match total {
                Some(t) => t + s,
                None => s,
            });
        }
        h = y.clone().detach();
        leaves.push((z, y));
    }
    let grads = total.map(|t| t.backward());
    let mut parts = Vec::new();
    let mut widths = Vec::new();
    for (z, y) in leaves {
        let [samples, units] = z.dims();
        let derivative = grads
            .as_ref()
            .and_then(|g| z.grad(g))
            .unwrap_or_else(|| Tensor::zeros([samples, units], &z.clone().inner().device()));
        let (z, y) = (z.inner(), y.inner());

        let output_zero = y.clone().abs().max_dim(0).equal_elem(0.0); // [1, units]
        let derivative_zero = derivative.clone().abs().max_dim(0).equal_elem(0.0);
        let dead = output_zero.bool_or(derivative_zero).float(); // [1, units]
        let saturated =
            derivative.abs().lower_elem(threshold).float().mean_dim(0).greater_elem(SATURATED_SAMPLE_SHARE).float()
                * (dead.clone().neg() + 1.0);
        parts.extend([
            z.clone().mean(),
            z.flatten::<1>(0, 1).var(0),
            y.clone().mean(),
            y.flatten::<1>(0, 1).var(0),
            dead.sum(),
            saturated.sum(),
        ]);
        widths.push(units);
    }
    let values =
        Tensor::cat(parts, 0).into_data().convert::<f32>().try_to_vec::<f32>().expect("statistics read as f32");
    values
        .chunks_exact(6)
        .zip(widths)
        .map(|(v, units)| LayerStats {
            units,
            pre_mean: v[0] as f64,
            pre_std: (v[1] as f64).sqrt(),
            post_mean: v[2] as f64,
            post_std: (v[3] as f64).sqrt(),
            dead_fraction: v[4] as f64 / units as f64,
            saturated_fraction: v[5] as f64 / units as f64,
        })
        .collect()
}
