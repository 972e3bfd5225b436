//! Weights drawn on the host from the run's seed, so every backend starts
//! from the same numbers (Burn's device generator gives the same weights on
//! flex and ndarray for a seed, but other numbers on wgpu). Every kind of
//! network builds its layers here, in the order it declares them, so the
//! draws follow the parameters' order.

use burn::module::Param;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, PaddingConfig2d};
use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng;

use super::settings::{Gain, InitScheme, Padding};
use crate::activation::ActivationKind;
use crate::activation::catalog::AutoInit;
use crate::maths::rng;

/// The concrete scheme of `scheme` for an activation: `auto` becomes the
/// activation's own (its catalog entry's `auto_init`).
pub fn resolve_init(scheme: InitScheme, kind: ActivationKind, model: super::settings::ModelKind) -> InitScheme {
    // A kind with an initialisation of its own (GPT-2's for `gpt`).
    if scheme == InitScheme::Auto
        && let Some(own) = model.info().auto_init
    {
        return own;
    }
    // A formula: the gain that keeps the second moment through it (He et
    // al. 2015's argument, numerically), where it has one.
    if scheme == InitScheme::Auto
        && let Some(gain) = kind.formula_gain()
    {
        return InitScheme::Gain(Gain::new(gain));
    }
    match (scheme, kind.info().auto_init) {
        (InitScheme::Auto, AutoInit::He) => InitScheme::He,
        (InitScheme::Auto, AutoInit::Lecun) => InitScheme::Lecun,
        (InitScheme::Auto, AutoInit::Glorot) => InitScheme::Glorot,
        (other, _) => other,
    }
}

/// GPT-2's weight scale (nanoGPT's `_init_weights`: N(0, 0.02)).
pub const GPT2_STD: f64 = 0.02;

/// The scheme of a classifier's output layer: it feeds softmax, not the
/// activation, so Glorot suits it whatever the hidden units; PyTorch's
/// default and the unit-norm scheme cover the output layer too, as in their sources.
pub fn output_init(scheme: InitScheme) -> InitScheme {
    match scheme {
        InitScheme::Pytorch | InitScheme::UnitNorm => scheme,
        _ => InitScheme::Glorot,
    }
}

/// A convolution without bias (one followed by normalisation, as in He et
/// al. 2016), weight `[out, in, k, k]` drawn by `scheme`, `stride` and
/// `padding` on every side.
pub fn conv2d_no_bias(
    channels: [usize; 2],
    kernel: usize,
    stride: usize,
    padding: usize,
    scheme: InitScheme,
    rng: &mut impl Rng,
    device: &Device,
) -> Conv2d {
    let [channels_in, channels_out] = channels;
    let mut conv = Conv2dConfig::new([channels_in, channels_out], [kernel, kernel])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(padding, padding, padding, padding))
        .with_bias(false)
        .init(device);
    conv.weight = Param::from_tensor(conv_weight(channels_in, channels_out, kernel, scheme, rng, device));
    conv
}

/// A `[out, in, k, k]` weight drawn by `scheme` (fan-in `in * k * k`,
/// fan-out `out * k * k`, as torch.nn.init).
fn conv_weight(
    channels_in: usize,
    channels_out: usize,
    kernel: usize,
    scheme: InitScheme,
    rng: &mut impl Rng,
    device: &Device,
) -> Tensor<4> {
    let area = kernel * kernel;
    let n = channels_out * channels_in * area;
    let mut weights = init_values(n, channels_in * area, channels_out * area, scheme, rng);
    if scheme == InitScheme::UnitNorm {
        // [out, in, k, k]: each output channel's weights are one contiguous block.
        weights.chunks_mut(channels_in * area).for_each(unit_norm);
    }
    Tensor::<4>::from_data(TensorData::new(weights, [channels_out, channels_in, kernel, kernel]), device)
}

/// A convolution with weight `[out, in, k, k]` drawn by `scheme` and its
/// bias ([`init_bias`]); stride 1.
pub fn conv2d(
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
    conv.weight = Param::from_tensor(conv_weight(channels_in, channels_out, kernel, scheme, rng, device));
    let bias = init_bias(channels_out, channels_in * kernel * kernel, scheme, rng);
    conv.bias = Some(Param::from_tensor(Tensor::<1>::from_data(TensorData::new(bias, [channels_out]), device)));
    conv
}

/// Biases: zero, but for PyTorch's default (uniform in +-1/sqrt(fan_in)).
pub fn init_bias(n: usize, fan_in: usize, scheme: InitScheme, rng: &mut impl Rng) -> Vec<f32> {
    match scheme {
        InitScheme::Pytorch => init_values(n, fan_in, n, scheme, rng),
        _ => vec![0.0; n],
    }
}

/// A linear layer with weight `[fan_in, fan_out]` drawn by `scheme`, and its bias (init_bias).
pub fn linear(fan_in: usize, fan_out: usize, scheme: InitScheme, rng: &mut impl Rng, device: &Device) -> Linear {
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
        InitScheme::Gain(gain) => normal(gain.value() / fi.sqrt(), &mut || rng::normal(rng)),
        InitScheme::Gpt2 => normal(GPT2_STD, &mut || rng::normal(rng)),
        InitScheme::Auto => unreachable!("init is resolved before the model is built"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::maths::rng::Stream;

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
