//! The activation as a Burn module: the one code path used by the models and
//! by `actbench activations --csv`. On flex the smooth kinds run as one fused
//! op (src/fused/activation.rs); everywhere else, and as their reference,
//! each branch is built from Burn tensor ops whose autodiff reproduces
//! PyTorch's derivative, including at the kinks (both checked point by point
//! against tests/data/activations_torch.csv).

use burn::module::{Module, Param};
use burn::tensor::activation as act;
use burn::tensor::{Device, Tensor, TensorData};

use super::ActivationKind;
use super::kernels::Pointwise;
use crate::fused::activation as fused;

/// Constants of SELU, from Klambauer et al. 2017 (the values torch.nn.SELU uses).
const SELU_ALPHA: f64 = 1.673_263_242_354_377_3;
const SELU_SCALE: f64 = 1.050_700_987_355_480_5;

#[derive(Module, Debug)]
pub struct Activation {
    #[module(skip)]
    kind: ActivationKind,
    /// PReLU's learned negative slope, shape [1]; absent for every other kind.
    pub alpha: Option<Param<Tensor<1>>>,
}

impl Activation {
    pub fn new(kind: ActivationKind, device: &Device) -> Self {
        let alpha = match kind {
            ActivationKind::PRelu { slope } => {
                Some(Param::from_tensor(Tensor::from_data(TensorData::new(vec![slope as f32], [1]), device)))
            }
            _ => None,
        };
        Self { kind, alpha }
    }

    pub fn kind(&self) -> ActivationKind {
        self.kind
    }

    /// The fused kernel for this kind, if it has one (smooth activations built
    /// on exp/erf, the expensive ones on the CPU).
    fn pointwise(&self) -> Option<Pointwise> {
        use ActivationKind as K;
        Some(match self.kind {
            K::Sigmoid => Pointwise::Sigmoid,
            K::Tanh => Pointwise::Tanh,
            K::Gelu => Pointwise::Gelu,
            K::GeluTanh => Pointwise::GeluTanh,
            K::Silu { beta } => Pointwise::Silu { beta: beta as f32 },
            K::Elu { alpha } => Pointwise::ExpLinear { alpha: alpha as f32, scale: 1.0, width: 1.0 },
            K::Selu => Pointwise::ExpLinear { alpha: SELU_ALPHA as f32, scale: SELU_SCALE as f32, width: 1.0 },
            K::Celu { alpha } => Pointwise::ExpLinear { alpha: alpha as f32, scale: 1.0, width: alpha as f32 },
            _ => return None,
        })
    }

    /// # Shapes
    /// - input: any
    /// - output: same as input
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        if let Some(op) = self.pointwise()
            && crate::fused::on_flex_f32(&x)
        {
            return fused::apply(x, op);
        }
        self.forward_composed(x)
    }

    /// The activation from Burn's tensor ops, on every backend: what
    /// `forward` runs where no fused kernel applies, and the reference the
    /// fused kernels are tested against.
    pub fn forward_composed<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        use ActivationKind as K;
        match self.kind {
            K::Identity => x,
            K::Step { straight_through } => {
                let step = x.clone().greater_elem(0.0).float();
                if straight_through {
                    // Value of the step, gradient of the clipped identity.
                    let surrogate = hard_tanh(x, -1.0, 1.0);
                    surrogate.clone() + (step - surrogate).detach()
                } else {
                    // Comparison ops carry no gradient: d/dx = 0, which is the lesson.
                    step
                }
            }
            K::Sigmoid => act::sigmoid(x),
            K::Tanh => tanh(x),
            K::Relu => act::relu(x),
            K::LeakyRelu { slope } => leaky(x, slope),
            K::PRelu { .. } => {
                let alpha = self.alpha.as_ref().expect("PReLU has its slope").val();
                let negative = x.clone().lower_equal_elem(0.0);
                let scaled = x.clone() * alpha.unsqueeze::<D>();
                x.mask_where(negative, scaled)
            }
            K::Elu { alpha } => elu(x, alpha, 1.0),
            K::Selu => elu(x, SELU_ALPHA, SELU_SCALE),
            K::Celu { alpha } => {
                let negative = x.clone().lower_equal_elem(0.0);
                let scaled = x.clone().div_scalar(alpha).exp().sub_scalar(1.0).mul_scalar(alpha);
                x.mask_where(negative, scaled)
            }
            K::Gelu => act::gelu(x),
            K::GeluTanh => gelu_tanh(x),
            K::Silu { beta } => {
                if beta == 1.0 {
                    act::silu(x)
                } else {
                    x.clone() * act::sigmoid(x.mul_scalar(beta))
                }
            }
            K::Mish => act::mish(x),
            K::Softplus { beta, threshold } => act::softplus_with_threshold(x, beta, threshold),
            K::Softsign => act::softsign(x),
            K::HardSigmoid => {
                let low = x.clone().lower_equal_elem(-3.0);
                let high = x.clone().greater_equal_elem(3.0);
                x.div_scalar(6.0).add_scalar(0.5).mask_fill(low, 0.0).mask_fill(high, 1.0)
            }
            K::HardSwish => {
                // PyTorch 2.15: derivative 0 for x <= -3, 1 for x >= 3, (2x + 3) / 6 between.
                let low = x.clone().lower_equal_elem(-3.0);
                let high = x.clone().greater_equal_elem(3.0);
                let middle = x.clone() * x.clone().add_scalar(3.0).div_scalar(6.0);
                middle.mask_fill(low, 0.0).mask_where(high, x)
            }
            K::HardTanh { min, max } => hard_tanh(x, min, max),
            K::Relu6 => hard_tanh(x, 0.0, 6.0),
            K::LogSigmoid => act::log_sigmoid(x),
            K::Tanhshrink => x.clone() - tanh(x),
        }
    }
}

