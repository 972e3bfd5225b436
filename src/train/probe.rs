//! Activation statistics of every hidden layer on a fixed probe batch: the
//! distribution of pre-activations and outputs, dead units (the dying-ReLU
//! measure) and saturated units (the sigmoid/tanh measure). Taken at
//! initialisation (epoch 0) and after every epoch; everything is reduced on
//! the device and read back in one transfer.

use burn::tensor::{Device, Tensor};

use crate::activation::{self, ActivationKind};
use crate::data::Dataset;
use crate::model::Network;

/// A unit is saturated when its derivative is below this share of the
/// activation's largest derivative (the README's definition of
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
}

/// The probe batch on the training device, with the activation's largest
/// derivative (the scale of the saturation threshold).
#[derive(Clone)]
pub struct Probe {
    x: Tensor<2>, // [samples, inputs]
    max_derivative: f64,
}

impl Probe {
    /// The first `samples` validation samples (the split is already shuffled
    /// by the seed); none without validation samples.
    pub fn new(
        validation: &Dataset,
        samples: usize,
        kind: ActivationKind,
        device: &Device,
        base_device: &Device,
    ) -> Option<Probe> {
        if validation.is_empty() {
            return None;
        }
        let indices: Vec<usize> = (0..samples.min(validation.len())).collect();
        let max_derivative = max_derivative(kind, base_device);
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

/// Statistics of each hidden layer (convolution blocks first) for the probe
/// inputs `[samples, inputs]`. A convolution's unit is a channel, seen at
/// every position of every sample. `model` is the training (autodiff)
/// model; nothing here touches its gradients.
pub fn layer_stats(model: &Network, probe: &Tensor<2>, max_derivative: f64) -> Vec<LayerStats> {
    let threshold = SATURATION_SHARE * max_derivative;
    // Forward through the layers with a fresh leaf `z` per layer (the input
    // of each layer detached), so one backward of the sum of all outputs
    // gives every layer's f'(z), element by element.
    let mut leaves: Vec<Leaf> = Vec::with_capacity(model.hidden_layers());
    let mut total: Option<Tensor<1>> = None;
    let mut add = |y_sum: Tensor<1>, tracked: bool| {
        if tracked {
            total = Some(match total.take() {
                Some(t) => t + y_sum,
                None => y_sum,
            });
        }
    };
    let mut h = probe.clone();
    if !model.convs.is_empty() {
        let mut maps = model.to_image(h);
        for (conv, act) in model.convs.iter().zip(&model.conv_activations) {
            let z = crate::fused::conv::forward(conv, maps).detach().require_grad(); // [samples, channels, h, w]
            let y = act.forward(z.clone());
            add(y.clone().sum(), y.is_tracked());
            maps = model.pool(y.clone().detach());
            leaves.push(Leaf::Conv(z, y));
        }
        h = maps.flatten(1, 3);
    }
    for (layer, act) in model.layers.iter().zip(&model.activations) {
        let z = crate::fused::linear::forward(layer, h).detach().require_grad(); // [samples, units]
        let y = act.forward(z.clone());
        add(y.clone().sum(), y.is_tracked());
        h = y.clone().detach();
        leaves.push(Leaf::Dense(z, y));
    }
    let grads = total.map(|t| t.backward());
    let mut parts = Vec::new();
    let mut widths = Vec::new();
    for leaf in leaves {
        // Everything as `[observations, units]`.
        let (z, y, derivative) = match leaf {
            Leaf::Dense(z, y) => {
                let derivative = grads.as_ref().and_then(|g| z.grad(g));
                (z.inner(), y.inner(), derivative)
            }
            Leaf::Conv(z, y) => {
                let derivative = grads.as_ref().and_then(|g| z.grad(g)).map(channels_last);
                (channels_last(z.inner()), channels_last(y.inner()), derivative)
            }
        };
        let [samples, units] = z.dims();
        let derivative = derivative.unwrap_or_else(|| Tensor::zeros([samples, units], &z.device()));

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

/// A hidden layer's pre-activation (the autodiff leaf) and output.
enum Leaf {
    Conv(Tensor<4>, Tensor<4>),
    Dense(Tensor<2>, Tensor<2>),
}

/// `[samples, channels, h, w]` -> `[samples * h * w, channels]`.
fn channels_last(t: Tensor<4>) -> Tensor<2> {
    let [n, c, h, w] = t.dims();
    t.permute([0, 2, 3, 1]).reshape([n * h * w, c])
}
