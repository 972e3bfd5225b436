//! 2 x 2 max pooling with stride 2 (every convolution block's pooling in
//! `model.rs`) on the flex backend as one Burn backend extension op: one
//! pass over the input for the maxima, and a backward that routes each
//! output's gradient to its window's maximum, found again in the saved input.
//!
//! Why: burn-flex's `max_pool2d_with_indices` (what autodiff calls) took 31%
//! of bench w5's time (LeNet-like CNN; perf record with DWARF call graphs),
//! more than the convolutions.
//!
//! Ties go to the first maximum in row-major window order (PyTorch's and
//! Burn's choice); a NaN is not propagated (`f32::max` skips it).

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, TensorMetadata, backend_extension};
use burn::tensor::Tensor;
use burn::tensor::module::max_pool2d;
use burn::tensor::ops::MaxPoolOptions;
use rayon::prelude::*;

use super::{contiguous, f32_tensor, values};

#[backend_extension(Flex, Autodiff)]
pub trait FusedMaxPool: Backend {
    /// `[n, c, h, w]` -> `[n, c, h / 2, w / 2]` (rounded down).
    fn max_pool_2x2(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// The backward, called by the autodiff implementation on the inner backend.
pub trait FusedMaxPoolBackward: Backend {
    /// The input's gradient: each output's gradient at its window's maximum in `x`, zero elsewhere.
    fn max_pool_2x2_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// `max_pool2d(x, 2x2, stride 2)`, through the fused op on flex (f32).
pub fn max_pool_2x2(x: Tensor<4>) -> Tensor<4> {
    if super::on_flex_f32(&x) {
        Tensor::from_dispatch(Dispatch::max_pool_2x2(x.into_dispatch()))
    } else {
        max_pool2d(x, MaxPoolOptions::new([2, 2]))
    }
}

/// The largest of a 2x2 window, branch-free so that the loops vectorise.
#[inline(always)]
fn window_max(a: f32, b: f32, c: f32, d: f32) -> f32 {
    a.max(b).max(c.max(d))
}

/// Runs `f(input plane, output plane)` for every (sample, channel) plane, in parallel.
fn planes(x: &[f32], out: &mut [f32], (h, w): (usize, usize), f: impl Fn(&[f32], &mut [f32]) + Sync) {
    let (oh, ow) = (h / 2, w / 2);
    // Whole planes per task: enough work to be worth a hand-off.
    out.par_chunks_mut(oh * ow).zip(x.par_chunks(h * w)).with_min_len(16).for_each(|(o, i)| f(i, o));
}

impl FusedMaxPool for Flex {
    fn max_pool_2x2(x: FlexTensor) -> FlexTensor {
        let shape = x.shape();
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3]);
        let (oh, ow) = (h / 2, w / 2);
        let x = contiguous(&x);
        let mut out = vec![0.0f32; n * c * oh * ow];
        planes(values(&x), &mut out, (h, w), |input, output| {
            for (y, out_row) in output.chunks_exact_mut(ow).enumerate() {
                let (top, bottom) = (&input[2 * y * w..][..2 * ow], &input[(2 * y + 1) * w..][..2 * ow]);
                for (x, o) in out_row.iter_mut().enumerate() {
                    *o = window_max(top[2 * x], top[2 * x + 1], bottom[2 * x], bottom[2 * x + 1]);
                }
            }
        });
        f32_tensor(out, vec![n, c, oh, ow])
    }
}

impl FusedMaxPoolBackward for Flex {
    fn max_pool_2x2_backward(x: FlexTensor, grad: FlexTensor) -> FlexTensor {
        let shape = x.shape();
        let (h, w) = (shape[2], shape[3]);
        let (oh, ow) = (h / 2, w / 2);
        let (x, grad) = (contiguous(&x), contiguous(&grad));
        let (xs, gs) = (values(&x), values(&grad));
        let mut dx = vec![0.0f32; xs.len()];
        dx.par_chunks_mut(h * w).zip(xs.par_chunks(h * w).zip(gs.par_chunks(oh * ow))).with_min_len(16).for_each(
            |(dx, (input, grad))| {
                for (y, grad_row) in grad.chunks_exact(ow).enumerate() {
                    let (top, bottom) = (&input[2 * y * w..][..2 * ow], &input[(2 * y + 1) * w..][..2 * ow]);
                    let (dx_top, dx_bottom) = dx[2 * y * w..].split_at_mut(w);
                    let (dx_top, dx_bottom) = (&mut dx_top[..2 * ow], &mut dx_bottom[..2 * ow]);
                    for (x, &g) in grad_row.iter().enumerate() {
                        let (a, b, c, d) = (top[2 * x], top[2 * x + 1], bottom[2 * x], bottom[2 * x + 1]);
                        let m = window_max(a, b, c, d);
                        // The first element equal to the maximum, in row-major order.
                        let first = a == m;
                        let second = !first && b == m;
                        let third = !first && !second && c == m;
                        let fourth = !(first || second || third);
                        dx_top[2 * x] = if first { g } else { 0.0 };
                        dx_top[2 * x + 1] = if second { g } else { 0.0 };
                        dx_bottom[2 * x] = if third { g } else { 0.0 };
                        dx_bottom[2 * x + 1] = if fourth { g } else { 0.0 };
                    }
                }
            },
        );
        f32_tensor(dx, shape.to_vec())
    }
}

impl<B: FusedMaxPool + FusedMaxPoolBackward, C: CheckpointStrategy> FusedMaxPool for Autodiff<B, C> {
    fn max_pool_2x2(x: FloatTensor<Self>) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct PoolBackward;

