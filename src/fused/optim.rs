//! The optimizer step on flex in one pass per state tensor, written over the
//! tensor it replaces when nothing else holds it: SGD (momentum, Nesterov,
//! weight decay) and Adam (AdamW, whose update Burn computes another way,
//! keeps Burn's step).
//!
//! Why: Burn's step is a chain of element-wise tensor ops, each a pass over
//! the parameter with a new allocation: five for SGD with momentum, about
//! ten for Adam (docs/src/performance.md: what the profile of w4 shows before and
//! after).
//!
//! Each pass does Burn's operations in Burn's order without fused
//! multiply-adds, so the step is Burn's to the bit (tested), and the state
//! is recorded under Burn's names (`momentum.velocity`; Adam's own state
//! type), so a checkpoint of either loads into the other (tested). Off flex
//! (ndarray, wgpu) the same optimizers run Burn's tensor ops.

use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, AutodiffBackend, Backend, Dispatch, Flex, TensorMetadata, backend_extension};
use burn::optim::{
    AdamState, AdaptiveMomentumState, LearningRate, ModuleOptimizer, Optimizer, RecordState, StateSink, StateSource,
    join_path,
};
use burn::tensor::{Device, Tensor};
use rayon::prelude::*;

use super::simd::{on_path, widest_path};
use super::{contiguous, f32_tensor, values};

#[backend_extension(Flex, Autodiff)]
pub trait FusedStep: Backend {
    /// `a * x + b * y` element-wise.
    fn axpby(x: FloatTensor<Self>, y: FloatTensor<Self>, a: f32, b: f32) -> FloatTensor<Self>;
    /// `a * x + b * (y * y)` element-wise (Adam's second moment).
    fn axpby_square(x: FloatTensor<Self>, y: FloatTensor<Self>, a: f32, b: f32) -> FloatTensor<Self>;
    /// `p - lr * ((m * c) / (sqrt(v) + eps))` element-wise (Adam's update).
    fn adam_update(
        p: FloatTensor<Self>,
        m: FloatTensor<Self>,
        v: FloatTensor<Self>,
        scalars: AdamScalars,
    ) -> FloatTensor<Self>;
}

/// The scalars of one Adam update.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamScalars {
    /// `sqrt(1 - beta_2^t) / (1 - beta_1^t)`.
    pub c: f32,
    /// `epsilon * sqrt(1 - beta_2^t)`.
    pub eps: f32,
    pub lr: f32,
}

/// Element-wise passes, identical whatever the path (no fused multiply-add).
#[derive(Debug, Clone, Copy)]
enum Pass {
    Axpby { a: f32, b: f32 },
    AxpbySquare { a: f32, b: f32 },
    Adam(AdamScalars),
}

impl Pass {
    /// `x[i] = f(x[i], y[i], z[i])` (z only for Adam's update).
    #[inline(always)]
    fn run_portable(self, x: &mut [f32], y: &[f32], z: &[f32]) {
        match self {
            Pass::Axpby { a, b } => x.iter_mut().zip(y).for_each(|(x, &y)| *x = a * *x + b * y),
            Pass::AxpbySquare { a, b } => x.iter_mut().zip(y).for_each(|(x, &y)| *x = a * *x + b * (y * y)),
            Pass::Adam(s) => x
                .iter_mut()
                .zip(y.iter().zip(z))
                .for_each(|(p, (&m, &v))| *p -= s.lr * ((m * s.c) / (v.sqrt() + s.eps))),
        }
    }

    fn run(self, x: &mut [f32], y: &[f32], z: &[f32]) {
        let pass = self;
        on_path!(widest_path(), Pass::run_portable, (pass: Pass, x: &mut [f32], y: &[f32], z: &[f32]))
    }
}

/// Above this many elements the pass is split over the current rayon pool
/// (the first layer's 100,352 weights; the 128 x 128 ones stay on one thread,
/// where waking a second costs about what it saves).
const PARALLEL_ABOVE: usize = 1 << 16;
const CHUNK: usize = 1 << 14;

