//! The network: optional convolution blocks (conv -> activation -> pool,
//! LeNet-style), then hidden linear layers each followed by the activation,
//! then a linear output (softmax lives in the cross-entropy loss). With no
//! convolution block it is the plain MLP. Weights are drawn on the host from
//! the run's seed, so every backend starts from the same numbers (Burn's
//! device generator gives the same weights on flex and ndarray for a seed,
//! but other numbers on wgpu).

use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, PaddingConfig2d};
use burn::tensor::module::avg_pool2d;
use burn::tensor::ops::AvgPoolOptions;
use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng;

pub mod settings;

pub use settings::POOL;
use settings::{InitScheme, Padding, PoolKind, conv_shapes};

use crate::activation::catalog::AutoInit;
use crate::activation::{Activation, ActivationKind};
use crate::maths::rng::{self, Stream};

/// The concrete scheme of `scheme` for an activation: `auto` becomes the
/// activation's own (its catalog entry's `auto_init`).
pub fn resolve_init(scheme: InitScheme, kind: ActivationKind) -> InitScheme {
    match (scheme, kind.info().auto_init) {
        (InitScheme::Auto, AutoInit::He) => InitScheme::He,
        (InitScheme::Auto, AutoInit::Lecun) => InitScheme::Lecun,
        (InitScheme::Auto, AutoInit::Glorot) => InitScheme::Glorot,
        (other, _) => other,
    }
}

#[derive(Module, Debug)]
pub struct Network {
    /// Convolution blocks; parameters `convs.<i>.weight` `[out, in, k, k]` and `convs.<i>.bias`.
    pub convs: Vec<Conv2d>,
    /// One activation per convolution block.
    pub conv_activations: Vec<Activation>,
    /// Hidden linear layers; parameters are named `layers.<i>.weight` and `layers.<i>.bias`.
    pub layers: Vec<Linear>,
    /// One activation per hidden layer (PReLU learns one slope per layer).
    pub activations: Vec<Activation>,
    /// `output.weight`, `output.bias`.
    pub output: Linear,
    /// `[channels, height, width]` of an input image; all zero for the MLP.
    pub image: [usize; 3],
    /// Average instead of max pooling.
    pub avg_pool: bool,
}

/// The convolutional part of a network.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvSpec {
    /// `[channels, height, width]` of the input images.
    pub image: [usize; 3],
    /// Output channels of each block.
    pub channels: Vec<usize>,
    /// Square kernel side of each block (odd for `same` padding).
    pub kernel_sizes: Vec<usize>,
    pub padding: Padding,
    pub pool: PoolKind,
}

impl ConvSpec {
    /// `[channels, height, width]` after each block, or the first block
    /// (0-based) whose output would be empty.
    pub fn shapes(&self) -> Result<Vec<[usize; 3]>, usize> {
        conv_shapes(self.image, &self.channels, &self.kernel_sizes, self.padding)
    }

    /// Features that reach the first linear layer.
    pub fn flat_features(&self) -> Result<usize, usize> {
        Ok(self.shapes()?.last().map_or(self.image.iter().product(), |s| s.iter().product()))
    }
}

/// What a network is made of.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkSpec {
    /// Input features per sample (`c * h * w` for images).
    pub inputs: usize,
    /// `None` for the MLP.
    pub conv: Option<ConvSpec>,
    pub hidden: Vec<usize>,
    pub classes: usize,
    pub activation: ActivationKind,
    /// Resolved: never `Auto`.
    pub init: InitScheme,
}

