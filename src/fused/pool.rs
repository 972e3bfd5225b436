//! 2 x 2 max pooling with stride 2 (every convolution block's pooling in
//! `model/mod.rs`) on the flex backend as one Burn backend extension op: one
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

use super::{contiguous, f32_tensor, par_filled, values};

#[backend_extension(Flex, Autodiff)]
pub trait FusedMaxPool: Backend {
    /// `[n, c, h, w]` -> `[n, c, h / 2, w / 2]` (rounded down); with `relu`,
    /// `max(pool(x), 0)`, which equals `pool(relu(x))` (see `max_pool_2x2_relu`).
    fn max_pool_2x2(x: FloatTensor<Self>, relu: bool) -> FloatTensor<Self>;
}

/// The backward, called by the autodiff implementation on the inner backend.
pub trait FusedMaxPoolBackward: Backend {
    /// The input's gradient: each output's gradient at its window's maximum in
    /// `x`, zero elsewhere (and zero for the whole window where `relu` cut the maximum to 0).
    fn max_pool_2x2_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>, relu: bool) -> FloatTensor<Self>;
}

/// `max_pool2d(x, 2x2, stride 2)`, through the fused op on flex (f32).
pub fn max_pool_2x2(x: Tensor<4>) -> Tensor<4> {
    if super::on_flex_f32(&x) {
        Tensor::from_dispatch(Dispatch::max_pool_2x2(x.into_dispatch(), false))
    } else {
        max_pool2d(x, MaxPoolOptions::new([2, 2]))
    }
}

/// `max_pool2d(relu(x), 2x2, stride 2)` computed as `relu(max_pool2d(x))`:
/// the same values and the same gradient, bit for bit. Where a window's
/// maximum is positive, ReLU keeps every value at or above it unchanged, so
/// the first maximum is the same element; where it is not, both forms give
/// 0 and route no gradient (ReLU's derivative is 0 at and below 0, Burn's
/// and PyTorch's convention). One pass over the convolution's output instead
/// of three (ReLU, its backward mask, the pool).
pub fn max_pool_2x2_relu(x: Tensor<4>) -> Tensor<4> {
    if super::on_flex_f32(&x) {
        Tensor::from_dispatch(Dispatch::max_pool_2x2(x.into_dispatch(), true))
    } else {
        max_pool2d(burn::tensor::activation::relu(x), MaxPoolOptions::new([2, 2]))
    }
}

/// `count` output planes of `size` values each, `f(plane index, plane)`
/// writing each (zeroed first), in parallel.
fn planes(count: usize, size: usize, f: impl Fn(usize, &mut [f32]) + Sync + Send) -> Vec<f32> {
    // Whole planes per task, at least 16: enough work to be worth a hand-off.
    let per_task = size * 16.min(count.max(1));
    let f = &f;
    par_filled(
        count * size,
        per_task,
        || (),
        move |_, task, out| {
            for (j, plane) in out.chunks_exact_mut(size.max(1)).enumerate() {
                f(task * per_task / size.max(1) + j, plane);
            }
        },
    )
}

impl FusedMaxPool for Flex {
    fn max_pool_2x2(x: FlexTensor, relu: bool) -> FlexTensor {
        let shape = x.shape();
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3]);
        let (oh, ow) = (h / 2, w / 2);
        let x = contiguous(&x);
        let xs = values(&x);
        let out = planes(n * c, oh * ow, |p, output| {
            let input = &xs[p * h * w..][..h * w];
            for (y, out_row) in output.chunks_exact_mut(ow).enumerate() {
                let (top, bottom) = (&input[2 * y * w..][..2 * ow], &input[(2 * y + 1) * w..][..2 * ow]);
                rows::forward(top, bottom, out_row, relu);
            }
        });
        f32_tensor(out, vec![n, c, oh, ow])
    }
}

impl FusedMaxPoolBackward for Flex {
    fn max_pool_2x2_backward(x: FlexTensor, grad: FlexTensor, relu: bool) -> FlexTensor {
        let shape = x.shape();
        let (h, w) = (shape[2], shape[3]);
        let (oh, ow) = (h / 2, w / 2);
        let (x, grad) = (contiguous(&x), contiguous(&grad));
        let (xs, gs) = (values(&x), values(&grad));
        // Zeroed (by `planes`): a row or column left over by an odd size gets no gradient.
        let dx = planes(xs.len() / (h * w).max(1), h * w, |p, dx| {
            let (input, grad) = (&xs[p * h * w..][..h * w], &gs[p * oh * ow..][..oh * ow]);
            for (y, grad_row) in grad.chunks_exact(ow).enumerate() {
                let (top, bottom) = (&input[2 * y * w..][..2 * ow], &input[(2 * y + 1) * w..][..2 * ow]);
                let (dx_top, dx_bottom) = dx[2 * y * w..].split_at_mut(w);
                rows::backward(top, bottom, grad_row, &mut dx_top[..2 * ow], &mut dx_bottom[..2 * ow], relu);
            }
        });
        f32_tensor(dx, shape.to_vec())
    }
}

