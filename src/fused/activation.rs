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