        impl<B: FusedMaxPoolBackward> Backward<B, 1> for PoolBackward {
            /// The input: the maxima are found again from it.
            type State = FloatTensor<B>;

            fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
                let input = ops.state;
                unary::<B, _>(ops.parents, ops.node, grads, |grad| B::max_pool_2x2_backward(input, grad));
            }
        }

        match PoolBackward.prepare::<C>([x.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let input = x.into_primitive();
                let output = B::max_pool_2x2(input.clone());
                prep.finish(input, output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::max_pool_2x2(x.into_primitive())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    /// Output and input gradient against Burn's `max_pool2d` on the same
    /// backend, for even and odd sizes (the last row/column dropped), with
    /// ties (zeros, as after a ReLU) and a non-uniform upstream gradient.
    #[test]
    fn fused_pool_equals_burns_pool() {
        let device = Device::flex().autodiff();
        for (n, c, h, w) in [(2, 3, 8, 6), (3, 2, 7, 9)] {
            let values: Vec<f32> =
                (0..n * c * h * w).map(|i| (((i * 7919) % 23) as f32 - 11.0).max(0.0) / 4.0).collect();
            let upstream: Vec<f32> = (0..n * c * (h / 2) * (w / 2)).map(|i| ((i * 31) % 17) as f32 - 8.0).collect();
            let upstream = Tensor::<4>::from_data(TensorData::new(upstream, [n, c, h / 2, w / 2]), &device);
            let run = |fused: bool| {
                let x = Tensor::<4>::from_data(TensorData::new(values.clone(), [n, c, h, w]), &device).require_grad();
                let y =
                    if fused { max_pool_2x2(x.clone()) } else { max_pool2d(x.clone(), MaxPoolOptions::new([2, 2])) };
                let grads = (y.clone() * upstream.clone()).sum().backward();
                (
                    y.into_data().try_to_vec::<f32>().unwrap(),
                    x.grad(&grads).unwrap().into_data().try_to_vec::<f32>().unwrap(),
                )
            };
            let (fused, plain) = (run(true), run(false));
            assert_eq!(fused.0, plain.0, "output {n}x{c}x{h}x{w}");
            assert_eq!(fused.1, plain.1, "input gradient {n}x{c}x{h}x{w}");
        }
    }
}