/// `pass` over `x` (written in place when nothing else holds its buffer,
/// else into a new one) with `y` and `z` (same length; `z` may be empty).
fn apply(mut x: FlexTensor, y: &FlexTensor, z: Option<&FlexTensor>, pass: Pass) -> FlexTensor {
    let y = contiguous(y);
    let z = z.map(contiguous);
    let (ys, zs) = (values(&y), z.as_ref().map_or(&[][..], values));
    let n = ys.len();
    let run = |xs: &mut [f32]| {
        if n > PARALLEL_ABOVE {
            let z_chunks: Vec<&[f32]> =
                if zs.is_empty() { vec![&[][..]; n.div_ceil(CHUNK)] } else { zs.chunks(CHUNK).collect() };
            xs.par_chunks_mut(CHUNK)
                .zip(ys.par_chunks(CHUNK))
                .zip(z_chunks.into_par_iter())
                .for_each(|((x, y), z)| pass.run(x, y, z));
        } else {
            pass.run(xs, ys, zs);
        }
    };
    // In place: contiguous from offset 0, its buffer exactly its elements, held by nothing else.
    if x.as_slice::<f32>().is_some_and(|s| s.len() == n)
        && let Some(xs) = x.try_storage_mut::<f32>().filter(|s| s.len() == n)
    {
        run(xs);
        return x;
    }
    let x = contiguous(&x);
    let mut out = values(&x).to_vec();
    run(&mut out);
    f32_tensor(out, x.shape().to_vec())
}

impl FusedStep for Flex {
    fn axpby(x: FlexTensor, y: FlexTensor, a: f32, b: f32) -> FlexTensor {
        apply(x, &y, None, Pass::Axpby { a, b })
    }

    fn axpby_square(x: FlexTensor, y: FlexTensor, a: f32, b: f32) -> FlexTensor {
        apply(x, &y, None, Pass::AxpbySquare { a, b })
    }

    fn adam_update(p: FlexTensor, m: FlexTensor, v: FlexTensor, scalars: AdamScalars) -> FlexTensor {
        apply(p, &m, Some(&v), Pass::Adam(scalars))
    }
}

/// Optimizer steps are never differentiated: the result is a new leaf.
impl<B: FusedStep, C: CheckpointStrategy> FusedStep for Autodiff<B, C> {
    fn axpby(x: FloatTensor<Self>, y: FloatTensor<Self>, a: f32, b: f32) -> FloatTensor<Self> {
        let inner = <Self as AutodiffBackend>::inner;
        <Self as AutodiffBackend>::from_inner(B::axpby(inner(x), inner(y), a, b))
    }

    fn axpby_square(x: FloatTensor<Self>, y: FloatTensor<Self>, a: f32, b: f32) -> FloatTensor<Self> {
        let inner = <Self as AutodiffBackend>::inner;
        <Self as AutodiffBackend>::from_inner(B::axpby_square(inner(x), inner(y), a, b))
    }

    fn adam_update(
        p: FloatTensor<Self>,
        m: FloatTensor<Self>,
        v: FloatTensor<Self>,
        scalars: AdamScalars,
    ) -> FloatTensor<Self> {
        let inner = <Self as AutodiffBackend>::inner;
        <Self as AutodiffBackend>::from_inner(B::adam_update(inner(p), inner(m), inner(v), scalars))
    }
}

/// `a * x + b * y`: one pass on flex, Burn's ops (in the same order) elsewhere.
fn axpby<const D: usize>(x: Tensor<D>, y: Tensor<D>, a: f32, b: f32) -> Tensor<D> {
    if super::on_flex_f32(&x) && super::on_flex_f32(&y) {
        Tensor::from_dispatch(Dispatch::axpby(x.into_dispatch(), y.into_dispatch(), a, b))
    } else {
        // A factor of 1 is skipped: x * 1 is x, and a GPU is spared a kernel.
        let x = if a == 1.0 { x } else { x.mul_scalar(a) };
        x.add(if b == 1.0 { y } else { y.mul_scalar(b) })
    }
}

/// `a * x + b * y^2`: one pass on flex, Burn's ops elsewhere.
fn axpby_square<const D: usize>(x: Tensor<D>, y: Tensor<D>, a: f32, b: f32) -> Tensor<D> {
    if super::on_flex_f32(&x) && super::on_flex_f32(&y) {
        Tensor::from_dispatch(Dispatch::axpby_square(x.into_dispatch(), y.into_dispatch(), a, b))
    } else {
        x.mul_scalar(a).add(y.square().mul_scalar(b))
    }
}

/// Adam's update of `p`: one pass on flex, Burn's ops elsewhere.
fn adam_update<const D: usize>(p: Tensor<D>, m: Tensor<D>, v: Tensor<D>, s: AdamScalars) -> Tensor<D> {
    if super::on_flex_f32(&p) && super::on_flex_f32(&m) && super::on_flex_f32(&v) {
        Tensor::from_dispatch(Dispatch::adam_update(p.into_dispatch(), m.into_dispatch(), v.into_dispatch(), s))
    } else {
        let step = m.mul_scalar(s.c).div(v.sqrt().add_scalar(s.eps)).mul_scalar(s.lr);
        p.sub(step)
    }
}