impl Network {
    pub fn new(spec: &NetworkSpec, seed: u64, device: &Device) -> Self {
        let mut rng = rng::stream(seed, Stream::Init);
        let mut convs = Vec::new();
        let mut fan_in = spec.inputs;
        let mut image = [0; 3];
        let mut avg_pool = false;
        if let Some(conv) = &spec.conv {
            let mut channels_in = conv.image[0];
            for (&c, &k) in conv.channels.iter().zip(&conv.kernel_sizes) {
                convs.push(conv2d(channels_in, c, k, conv.padding, spec.init, &mut rng, device));
                channels_in = c;
            }
            fan_in = conv.flat_features().expect("the config check rejects empty feature maps");
            image = conv.image;
            avg_pool = conv.pool == PoolKind::Avg;
        }
        let channels: Vec<usize> = spec.conv.as_ref().map_or_else(Vec::new, |c| c.channels.clone());
        let conv_activations = channels.iter().map(|&c| Activation::sized(spec.activation, c, device)).collect();
        let mut layers = Vec::with_capacity(spec.hidden.len());
        for &width in &spec.hidden {
            layers.push(linear(fan_in, width, spec.init, &mut rng, device));
            fan_in = width;
        }
        let activations = spec.hidden.iter().map(|&width| Activation::sized(spec.activation, width, device)).collect();
        // The output feeds softmax, not the activation: Glorot suits it whatever
        // the hidden units (PyTorch's default init covers it too).
        // PyTorch's default and the unit-norm scheme cover the output layer too, as in their sources.
        let output_init = match spec.init {
            InitScheme::Pytorch | InitScheme::UnitNorm => spec.init,
            _ => InitScheme::Glorot,
        };
        let output = linear(fan_in, spec.classes, output_init, &mut rng, device);
        Self { convs, conv_activations, layers, activations, output, image, avg_pool }
    }

    /// # Shapes
    /// - input: `[batch, inputs]` (images flattened channel-major, as stored)
    /// - output: `[batch, classes]` (logits)
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let mut h = x;
        if !self.convs.is_empty() {
            let mut maps = self.to_image(h);
            for (conv, activation) in self.convs.iter().zip(&self.conv_activations) {
                let z = crate::fused::conv::forward(conv, maps);
                maps = if activation.kind().name() == "relu" && !self.avg_pool {
                    // The same numbers as pool(relu(z)) in one pass (see the function).
                    crate::fused::pool::max_pool_2x2_relu(z)
                } else {
                    self.pool(activation.forward(z))
                };
            }
            h = maps.flatten(1, 3);
        }
        let hidden = self
            .layers
            .iter()
            .zip(&self.activations)
            .fold(h, |h, (layer, activation)| activation.forward(crate::fused::linear::forward(layer, h)));
        crate::fused::linear::forward(&self.output, hidden)
    }

    /// `[batch, inputs]` -> `[batch, channels, height, width]`.
    pub fn to_image(&self, x: Tensor<2>) -> Tensor<4> {
        let [c, h, w] = self.image;
        let batch = x.dims()[0];
        x.reshape([batch, c, h, w])
    }

    /// The pooling that ends every convolution block.
    pub fn pool(&self, x: Tensor<4>) -> Tensor<4> {
        if self.avg_pool {
            avg_pool2d(x, AvgPoolOptions::new([POOL, POOL]))
        } else {
            // POOL is 2: the fused 2x2 op (src/fused/pool.rs).
            crate::fused::pool::max_pool_2x2(x)
        }
    }

    /// Layers followed by the activation: convolution blocks, then hidden linear layers.
    pub fn hidden_layers(&self) -> usize {
        self.convs.len() + self.layers.len()
    }
}

/// A convolution with weight `[out, in, k, k]` drawn by `scheme` (fan-in
/// `in * k * k`, fan-out `out * k * k`, as torch.nn.init) and zero bias.
fn conv2d(
    channels_in: usize,
    channels_out: usize,
    kernel: usize,
    padding: Padding,
    scheme: InitScheme,
    rng: &mut impl Rng,
    device: &Device,
) -> Conv2d {
    let padding = match padding {
        Padding::Same => PaddingConfig2d::Explicit(kernel / 2, kernel / 2, kernel / 2, kernel / 2),
        Padding::Valid => PaddingConfig2d::Valid,
    };
    let mut conv = Conv2dConfig::new([channels_in, channels_out], [kernel, kernel]).with_padding(padding).init(device);
    let area = kernel * kernel;
    let n = channels_out * channels_in * area;
    let mut weights = init_values(n, channels_in * area, channels_out * area, scheme, rng);
    if scheme == InitScheme::UnitNorm {
        // [out, in, k, k]: each output channel's weights are one contiguous block.
        weights.chunks_mut(channels_in * area).for_each(unit_norm);
    }
    let weight = Tensor::<4>::from_data(TensorData::new(weights, [channels_out, channels_in, kernel, kernel]), device);
    conv.weight = Param::from_tensor(weight);
    let bias = init_bias(channels_out, channels_in * area, scheme, rng);
    conv.bias = Some(Param::from_tensor(Tensor::<1>::from_data(TensorData::new(bias, [channels_out]), device)));
    conv
}

