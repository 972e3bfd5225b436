//! Normalisation layers as PyTorch computes them, parameters named as there
//! (`weight`, `bias`, `running_mean`, `running_var`), so gradient records
//! read like a PyTorch model's and the twin script (scripts/models_reference.py)
//! can be compared name by name.
//!
//! Burn's own BatchNorm updates its running variance with the biased batch
//! variance and picks training or evaluation from the device; PyTorch uses
//! the unbiased one (torch.nn.functional.batch_norm: `running_var =
//! (1 - momentum) * running_var + momentum * var * n / (n - 1)`), and
//! actbench's probe must evaluate on the training model without touching its
//! statistics, so the mode is passed in ([`Mode`]).

use burn::module::{Module, Param, RunningState};
use burn::tensor::{Device, Tensor};

use super::Mode;
use super::settings::NormKind;

/// torch.nn.BatchNorm*d's and LayerNorm's defaults.
pub const EPSILON: f64 = 1e-5;
pub const MOMENTUM: f64 = 0.1;

#[derive(Module, Debug)]
pub enum Norm {
    Batch(BatchNorm),
    Layer(LayerNorm),
}

impl Norm {
    /// A normalisation of `features` features (channels of a feature map),
    /// none for `NormKind::None`. Scale 1, shift 0, as PyTorch starts them.
    pub fn new(kind: NormKind, features: usize, device: &Device) -> Option<Norm> {
        let ones = || Param::from_tensor(Tensor::<1>::ones([features], device));
        let zeros = || Param::from_tensor(Tensor::<1>::zeros([features], device));
        match kind {
            NormKind::None => None,
            NormKind::Batch => Some(Norm::Batch(BatchNorm {
                weight: ones(),
                bias: zeros(),
                running_mean: RunningState::new(Tensor::zeros([features], device)),
                running_var: RunningState::new(Tensor::ones([features], device)),
            })),
            NormKind::Layer => Some(Norm::Layer(LayerNorm { weight: ones(), bias: zeros() })),
        }
    }

    /// `x`: `[batch, features]` or `[batch, channels, h, w]`.
    pub fn forward<const D: usize>(&self, x: Tensor<D>, mode: Mode) -> Tensor<D> {
        match self {
            Norm::Batch(n) => n.forward(x, mode),
            Norm::Layer(n) => n.forward(x),
        }
    }
}

/// `norm` applied to `x` when there is one.
pub fn apply<const D: usize>(norm: Option<&Norm>, x: Tensor<D>, mode: Mode) -> Tensor<D> {
    match norm {
        Some(n) => n.forward(x, mode),
        None => x,
    }
}

/// Batch normalisation over every dimension but the second (features or
/// channels): torch.nn.BatchNorm1d / BatchNorm2d.
#[derive(Module, Debug)]
pub struct BatchNorm {
    pub weight: Param<Tensor<1>>,
    pub bias: Param<Tensor<1>>,
    pub running_mean: RunningState<Tensor<1>>,
    pub running_var: RunningState<Tensor<1>>,
}

impl BatchNorm {
    pub fn forward<const D: usize>(&self, x: Tensor<D>, mode: Mode) -> Tensor<D> {
        if fused(&x) {
            return self.forward_fused(x, mode, false);
        }
        self.forward_composed(x, mode)
    }

    /// `relu(self.forward(x, mode))` in the same pass where the fused ops
    /// apply; `None` elsewhere.
    pub fn forward_relu<const D: usize>(&self, x: Tensor<D>, mode: Mode) -> Option<Tensor<D>> {
        fused(&x).then(|| self.forward_fused(x, mode, true))
    }

    /// The same composed from Burn's ops, as every backend but flex runs it.
    pub fn forward_composed<const D: usize>(&self, x: Tensor<D>, mode: Mode) -> Tensor<D> {
        let (gamma, beta) = (self.weight.val(), self.bias.val());
        if mode == Mode::Eval {
            let device = x.device();
            let mean = self.running_mean.value_sync().to_device(&device);
            let var = self.running_var.value_sync().to_device(&device);
            return burn::tensor::module::batch_norm(x, gamma, beta, mean, var, EPSILON);
        }
        let dims = x.dims();
        let out = burn::tensor::module::batch_norm_train(x, gamma, beta, EPSILON);
        self.update_running(out.mean, out.variance, dims);
        out.output
    }

