//! A ResNet's option-A shortcut (He et al. 2016, section 4.2) on the flex
//! backend as one Burn backend extension op: `x[:, :, ::s, ::s]` with zero
//! channels before and after, `[n, c, h, w] -> [n, before + c + after,
//! ceil(h / s), ceil(w / s)]`, and its backward, the gradient's middle
//! channels scattered back onto a zero input gradient. Both split over the
//! samples in the current rayon pool.
//!
//! Why: composed from Burn's ops (a strided slice, zero tensors and `cat`)
//! the shortcut's forward and backward (`slice_assign` onto zeros, then
//! contiguous copies of `cat`'s parts) run on one thread while the pool
//! waits: 2% of w9's step at its two stage changes (perf, per thread,
//! 2026-12-07).

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, TensorMetadata, backend_extension};
use burn::tensor::{Shape, Tensor};

use super::{contiguous, f32_tensor, par_filled, values};

#[backend_extension(Flex, Autodiff)]
pub trait FusedShortcutA: Backend {
    /// `x [n, c, h, w]` subsampled by `stride` in both spatial axes, with
    /// `pad [before, after]` zero channels around its own.
    fn fused_shortcut_a(x: FloatTensor<Self>, stride: usize, pad: [usize; 2]) -> FloatTensor<Self>;
}

/// The backward, called by the autodiff implementation on the inner backend.
pub trait FusedShortcutABackward: Backend {
    /// The input gradient `[n, c, h, w]` (`x_shape`) from the output's.
    fn shortcut_a_backward(grad: FloatTensor<Self>, x_shape: Shape, stride: usize, before: usize) -> FloatTensor<Self>;
}

/// The option-A shortcut of `x`; call only where `super::on_flex_f32(&x)`.
pub fn option_a(x: Tensor<4>, stride: usize, before: usize, after: usize) -> Tensor<4> {
    Tensor::from_dispatch(Dispatch::fused_shortcut_a(x.into_dispatch(), stride, [before, after]))
}

/// `[n, c, h, w]`, the output's height and width, and its channels.
fn sizes(x: &Shape, stride: usize, [before, after]: [usize; 2]) -> ([usize; 4], usize, usize, usize) {
    let [n, c, h, w] = [x[0], x[1], x[2], x[3]];
    ([n, c, h, w], h.div_ceil(stride), w.div_ceil(stride), before + c + after)
}

impl FusedShortcutA for Flex {
    fn fused_shortcut_a(x: FlexTensor, stride: usize, pad: [usize; 2]) -> FlexTensor {
        let ([n, c, h, w], oh, ow, channels) = sizes(&x.shape(), stride, pad);
        let x = contiguous(&x);
        let xs = values(&x);
        let plane = oh * ow;
        let out = par_filled(
            n * channels * plane,
            channels * plane,
            || (),
            |_, i, out| {
                let sample = &xs[i * c * h * w..(i + 1) * c * h * w];
                let middle = &mut out[pad[0] * plane..(pad[0] + c) * plane];
                for (ci, dst) in middle.chunks_exact_mut(plane).enumerate() {
                    for (y, row) in dst.chunks_exact_mut(ow).enumerate() {
                        let src = &sample[(ci * h + y * stride) * w..][..w];
                        for (v, s) in row.iter_mut().zip(src.iter().step_by(stride)) {
                            *v = *s;
                        }
                    }
                }
            },
        );
        f32_tensor(out, vec![n, channels, oh, ow])
    }
}