/// One pair of input rows (`top`, `bottom`, `2 * ow` values each) and its
/// output row (`ow` values): AVX2 where the CPU has it (runtime check),
/// else the scalar loop, which is also the reference the AVX2 path is tested against.
///
/// Why by hand: the windows interleave (a b | a b ...), which the compiler
/// vectorises poorly (perf: the pool's backward was 10% of w5 in scalar code).
mod rows {
    /// The first maximum of `a b / c d` in row-major order: which of the four
    /// gets the gradient (`[false; 4]` when `relu` cuts the maximum to 0).
    #[inline(always)]
    fn winner(a: f32, b: f32, c: f32, d: f32, relu: bool) -> [bool; 4] {
        let m = window_max(a, b, c, d);
        if relu && (m <= 0.0 || m.is_nan()) {
            return [false; 4];
        }
        let first = a == m;
        let second = !first && b == m;
        let third = !first && !second && c == m;
        [first, second, third, !(first || second || third)]
    }

    /// The largest of a 2x2 window, as `maxps` computes it (`if a > b { a } else { b }`;
    /// a NaN is not propagated).
    #[inline(always)]
    fn window_max(a: f32, b: f32, c: f32, d: f32) -> f32 {
        let max = |x: f32, y: f32| if x > y { x } else { y };
        max(max(a, c), max(b, d))
    }