/// SGD as PyTorch defines it (and Burn's `Sgd` computes it): `g += wd * p`;
/// `v = momentum * v + (1 - dampening) * g` (`v = g` at the first step);
/// `p -= lr * (nesterov ? g + momentum * v : v)`.
#[derive(Debug, Clone)]
pub struct Sgd {
    pub weight_decay: Option<f32>,
    pub momentum: Option<SgdMomentum>,
}

#[derive(Debug, Clone, Copy)]
pub struct SgdMomentum {
    pub momentum: f32,
    /// f64 as Burn keeps it: `1 - dampening` is taken in f64, then rounded.
    pub dampening: f64,
    pub nesterov: bool,
}

/// Burn's `SgdState` as it is recorded: the velocity under `momentum.velocity`.
#[derive(Clone)]
pub struct SgdState<const D: usize> {
    pub velocity: Option<Tensor<D>>,
}

impl<const D: usize> RecordState for SgdState<D> {
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        if let Some(v) = &self.velocity {
            out.push_tensor(&join_path(prefix, "momentum"), "velocity", v.clone().into_data());
        }
    }

    fn state_unflatten(prefix: &str, src: &mut StateSource, device: &Device) -> Option<Self> {
        let path = join_path(prefix, "momentum");
        let velocity = if src.has_under(&path) {
            Some(Tensor::from_data(src.take_tensor(&path, "velocity")?, device))
        } else {
            None
        };
        Some(SgdState { velocity })
    }
}

impl Optimizer for Sgd {
    type State<const D: usize> = SgdState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        mut grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        if let Some(wd) = self.weight_decay {
            // Burn: tensor * wd + grad.
            grad = axpby(grad, tensor.clone(), 1.0, wd);
        }
        let mut velocity = None;
        if let Some(m) = &self.momentum {
            let v = match state.and_then(|s| s.velocity) {
                // Burn: grad * (1 - dampening) + velocity * momentum.
                Some(v) => axpby(v, grad.clone(), m.momentum, (1.0 - m.dampening) as f32),
                None => grad.clone(),
            };
            grad = match m.nesterov {
                // Burn: velocity * momentum + grad.
                true => axpby(grad, v.clone(), 1.0, m.momentum),
                false => v.clone(),
            };
            velocity = Some(v);
        }
        // Burn: tensor - grad * lr.
        let tensor = axpby(tensor, grad, 1.0, -(lr as f32));
        (tensor, Some(SgdState { velocity }))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        SgdState { velocity: state.velocity.map(|v| v.to_device(device)) }
    }
}

/// Adam with L2 `weight_decay` added to the gradient, as Burn computes it,
/// with Burn's own state (`AdamState`).
#[derive(Debug, Clone)]
pub struct Adam {
    pub beta_1: f32,
    pub beta_2: f32,
    pub epsilon: f32,
    pub weight_decay: f32,
}

impl Optimizer for Adam {
    type State<const D: usize> = AdamState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        mut grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        if self.weight_decay > 0.0 {
            grad = axpby(grad, tensor.clone(), 1.0, self.weight_decay);
        }
        let (b1, b2) = (self.beta_1, self.beta_2);
        let moments = match state {
            Some(AdamState { momentum: mut s }) => {
                s.moment_1 = axpby(s.moment_1, grad.clone(), b1, 1.0 - b1);
                s.moment_2 = axpby_square(s.moment_2, grad, b2, 1.0 - b2);
                s.time += 1;
                s
            }
            None => AdaptiveMomentumState {
                time: 1,
                moment_1: grad.clone().mul_scalar(1.0 - b1),
                moment_2: grad.square().mul_scalar(1.0 - b2),
                max_moment_2: None,
            },
        };
        let time = moments.time as i32;
        let bias_correction2_sqrt = (1.0 - b2.powi(time)).sqrt();
        let scalars = AdamScalars {
            c: bias_correction2_sqrt / (1.0 - b1.powi(time)),
            eps: self.epsilon * bias_correction2_sqrt,
            lr: lr as f32,
        };
        let tensor = adam_update(tensor, moments.moment_1.clone(), moments.moment_2.clone(), scalars);
        (tensor, Some(AdamState { momentum: moments }))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        AdamState { momentum: state.momentum.to_device(device) }
    }
}

