//! The MLP: hidden linear layers each followed by the activation, then a
//! linear output (softmax lives in the cross-entropy loss). Weights are drawn
//! on the host from the run's seed, so every backend starts from the same
//! numbers (wgpu's own generator differs: ../shared/burn-0.22-notes.md).

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng;

use crate::activation::{Activation, ActivationKind};
use crate::config::InitScheme;
use crate::rng::{self, Stream};

#[derive(Module, Debug)]
pub struct Mlp {
    /// Hidden layers; parameters are named `layers.<i>.weight` and `layers.<i>.bias`.
    pub layers: Vec<Linear>,
    /// One activation per hidden layer (PReLU learns one slope per layer).
    pub activations: Vec<Activation>,
    /// `output.weight`, `output.bias`.
    pub output: Linear,
}

/// What an MLP is made of.
#[derive(Debug, Clone, PartialEq)]
pub struct MlpSpec {
    pub inputs: usize,
    pub hidden: Vec<usize>,
    pub classes: usize,
    pub activation: ActivationKind,
    /// Resolved: never `Auto`.
    pub init: InitScheme,
}

impl Mlp {
    pub fn new(spec: &MlpSpec, seed: u64, device: &Device) -> Self {
        let mut rng = rng::stream(seed, Stream::Init);
        let mut fan_in = spec.inputs;
        let mut layers = Vec::with_capacity(spec.hidden.len());
        for &width in &spec.hidden {
            layers.push(linear(fan_in, width, spec.init, &mut rng, device));
            fan_in = width;
        }
        let activations = spec.hidden.iter().map(|_| Activation::new(spec.activation, device)).collect();
        // The output feeds softmax, not the activation: Glorot suits it whatever the hidden units.
        let output = linear(fan_in, spec.classes, InitScheme::Glorot, &mut rng, device);
        Self { layers, activations, output }
    }

    /// # Shapes
    /// - input: `[batch, inputs]`
    /// - output: `[batch, classes]` (logits)
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let hidden = self
            .layers
            .iter()
            .zip(&self.activations)
            .fold(x, |h, (layer, activation)| activation.forward(layer.forward(h)));
        self.output.forward(hidden)
    }
}

/// A linear layer with weight `[fan_in, fan_out]` drawn by `scheme` and zero bias.
fn linear(fan_in: usize, fan_out: usize, scheme: InitScheme, rng: &mut impl Rng, device: &Device) -> Linear {
    let weights = init_weights(fan_in, fan_out, scheme, rng);
    let weight = Tensor::<2>::from_data(TensorData::new(weights, [fan_in, fan_out]), device);
    let bias = Tensor::<1>::zeros([fan_out], device);
    Linear { weight: Param::from_tensor(weight), bias: Some(Param::from_tensor(bias)) }
}

/// Samples for one weight matrix. Scales from He et al. 2015 (He), LeCun et
/// al. 1998 (LeCun), Glorot & Bengio 2010 (Glorot), as torch.nn.init.
pub fn init_weights(fan_in: usize, fan_out: usize, scheme: InitScheme, rng: &mut impl Rng) -> Vec<f32> {
    let n = fan_in * fan_out;
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
    fn init_scales_match_their_definitions() {
        let mut rng = rng::stream(0, Stream::Init);
        let (fi, fo) = (400, 100);
        let cases = [
            (InitScheme::He, (2.0f64 / 400.0).sqrt()),
            (InitScheme::HeUniform, (6.0f64 / 400.0).sqrt() / 3f64.sqrt()),
            (InitScheme::Lecun, (1.0f64 / 400.0).sqrt()),
            (InitScheme::Glorot, (6.0f64 / 500.0).sqrt() / 3f64.sqrt()),
            (InitScheme::GlorotNormal, (2.0f64 / 500.0).sqrt()),
        ];
        for (scheme, want) in cases {
            let got = std_of(&init_weights(fi, fo, scheme, &mut rng));
            assert!((got / want - 1.0).abs() < 0.03, "{scheme}: std {got}, want {want}");
        }
    }
}