/// Biases: zero, but for PyTorch's default (uniform in +-1/sqrt(fan_in)).
fn init_bias(n: usize, fan_in: usize, scheme: InitScheme, rng: &mut impl Rng) -> Vec<f32> {
    match scheme {
        InitScheme::Pytorch => init_values(n, fan_in, n, scheme, rng),
        _ => vec![0.0; n],
    }
}

/// A linear layer with weight `[fan_in, fan_out]` drawn by `scheme`, and its bias (init_bias).
fn linear(fan_in: usize, fan_out: usize, scheme: InitScheme, rng: &mut impl Rng, device: &Device) -> Linear {
    let weights = init_weights(fan_in, fan_out, scheme, rng);
    let weight = Tensor::<2>::from_data(TensorData::new(weights, [fan_in, fan_out]), device);
    let bias = Tensor::<1>::from_data(TensorData::new(init_bias(fan_out, fan_in, scheme, rng), [fan_out]), device);
    Linear { weight: Param::from_tensor(weight), bias: Some(Param::from_tensor(bias)) }
}

/// Samples for one weight matrix. Scales from He et al. 2015 (He), LeCun et
/// al. 1998 (LeCun), Glorot & Bengio 2010 (Glorot), as torch.nn.init.
pub fn init_weights(fan_in: usize, fan_out: usize, scheme: InitScheme, rng: &mut impl Rng) -> Vec<f32> {
    let mut weights = init_values(fan_in * fan_out, fan_in, fan_out, scheme, rng);
    if scheme == InitScheme::UnitNorm {
        // [fan_in, fan_out], row-major: unit j's incoming weights are column j.
        for j in 0..fan_out {
            let mut column: Vec<f32> = (0..fan_in).map(|i| weights[i * fan_out + j]).collect();
            unit_norm(&mut column);
            for (i, w) in column.into_iter().enumerate() {
                weights[i * fan_out + j] = w;
            }
        }
    }
    weights
}

/// `v` scaled to L2 norm 1 (left as is when it is all zero).
fn unit_norm(v: &mut [f32]) {
    let norm = v.iter().map(|&x| x as f64 * x as f64).sum::<f64>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x = (*x as f64 / norm) as f32);
    }
}