/// The fused optimizers as Burn's module optimizer.
pub fn sgd(sgd: Sgd) -> ModuleOptimizer {
    ModuleOptimizer::from(sgd)
}

pub fn adam(adam: Adam) -> ModuleOptimizer {
    ModuleOptimizer::from(adam)
}

#[cfg(test)]
mod tests {
    use burn::nn::{Linear, LinearConfig};
    use burn::optim::decay::WeightDecayConfig;
    use burn::optim::momentum::MomentumConfig;
    use burn::optim::{AdamConfig, GradientsParams, SgdConfig};
    use burn::tensor::{Distribution, TensorData};

    use super::*;

    type Build = Box<dyn Fn() -> ModuleOptimizer>;

    /// A layer big enough for the parallel pass (784 x 128 > PARALLEL_ABOVE).
    fn layer(device: &Device) -> Linear {
        device.seed(7);
        LinearConfig::new(784, 128).init(device)
    }

    /// `steps` steps of `optim` on a fixed input (the loss: the outputs' squares).
    fn train(mut model: Linear, optim: &mut ModuleOptimizer, steps: usize, device: &Device) -> Linear {
        device.seed(11);
        let x = Tensor::<2>::random([16, 784], Distribution::Normal(0.0, 1.0), device);
        for _ in 0..steps {
            let loss = model.forward(x.clone()).powf_scalar(2.0).mean();
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(0.01, model, grads);
        }
        model
    }

    fn values(model: &Linear) -> (TensorData, TensorData) {
        (model.weight.val().into_data(), model.bias.as_ref().expect("a bias").val().into_data())
    }

    /// The fused step equals Burn's to the bit on flex (the parallel pass
    /// and the single-thread one), for every setting actbench builds; and a
    /// record of either, loaded into the other, trains on to the same bits.
    #[test]
    fn equals_burns_step_and_reads_and_writes_burns_records() {
        let device = Device::flex().autodiff();
        let momentum = |nesterov| MomentumConfig::new().with_momentum(0.9).with_dampening(0.0).with_nesterov(nesterov);
        let cases: Vec<(&str, Build, Build)> = vec![
            ("sgd", Box::new(|| SgdConfig::new().init()), Box::new(|| sgd(Sgd { weight_decay: None, momentum: None }))),
            (
                "sgd momentum, weight decay",
                Box::new(move || {
                    SgdConfig::new()
                        .with_momentum(Some(momentum(false)))
                        .with_weight_decay(Some(WeightDecayConfig::new(0.01)))
                        .init()
                }),
                Box::new(|| {
                    let m = SgdMomentum { momentum: 0.9, dampening: 0.0, nesterov: false };
                    sgd(Sgd { weight_decay: Some(0.01), momentum: Some(m) })
                }),
            ),
            (
                "sgd nesterov",
                Box::new(move || SgdConfig::new().with_momentum(Some(momentum(true))).init()),
                Box::new(|| {
                    let m = SgdMomentum { momentum: 0.9, dampening: 0.0, nesterov: true };
                    sgd(Sgd { weight_decay: None, momentum: Some(m) })
                }),
            ),
            (
                "adam, weight decay",
                Box::new(|| {
                    AdamConfig::new().with_epsilon(1e-8).with_weight_decay(Some(WeightDecayConfig::new(0.01))).init()
                }),
                Box::new(|| adam(Adam { beta_1: 0.9, beta_2: 0.999, epsilon: 1e-8, weight_decay: 0.01 })),
            ),
        ];
        for (name, burns, fused) in &cases {
            let (mut b, mut f) = (burns(), fused());
            let by_burn = train(layer(&device), &mut b, 3, &device);
            let by_fused = train(layer(&device), &mut f, 3, &device);
            assert_eq!(values(&by_burn), values(&by_fused), "{name}: 3 steps");
            assert_ne!(values(&by_burn), values(&layer(&device)), "{name}: the steps changed the layer");
            // Each optimizer's record read by the other, then 2 more steps of each.
            let (b_record, f_record) = (b.to_record(), f.to_record());
            let mut f_from_b = fused().load_record(b_record);
            let mut b_from_f = burns().load_record(f_record);
            let on = train(by_burn.clone(), &mut b, 2, &device);
            assert_eq!(
                values(&on),
                values(&train(by_burn.clone(), &mut f_from_b, 2, &device)),
                "{name}: Burn's record"
            );
            assert_eq!(
                values(&on),
                values(&train(by_fused.clone(), &mut b_from_f, 2, &device)),
                "{name}: fused record"
            );
        }
    }
}