    pub fn forward(top: &[f32], bottom: &[f32], out: &mut [f32], relu: bool) {
        let mut done = 0;
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked above).
            done = unsafe { avx2::forward(top, bottom, out, relu) };
        }
        forward_scalar(&top[2 * done..], &bottom[2 * done..], &mut out[done..], relu);
    }

    pub fn backward(top: &[f32], bottom: &[f32], grad: &[f32], dx_top: &mut [f32], dx_bottom: &mut [f32], relu: bool) {
        let mut done = 0;
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked above).
            done = unsafe { avx2::backward(top, bottom, grad, dx_top, dx_bottom, relu) };
        }
        let rest = 2 * done;
        backward_scalar(
            &top[rest..],
            &bottom[rest..],
            &grad[done..],
            &mut dx_top[rest..],
            &mut dx_bottom[rest..],
            relu,
        );
    }

    pub(super) fn forward_scalar(top: &[f32], bottom: &[f32], out: &mut [f32], relu: bool) {
        for ((o, t), b) in out.iter_mut().zip(top.chunks_exact(2)).zip(bottom.chunks_exact(2)) {
            let m = window_max(t[0], t[1], b[0], b[1]);
            // As `maxps(m, 0)`.
            *o = if relu && (m <= 0.0 || m.is_nan()) { 0.0 } else { m };
        }
    }

    pub(super) fn backward_scalar(
        top: &[f32],
        bottom: &[f32],
        grad: &[f32],
        dx_top: &mut [f32],
        dx_bottom: &mut [f32],
        relu: bool,
    ) {
        let windows = grad.iter().zip(top.chunks_exact(2)).zip(bottom.chunks_exact(2));
        for (((&g, t), b), (dt, db)) in windows.zip(dx_top.chunks_exact_mut(2).zip(dx_bottom.chunks_exact_mut(2))) {
            let [first, second, third, fourth] = winner(t[0], t[1], b[0], b[1], relu);
            let pick = |chosen: bool| if chosen { g } else { 0.0 };
            (dt[0], dt[1], db[0], db[1]) = (pick(first), pick(second), pick(third), pick(fourth));
        }
    }

    /// Four windows (8 floats of each row) per step; returns how many outputs it wrote.
    #[cfg(target_arch = "x86_64")]
    mod avx2 {
        use std::arch::x86_64::*;

        /// Each pair's maximum in both of its lanes: [m0 m0 m1 m1 m2 m2 m3 m3].
        #[inline]
        #[target_feature(enable = "avx2")]
        fn pair_max(t: __m256, b: __m256) -> __m256 {
            let v = _mm256_max_ps(t, b);
            _mm256_max_ps(v, _mm256_permute_ps::<0b10_11_00_01>(v))
        }

        #[target_feature(enable = "avx2")]
        pub unsafe fn forward(top: &[f32], bottom: &[f32], out: &mut [f32], relu: bool) -> usize {
            let steps = out.len() / 4;
            // The raw loads and stores below stay inside these lengths.
            assert!(top.len() >= 8 * steps && bottom.len() >= 8 * steps);
            let evens = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
            for i in 0..steps {
                // SAFETY: 8 floats from 8i in top/bottom (2 * out.len() long), 4 into out.
                unsafe {
                    let m =
                        pair_max(_mm256_loadu_ps(top.as_ptr().add(8 * i)), _mm256_loadu_ps(bottom.as_ptr().add(8 * i)));
                    let mut m = _mm256_castps256_ps128(_mm256_permutevar8x32_ps(m, evens));
                    if relu {
                        m = _mm_max_ps(m, _mm_setzero_ps());
                    }
                    _mm_storeu_ps(out.as_mut_ptr().add(4 * i), m);
                }
            }
            4 * steps
        }

        #[target_feature(enable = "avx2")]
        pub unsafe fn backward(
            top: &[f32],
            bottom: &[f32],
            grad: &[f32],
            dx_top: &mut [f32],
            dx_bottom: &mut [f32],
            relu: bool,
        ) -> usize {
            let steps = grad.len() / 4;
            // The raw loads and stores below stay inside these lengths.
            assert!([top.len(), bottom.len(), dx_top.len(), dx_bottom.len()].iter().all(|&len| len >= 8 * steps));
            let pairs = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3);
            let odd = _mm256_castsi256_ps(_mm256_setr_epi32(0, -1, 0, -1, 0, -1, 0, -1));
            let even = _mm256_castsi256_ps(_mm256_setr_epi32(-1, 0, -1, 0, -1, 0, -1, 0));
            for i in 0..steps {
                // SAFETY: 8 floats from 8i in the rows (2 * grad.len() long), 4 from 4i in grad.
                unsafe {
                    let t = _mm256_loadu_ps(top.as_ptr().add(8 * i));
                    let b = _mm256_loadu_ps(bottom.as_ptr().add(8 * i));
                    let m = pair_max(t, b);
                    // Each window's gradient in both lanes of its pair.
                    let mut g =
                        _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_loadu_ps(grad.as_ptr().add(4 * i))), pairs);
                    if relu {
                        g = _mm256_and_ps(g, _mm256_cmp_ps::<_CMP_GT_OQ>(m, _mm256_setzero_ps()));
                    }
                    let eq_top = _mm256_cmp_ps::<_CMP_EQ_OQ>(t, m);
                    let eq_bottom = _mm256_cmp_ps::<_CMP_EQ_OQ>(b, m);
                    // The other lane of the pair: in an odd lane, the even one's flag.
                    let top_partner = _mm256_permute_ps::<0b10_11_00_01>(eq_top);
                    let bottom_partner = _mm256_permute_ps::<0b10_11_00_01>(eq_bottom);
                    // a: a == m; b: b == m and a != m.
                    let take_top = _mm256_andnot_ps(_mm256_and_ps(top_partner, odd), eq_top);
                    let any_top = _mm256_or_ps(eq_top, top_partner);
                    // c: c == m, neither a nor b; d: none of a, b, c.
                    let bottom_rule =
                        _mm256_or_ps(_mm256_and_ps(eq_bottom, even), _mm256_andnot_ps(bottom_partner, odd));
                    let take_bottom = _mm256_andnot_ps(any_top, bottom_rule);
                    _mm256_storeu_ps(dx_top.as_mut_ptr().add(8 * i), _mm256_and_ps(take_top, g));
                    _mm256_storeu_ps(dx_bottom.as_mut_ptr().add(8 * i), _mm256_and_ps(take_bottom, g));
                }
            }
            4 * steps
        }
    }
}

impl<B: FusedMaxPool + FusedMaxPoolBackward, C: CheckpointStrategy> FusedMaxPool for Autodiff<B, C> {
    fn max_pool_2x2(x: FloatTensor<Self>, relu: bool) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct PoolBackward(bool);

        impl<B: FusedMaxPoolBackward> Backward<B, 1> for PoolBackward {
            /// The input: the maxima are found again from it.
            type State = FloatTensor<B>;

            fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
                let (input, relu) = (ops.state, self.0);
                unary::<B, _>(ops.parents, ops.node, grads, |grad| B::max_pool_2x2_backward(input, grad, relu));
            }
        }

        match PoolBackward(relu).prepare::<C>([x.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let input = x.into_primitive();
                let output = B::max_pool_2x2(input.clone(), relu);
                prep.finish(input, output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::max_pool_2x2(x.into_primitive(), relu)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    /// Values in [-2.75, 2.75] on a grid of quarters: many ties, zeros and negatives.
    fn grid_values(n: usize, salt: usize) -> Vec<f32> {
        (0..n).map(|i| ((((i + salt) * 7919) % 23) as f32 - 11.0) / 4.0).collect()
    }

    /// Output and input gradient against Burn's `max_pool2d` (and, for the
    /// ReLU form, `max_pool2d(relu(x))`) on the same backend, bit for bit:
    /// even and odd sizes (the last row/column dropped), widths that use the
    /// vector path, its scalar tail and only the scalar loop, ties
    /// (repeated values, zeros after a ReLU) and a non-uniform upstream gradient.
    #[test]
    fn fused_pool_equals_burns_pool() {
        let device = Device::flex().autodiff();
        for (n, c, h, w) in [(2, 3, 8, 6), (3, 2, 7, 9), (2, 2, 24, 24), (1, 3, 6, 21), (5, 7, 6, 5)] {
            for relu in [false, true] {
                let values = grid_values(n * c * h * w, 0);
                let upstream: Vec<f32> = (0..n * c * (h / 2) * (w / 2)).map(|i| ((i * 31) % 17) as f32 - 8.0).collect();
                let upstream = Tensor::<4>::from_data(TensorData::new(upstream, [n, c, h / 2, w / 2]), &device);
                let run = |fused: bool| {
                    let x =
                        Tensor::<4>::from_data(TensorData::new(values.clone(), [n, c, h, w]), &device).require_grad();
                    let y = match (fused, relu) {
                        (true, false) => max_pool_2x2(x.clone()),
                        (true, true) => max_pool_2x2_relu(x.clone()),
                        (false, false) => max_pool2d(x.clone(), MaxPoolOptions::new([2, 2])),
                        (false, true) => {
                            max_pool2d(burn::tensor::activation::relu(x.clone()), MaxPoolOptions::new([2, 2]))
                        }
                    };
                    let grads = (y.clone() * upstream.clone()).sum().backward();
                    (
                        y.into_data().try_to_vec::<f32>().unwrap(),
                        x.grad(&grads).unwrap().into_data().try_to_vec::<f32>().unwrap(),
                    )
                };
                let (fused, plain) = (run(true), run(false));
                assert_eq!(fused.0, plain.0, "output {n}x{c}x{h}x{w}, relu {relu}");
                assert_eq!(fused.1, plain.1, "input gradient {n}x{c}x{h}x{w}, relu {relu}");
            }
        }
    }

    /// The row kernels (vector path where the CPU has one) against the scalar
    /// loop alone, on every window of values from {-0.5, 0, 0.5} (81: every
    /// pattern of ties, negatives and zeros), cut to lengths with and without a scalar tail.
    #[test]
    fn row_kernels_equal_the_scalar_loop() {
        let level = |window: usize, digit: u32| (window / 3usize.pow(digit) % 3) as f32 * 0.5 - 0.5;
        let (mut top, mut bottom) = (Vec::new(), Vec::new());
        for window in 0..81 {
            top.extend([level(window, 0), level(window, 1)]);
            bottom.extend([level(window, 2), level(window, 3)]);
        }
        let grad: Vec<f32> = (0..81).map(|i| i as f32 + 1.0).collect();
        for ow in [1, 4, 5, 13, 81] {
            let (top, bottom, grad) = (&top[..2 * ow], &bottom[..2 * ow], &grad[..ow]);
            for relu in [false, true] {
                let (mut out, mut want) = (vec![f32::NAN; ow], vec![f32::NAN; ow]);
                rows::forward(top, bottom, &mut out, relu);
                rows::forward_scalar(top, bottom, &mut want, relu);
                assert_eq!(out, want, "forward, ow {ow}, relu {relu}");
                let mut got = (vec![f32::NAN; 2 * ow], vec![f32::NAN; 2 * ow]);
                let mut want = got.clone();
                rows::backward(top, bottom, grad, &mut got.0, &mut got.1, relu);
                rows::backward_scalar(top, bottom, grad, &mut want.0, &mut want.1, relu);
                assert_eq!(got, want, "backward, ow {ow}, relu {relu}");
                // Exactly one element per window gets the gradient (none where ReLU cut it).
                for x in 0..ow {
                    let picked = [got.0[2 * x], got.0[2 * x + 1], got.1[2 * x], got.1[2 * x + 1]];
                    let taken = picked.iter().filter(|&&v| v != 0.0).count();
                    let cut = relu && want_max(top, bottom, x) <= 0.0;
                    assert_eq!(taken, usize::from(!cut), "window {x}: {picked:?}");
                }
            }
        }
    }

    fn want_max(top: &[f32], bottom: &[f32], x: usize) -> f32 {
        [top[2 * x], top[2 * x + 1], bottom[2 * x], bottom[2 * x + 1]].into_iter().fold(f32::MIN, f32::max)
    }
}