/// `n` samples for a tensor with the given fans.
fn init_values(n: usize, fan_in: usize, fan_out: usize, scheme: InitScheme, rng: &mut impl Rng) -> Vec<f32> {
    let (fi, fo) = (fan_in as f64, fan_out as f64);
    let normal =
        |std: f64, rng: &mut dyn FnMut() -> f64| -> Vec<f32> { (0..n).map(|_| (std * rng()) as f32).collect() };
    let uniform = |bound: f64, rng: &mut dyn FnMut() -> f64| -> Vec<f32> {
        (0..n).map(|_| (bound * (2.0 * rng() - 1.0)) as f32).collect()
    };
    match scheme {
        InitScheme::He => normal((2.0 / fi).sqrt(), &mut || rng::normal(rng)),
        InitScheme::HeUniform => uniform((6.0 / fi).sqrt(), &mut || rng.random::<f64>()),
        InitScheme::Lecun => normal((1.0 / fi).sqrt(), &mut || rng::normal(rng)),
        InitScheme::Glorot => uniform((6.0 / (fi + fo)).sqrt(), &mut || rng.random::<f64>()),
        InitScheme::GlorotNormal => normal((2.0 / (fi + fo)).sqrt(), &mut || rng::normal(rng)),
        // kaiming_uniform_(a = sqrt(5)): gain sqrt(2 / (1 + 5)), bound gain * sqrt(3 / fan_in) = 1 / sqrt(fan_in).
        InitScheme::Pytorch => uniform(1.0 / fi.sqrt(), &mut || rng.random::<f64>()),
        // Scaled to unit norm per unit by the caller.
        InitScheme::UnitNorm => normal(1.0, &mut || rng::normal(rng)),
        InitScheme::Auto => unreachable!("init is resolved before the model is built"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn std_of(v: &[f32]) -> f64 {
        let mean = v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64;
        (v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
    }

    #[test]
    fn unit_norm_init_gives_every_unit_incoming_weights_of_norm_one() {
        let mut rng = rng::stream(0, Stream::Init);
        let (fi, fo) = (50, 7);
        let w = init_weights(fi, fo, InitScheme::UnitNorm, &mut rng);
        for j in 0..fo {
            let norm = (0..fi).map(|i| (w[i * fo + j] as f64).powi(2)).sum::<f64>().sqrt();
            assert!((norm - 1.0).abs() < 1e-6, "unit {j}: {norm}");
        }
        // Not one scale for all: the rows differ (the columns were normalised, not the matrix).
        let row = |i: usize| (0..fo).map(|j| (w[i * fo + j] as f64).powi(2)).sum::<f64>();
        assert!((row(0) - row(1)).abs() > 1e-6);
    }

    #[test]
    fn init_scales_match_their_definitions() {
        let mut rng = rng::stream(0, Stream::Init);
        let (fi, fo) = (400, 100);
        let cases = [
            (InitScheme::He, (2.0f64 / 400.0).sqrt()),
            (InitScheme::HeUniform, (6.0f64 / 400.0).sqrt() / 3f64.sqrt()),
            (InitScheme::Lecun, (1.0f64 / 400.0).sqrt()),
            (InitScheme::Glorot, (6.0f64 / 500.0).sqrt() / 3f64.sqrt()),
            (InitScheme::GlorotNormal, (2.0f64 / 500.0).sqrt()),
            (InitScheme::Pytorch, (1.0f64 / 400.0).sqrt() / 3f64.sqrt()),
        ];
        for (scheme, want) in cases {
            let got = std_of(&init_weights(fi, fo, scheme, &mut rng));
            assert!((got / want - 1.0).abs() < 0.03, "{scheme}: std {got}, want {want}");
        }
    }

    #[test]
    fn pytorch_init_draws_weights_and_biases_within_one_over_sqrt_fan_in() {
        // nn.Linear(400, 300): weight and bias uniform in +-1/20, variance 1/(3 * 400).
        let (fan_in, fan_out) = (400, 300);
        let device = Device::default();
        let mut rng = rng::stream(1, Stream::Init);
        let layer = linear(fan_in, fan_out, InitScheme::Pytorch, &mut rng, &device);
        let bound = 1.0 / (fan_in as f64).sqrt();
        for (name, values) in [
            ("weight", layer.weight.val().into_data().try_to_vec::<f32>().unwrap()),
            ("bias", layer.bias.as_ref().unwrap().val().into_data().try_to_vec::<f32>().unwrap()),
        ] {
            let max = values.iter().fold(0f64, |m, &v| m.max((v as f64).abs()));
            assert!(max <= bound && max > 0.95 * bound, "{name}: max |x| {max}, bound {bound}");
            let var = std_of(&values).powi(2);
            let want = bound * bound / 3.0;
            let tolerance = if name == "bias" { 0.25 } else { 0.03 };
            assert!((var / want - 1.0).abs() < tolerance, "{name}: variance {var}, want {want}");
        }
        // Other schemes keep zero biases.
        let he = linear(fan_in, fan_out, InitScheme::He, &mut rng, &device);
        assert!(he.bias.unwrap().val().into_data().try_to_vec::<f32>().unwrap().iter().all(|&b| b == 0.0));
    }
}