    /// The running moments moved towards a batch's (`mean`, biased `var`,
    /// over a tensor of `dims`), as PyTorch does.
    fn update_running<const D: usize>(&self, mean: Tensor<1>, var: Tensor<1>, dims: [usize; D]) {
        let n = (dims.iter().product::<usize>() / dims[1]) as f64;
        // Bessel's correction for the running variance, as PyTorch (n = 1 keeps the biased 0).
        let unbiased = if n > 1.0 { n / (n - 1.0) } else { 1.0 };
        let device = mean.device();
        let running_mean = self.running_mean.value_sync().to_device(&device);
        let running_var = self.running_var.value_sync().to_device(&device);
        let running_mean = running_mean.mul_scalar(1.0 - MOMENTUM).add(mean.detach().mul_scalar(MOMENTUM));
        let running_var = running_var.mul_scalar(1.0 - MOMENTUM).add(var.detach().mul_scalar(MOMENTUM * unbiased));
        self.running_mean.update(running_mean.detach());
        self.running_var.update(running_var.detach());
    }

    /// The same through the fused ops (flex, f32), then ReLU if `relu`.
    fn forward_fused<const D: usize>(&self, x: Tensor<D>, mode: Mode, relu: bool) -> Tensor<D> {
        let (gamma, beta) = (self.weight.val(), self.bias.val());
        if mode == Mode::Eval {
            let device = x.device();
            let mean = self.running_mean.value_sync().to_device(&device);
            let var = self.running_var.value_sync().to_device(&device);
            let moments = Tensor::stack(vec![mean, var], 0);
            return crate::fused::batch_norm::batch_norm(x, gamma, beta, moments, EPSILON, false, relu);
        }
        let [channels] = self.weight.dims();
        let moments = crate::fused::batch_norm::batch_moments(&x);
        let mean: Tensor<1> = moments.clone().slice([0..1, 0..channels]).reshape([channels]);
        let var: Tensor<1> = moments.clone().slice([1..2, 0..channels]).reshape([channels]);
        self.update_running(mean, var, x.dims());
        crate::fused::batch_norm::batch_norm(x, gamma, beta, moments, EPSILON, true, relu)
    }
}

/// Whether batch norm of `x` takes the fused ops: feature maps (planes of
/// 16 values or more) on flex (f32). Vectors (`[batch, features]`, planes of
/// one value) keep Burn's ops: the fused ops work a channel's planes at a
/// time, and with one value per plane they were slower than Burn's
/// composition: experiments/batchnorm_mnist/quick.toml (the whole grid) took
/// 8.7 s against 6.7 s (2026-12-06).
fn fused<const D: usize>(x: &Tensor<D>) -> bool {
    let dims = x.dims();
    D > 2 && dims[2..].iter().product::<usize>() >= 16 && crate::fused::on_flex_f32(x)
}

/// Layer normalisation of each sample: over its features (torch.nn.LayerNorm),
/// or over channels, height and width of a feature map with a scale and
/// shift per channel (torch.nn.GroupNorm(1, C)). The variance is the biased one.
#[derive(Module, Debug)]
pub struct LayerNorm {
    pub weight: Param<Tensor<1>>,
    pub bias: Param<Tensor<1>>,
}

impl LayerNorm {
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let dims = x.dims();
        let (batch, features) = (dims[0], dims.iter().skip(1).product::<usize>());
        let flat: Tensor<2> = x.reshape([batch, features]);
        let centred = flat.clone() - flat.mean_dim(1);
        let var = centred.clone().square().mean_dim(1);
        let normed: Tensor<D> = (centred / var.add_scalar(EPSILON).sqrt()).reshape(dims);
        // The scale and shift of the second dimension, broadcast over the rest.
        let mut shape = [1; D];
        shape[1] = dims[1];
        normed * self.weight.val().reshape(shape) + self.bias.val().reshape(shape)
    }
}