/// tanh(x) = 2 sigmoid(2x) - 1. On the flex backend this is 1.7x faster
/// than `Tensor::tanh` for a tanh MLP (bench w4: 18,100-18,600 against
/// 10,700-10,800 samples/s): flex evaluates tanh with glibc's scalar
/// `tanhf` (half of w4's profile, `__expm1f` + `__tanhf`), and autodiff
/// evaluates it again in the backward pass; its fused sigmoid is cheaper.
/// Values and derivatives stay within 3e-7 of PyTorch's (tests/activations_reference.rs).
fn tanh<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    act::sigmoid(x.mul_scalar(2.0)).mul_scalar(2.0).sub_scalar(1.0)
}

/// PyTorch's `gelu(approximate="tanh")`: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))),
/// computed as x sigmoid(2 sqrt(2/pi) (x + 0.044715 x^3)) (the same function;
/// no cancellation in 1 + tanh for negative x), with x^3 as products (Burn's
/// version uses `powf`, a scalar `powf` per element on flex).
fn gelu_tanh<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
    let cube = x.clone() * x.clone() * x.clone();
    let inner = (x.clone() + cube.mul_scalar(0.044_715)).mul_scalar(2.0 * SQRT_2_OVER_PI);
    x * act::sigmoid(inner)
}

/// `x` where `x > 0`, `slope * x` elsewhere: derivative `slope` at 0, as PyTorch.
fn leaky<const D: usize>(x: Tensor<D>, slope: f64) -> Tensor<D> {
    let negative = x.clone().lower_equal_elem(0.0);
    let scaled = x.clone().mul_scalar(slope);
    x.mask_where(negative, scaled)
}

/// `scale * x` where `x > 0`, `scale * alpha * (exp(x) - 1)` elsewhere, so the
/// derivative at 0 is `scale * alpha` (PyTorch's convention for ELU and SELU).
fn elu<const D: usize>(x: Tensor<D>, alpha: f64, scale: f64) -> Tensor<D> {
    let negative = x.clone().lower_equal_elem(0.0);
    let exp_part = x.clone().exp().sub_scalar(1.0).mul_scalar(alpha * scale);
    x.mul_scalar(scale).mask_where(negative, exp_part)
}

/// Clamp with zero derivative at and beyond the bounds (torch.nn.Hardtanh).
fn hard_tanh<const D: usize>(x: Tensor<D>, min: f64, max: f64) -> Tensor<D> {
    let low = x.clone().lower_equal_elem(min);
    let high = x.clone().greater_equal_elem(max);
    x.mask_fill(low, min).mask_fill(high, max)
}