impl FusedShortcutABackward for Flex {
    fn shortcut_a_backward(grad: FlexTensor, x_shape: Shape, stride: usize, before: usize) -> FlexTensor {
        let channels = grad.shape()[1];
        let ([n, c, h, w], oh, ow, _) = sizes(&x_shape, stride, [before, channels - before - x_shape[1]]);
        let grad = contiguous(&grad);
        let gs = values(&grad);
        let plane = oh * ow;
        let dx = par_filled(
            n * c * h * w,
            c * h * w,
            || (),
            |_, i, dx| {
                let sample = &gs[(i * channels + before) * plane..][..c * plane];
                for (ci, src) in sample.chunks_exact(plane).enumerate() {
                    for (y, row) in src.chunks_exact(ow).enumerate() {
                        let dst = &mut dx[(ci * h + y * stride) * w..][..w];
                        for (d, g) in dst.iter_mut().step_by(stride).zip(row) {
                            *d = *g;
                        }
                    }
                }
            },
        );
        f32_tensor(dx, x_shape.to_vec())
    }
}

impl<B: FusedShortcutA + FusedShortcutABackward, C: CheckpointStrategy> FusedShortcutA for Autodiff<B, C> {
    fn fused_shortcut_a(x: FloatTensor<Self>, stride: usize, pad: [usize; 2]) -> FloatTensor<Self> {
        /// The stride and the zero channels before the input's.
        #[derive(Debug)]
        struct ShortcutBackward(usize, usize);

        impl<B: FusedShortcutABackward> Backward<B, 1> for ShortcutBackward {
            /// The input's shape.
            type State = Shape;

            fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
                let shape = ops.state;
                unary::<B, _>(ops.parents, ops.node, grads, |grad| B::shortcut_a_backward(grad, shape, self.0, self.1));
            }
        }

        match ShortcutBackward(stride, pad[0]).prepare::<C>([x.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let shape = x.shape();
                prep.finish(shape, B::fused_shortcut_a(x.into_primitive(), stride, pad))
            }
            OpsKind::UnTracked(prep) => prep.finish(B::fused_shortcut_a(x.into_primitive(), stride, pad)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData, s};

    /// Output and input gradient against Burn's composition (a strided
    /// slice and `cat` with zeros): even and odd sides, strides 1 to 3,
    /// zero channels on one side or both, a non-uniform upstream gradient.
    #[test]
    fn option_a_equals_burns_composition() {
        let device = Device::flex().autodiff();
        let values = |n: usize, salt: usize| -> Vec<f32> {
            (0..n).map(|i| (((i + salt) * 7919) % 1013) as f32 / 500.0 - 1.0).collect()
        };
        for (n, c, h, w, stride, before, after) in [
            (3usize, 2, 8usize, 8usize, 2usize, 1, 1),
            (2, 3, 7, 5, 2, 0, 3),
            (2, 2, 6, 9, 3, 2, 0),
            (1, 4, 4, 4, 1, 2, 2),
        ] {
            let (oh, ow, channels) = (h.div_ceil(stride), w.div_ceil(stride), before + c + after);
            let upstream = Tensor::<4>::from_data(
                TensorData::new(values(n * channels * oh * ow, 3), [n, channels, oh, ow]),
                &device,
            );
            let run = |fused: bool| {
                let x = Tensor::<4>::from_data(TensorData::new(values(n * c * h * w, 1), [n, c, h, w]), &device)
                    .require_grad();
                let y = if fused {
                    option_a(x.clone(), stride, before, after)
                } else {
                    let step = stride as isize;
                    let sub = x.clone().slice(s![.., .., ..;step, ..;step]);
                    let mut parts = vec![];
                    if before > 0 {
                        parts.push(Tensor::zeros([n, before, oh, ow], &device));
                    }
                    parts.push(sub);
                    if after > 0 {
                        parts.push(Tensor::zeros([n, after, oh, ow], &device));
                    }
                    Tensor::cat(parts, 1)
                };
                let grads = (y.clone() * upstream.clone()).sum().backward();
                let read = |t: Tensor<4>| t.into_data().try_to_vec::<f32>().unwrap();
                (y.dims(), read(y), read(x.grad(&grads).unwrap()))
            };
            assert_eq!(run(true), run(false), "n {n} c {c} {h}x{w} stride {stride} pad {before}+{after}");
        }
    }
}
