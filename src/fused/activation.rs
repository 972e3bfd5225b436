//! The fused activations as a Burn backend extension
//! (burn-book/src/advanced/backend-extension): one op for the forward pass on
//! the flex backend, and a hand-written backward pass that computes
//! `grad * f'(x)` in one more pass from the saved input, instead of autodiff's
//! chain of primitive ops that recomputes `exp`/`erf` in the backward.
//!
//! Other backends (ndarray, wgpu) keep the composed tensor ops of
//! `module.rs`, which also serve as the reference the tests compare against.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, TensorMetadata, backend_extension};
use burn::tensor::Tensor;
use rayon::prelude::*;

use super::kernels::{self, Pointwise};
use super::{contiguous, f32_tensor, values};

#[backend_extension(Flex, Autodiff)]
pub trait FusedActivation: Backend {
    /// `f(x)` element-wise.
    fn fused_activation(x: FloatTensor<Self>, op: Pointwise) -> FloatTensor<Self>;
}

/// The backward kernel, called only by the autodiff implementation on the
/// inner backend (so it needs no dispatch).
pub trait FusedActivationBackward: Backend {
    /// `grad * f'(x)` element-wise.
    fn fused_activation_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>, op: Pointwise) -> FloatTensor<Self>;
}

/// Whether the fused op pays for `op` on `len` elements: always, but for
/// ReLU, whose single pass Burn's op does as fast on one thread; the fused
/// op gains there only by splitting a large pass over the pool (a ResNet's
/// feature maps: Burn's element-wise ops run on one thread).
pub fn pays(op: Pointwise, len: usize) -> bool {
    op != Pointwise::Relu || len > PARALLEL_ABOVE
}

/// `f(x)` through the fused op; call only where `super::on_flex_f32(&x)`.
pub fn apply<const D: usize>(x: Tensor<D>, op: Pointwise) -> Tensor<D> {
    Tensor::from_dispatch(Dispatch::fused_activation(x.into_dispatch(), op))
}

/// Below this many elements one thread does the pass (a training batch of
/// 128 x 128 takes ~10 us); above it the pass is split over the current rayon
/// pool, which `--jobs` sizes per worker.
const PARALLEL_ABOVE: usize = 1 << 16;
const CHUNK: usize = 1 << 14;

impl FusedActivation for Flex {
    fn fused_activation(x: FlexTensor, op: Pointwise) -> FlexTensor {
        let x = contiguous(&x);
        let input = values(&x);
        let mut out = vec![0.0f32; input.len()];
        if input.len() > PARALLEL_ABOVE {
            out.par_chunks_mut(CHUNK).zip(input.par_chunks(CHUNK)).for_each(|(o, i)| kernels::forward(op, i, o));
        } else {
            kernels::forward(op, input, &mut out);
        }
        f32_tensor(out, x.shape().to_vec())
    }
}

impl FusedActivationBackward for Flex {
    fn fused_activation_backward(x: FlexTensor, grad: FlexTensor, op: Pointwise) -> FlexTensor {
        let (x, grad) = (contiguous(&x), contiguous(&grad));
        let (input, upstream) = (values(&x), values(&grad));
        let mut out = vec![0.0f32; input.len()];
        if input.len() > PARALLEL_ABOVE {
            out.par_chunks_mut(CHUNK)
                .zip(input.par_chunks(CHUNK).zip(upstream.par_chunks(CHUNK)))
                .for_each(|(o, (i, g))| kernels::backward(op, i, g, o));
        } else {
            kernels::backward(op, input, upstream, &mut out);
        }
        f32_tensor(out, x.shape().to_vec())
    }
}

impl<B: FusedActivation + FusedActivationBackward, C: CheckpointStrategy> FusedActivation for Autodiff<B, C> {
    fn fused_activation(x: FloatTensor<Self>, op: Pointwise) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct FusedBackward(Pointwise);

        impl<B: FusedActivationBackward> Backward<B, 1> for FusedBackward {
            /// The input: the derivative is computed from it in one pass.
            type State = FloatTensor<B>;

            fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
                let input = ops.state;
                unary::<B, _>(ops.parents, ops.node, grads, |grad| B::fused_activation_backward(input, grad, self.0));
            }
        }

        match FusedBackward(op).prepare::<C>([x.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let input = x.into_primitive();
                let output = B::fused_activation(input.clone(), op);
                prep.finish(input, output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::fused_activation(x.into_primitive(), op)),
        }
    }
}

#[backend_extension(Flex, Autodiff)]
pub trait FusedAddRelu: Backend {
    /// `max(0, a + b)` element-wise, `a` and `b` of one shape.
    fn fused_add_relu(a: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// The backward kernel: `grad` where `out > 0`, else 0.
pub trait FusedAddReluBackward: Backend {
    fn add_relu_backward(out: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// `relu(a + b)`, a residual block's output (He et al. 2016), in one pass
/// split over the pool on flex (f32); Burn's ops elsewhere. Burn's `add` and
/// `relu` are two passes on one thread, over the largest tensors of a
/// ResNet (8 MB a block at batch 128 in its first stage), and the backward
/// two more. The gradient is the same for both inputs: `grad * (out > 0)`,
/// ReLU's derivative 0 at 0 as Burn's and PyTorch's.
pub fn add_relu<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> Tensor<D> {
    if super::on_flex_f32(&a) {
        Tensor::from_dispatch(Dispatch::fused_add_relu(a.into_dispatch(), b.into_dispatch()))
    } else {
        burn::tensor::activation::relu(a + b)
    }
}

/// `f(a[i], b[i])` for every element, in chunks of [`CHUNK`] split over the
/// pool, each output element written once: a zeroed `vec!` first was a
/// pass of its own (`memset`, 1% of w9's step, perf 2026-12-07).
fn par_zip_map(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32 + Sync + Send) -> Vec<f32> {
    let len = a.len();
    let mut out = Vec::<f32>::with_capacity(len);
    out.spare_capacity_mut()[..len].par_chunks_mut(CHUNK).zip(a.par_chunks(CHUNK).zip(b.par_chunks(CHUNK))).for_each(
        |(o, (a, b))| {
            for ((o, &a), &b) in o.iter_mut().zip(a).zip(b) {
                o.write(f(a, b));
            }
        },
    );
    // SAFETY: the chunks cover 0..len (`a` and `b` hold `len` values each), every element written above.
    unsafe { out.set_len(len) };
    out
}

impl FusedAddRelu for Flex {
    fn fused_add_relu(a: FlexTensor, b: FlexTensor) -> FlexTensor {
        let (a, b) = (contiguous(&a), contiguous(&b));
        let (xs, ys) = (values(&a), values(&b));
        assert_eq!(xs.len(), ys.len(), "add_relu: operands of one shape");
        let out = par_zip_map(xs, ys, |x, y| {
            let s = x + y;
            if s > 0.0 { s } else { 0.0 }
        });
        f32_tensor(out, a.shape().to_vec())
    }
}

impl FusedAddReluBackward for Flex {
    fn add_relu_backward(out: FlexTensor, grad: FlexTensor) -> FlexTensor {
        let (out, grad) = (contiguous(&out), contiguous(&grad));
        let (os, gs) = (values(&out), values(&grad));
        let dx = par_zip_map(os, gs, |o, g| if o > 0.0 { g } else { 0.0 });
        f32_tensor(dx, out.shape().to_vec())
    }
}

impl<B: FusedAddRelu + FusedAddReluBackward, C: CheckpointStrategy> FusedAddRelu for Autodiff<B, C> {
    fn fused_add_relu(a: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct AddReluBackward;

        impl<B: FusedAddReluBackward> Backward<B, 2> for AddReluBackward {
            /// The output: its sign is the mask.
            type State = FloatTensor<B>;

            fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
                let [node_a, node_b] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                let dx = B::add_relu_backward(ops.state, grad);
                if let Some(node) = node_b {
                    grads.register::<B>(node.id, dx.clone());
                }
                if let Some(node) = node_a {
                    grads.register::<B>(node.id, dx);
                }
            }
        }

        match AddReluBackward.prepare::<C>([a.node(), b.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let output = B::fused_add_relu(a.into_primitive(), b.into_primitive());
                prep.finish(output.clone(), output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::fused_add_relu(a.into_primitive(), b.into_primitive())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    /// The output and both inputs' gradients against Burn's `relu(a + b)`,
    /// with values on both sides of 0 and sums that are exactly 0.
    #[test]
    fn add_relu_equals_burns_ops() {
        let device = Device::flex().autodiff();
        let dims = [3, 4, 37, 41];
        let n: usize = dims.iter().product();
        let values = |salt: usize| -> Vec<f32> { (0..n).map(|i| (((i + salt) * 7919) % 17) as f32 - 8.0).collect() };
        let up = Tensor::<4>::from_data(TensorData::new(values(3), dims), &device);
        let run = |fused: bool| {
            let a = Tensor::<4>::from_data(TensorData::new(values(1), dims), &device).require_grad();
            let b = Tensor::<4>::from_data(TensorData::new(values(2), dims), &device).require_grad();
            let y = if fused {
                add_relu(a.clone(), b.clone())
            } else {
                burn::tensor::activation::relu(a.clone() + b.clone())
            };
            let grads = (y.clone() * up.clone()).sum().backward();
            let read = |t: Tensor<4>| t.into_data().try_to_vec::<f32>().unwrap();
            [read(y), read(a.grad(&grads).unwrap()), read(b.grad(&grads).unwrap())]
        };
        let (fused, plain) = (run(true), run(false));
        assert!(plain[0].contains(&0.0) && plain[0].iter().any(|&v| v > 0.0));
        assert_eq!(fused, plain);
    }
}
