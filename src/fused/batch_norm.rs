//! Batch normalisation on the flex backend as two Burn backend extension
//! ops: the per-channel moments of a batch (never differentiated), and the
//! normalisation by given moments with a hand-written backward, for
//! `x [batch, channels, ...]` (torch.nn.BatchNorm1d / BatchNorm2d).
//!
//! Why: Burn's `batch_norm_train` swaps the batch and channel axes and
//! copies the tensor to take each mean (twice forward, twice backward) and
//! composes the rest from a dozen element-wise ops; in ResNet-20 (bench w9)
//! those copies alone were 15% of a training step and the element-wise ops
//! another 6% (perf record, 2026-12-06). Here the moments are one read of
//! `x`, the forward one read and one write, the backward two reads of `x`
//! and `dy` and one write, each channel's planes in place.
//!
//! With `xhat = (x - mean) * rstd`, `rstd = 1 / sqrt(var + eps)` and `M` the
//! values per channel, the backward in training (the moments are the
//! batch's own, so they depend on `x`) is
//! `dx = weight * rstd * (dy - sum(dy) / M - xhat * sum(dy * xhat) / M)`;
//! in evaluation (running moments, constants) `dx = weight * rstd * dy`;
//! both have `dweight = sum(dy * xhat)` and `dbias = sum(dy)`.
//!
//! Each channel is one task: its sums run over the batch in order, each
//! plane in 16-lane f32 sums added in f64, so results depend neither on the
//! number of threads nor on the SIMD path (tested).

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, AutodiffBackend, Backend, Dispatch, Flex, TensorMetadata, backend_extension};
use burn::tensor::{Shape, Tensor};
use rayon::prelude::*;

use super::simd::{LANES, Path, on_path, sum, widest_path};
use super::{Shared, contiguous, f32_tensor, values};

#[backend_extension(Flex, Autodiff)]
pub trait FusedBatchMoments: Backend {
    /// `x [batch, channels, ...]` -> `[2, channels]`: each channel's mean and
    /// biased variance over the batch and the remaining axes. Not differentiated.
    fn batch_moments(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

#[backend_extension(Flex, Autodiff)]
pub trait FusedBatchNorm: Backend {
    /// `x [batch, channels, ...]` normalised per channel by `moments [2,
    /// channels]` (mean, variance; `epsilon` added to the variance), times
    /// `weight [channels]`, plus `bias [channels]`. `batch`: the moments are
    /// `x`'s own ([`FusedBatchMoments`]), and the backward differentiates them.
    /// `relu`: ReLU applied to the result in the same pass (its derivative 0 at 0).
    fn fused_batch_norm(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        moments: FloatTensor<Self>,
        epsilon: f64,
        batch: bool,
        relu: bool,
    ) -> FloatTensor<Self>;
}

/// The backward, called by the autodiff implementation on the inner backend.
pub trait FusedBatchNormBackward: Backend {
    /// The gradients of `x`, `weight` and `bias`.
    #[allow(clippy::too_many_arguments)]
    fn batch_norm_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        moments: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        epsilon: f64,
        batch: bool,
        relu: bool,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

/// Each channel's mean and biased variance, `[2, channels]`; on flex (f32) only.
pub fn batch_moments<const D: usize>(x: &Tensor<D>) -> Tensor<2> {
    Tensor::from_dispatch(Dispatch::batch_moments(x.clone().detach().into_dispatch()))
}

/// `x` normalised by `moments` (from [`batch_moments`] when `batch`, the
/// running ones otherwise), scaled and shifted, then ReLU if `relu`; on flex (f32) only.
pub fn batch_norm<const D: usize>(
    x: Tensor<D>,
    weight: Tensor<1>,
    bias: Tensor<1>,
    moments: Tensor<2>,
    epsilon: f64,
    batch: bool,
    relu: bool,
) -> Tensor<D> {
    Tensor::from_dispatch(Dispatch::fused_batch_norm(
        x.into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
        moments.into_dispatch(),
        epsilon,
        batch,
        relu,
    ))
}

/// `[batch, channels, plane]` of a shape (plane 1 for `[batch, features]`).
fn layout(shape: &Shape) -> [usize; 3] {
    let dims = shape.to_vec();
    [dims[0], dims[1], dims[2..].iter().product()]
}

/// The sum of a slice's squared distances from `centre`, in [`LANES`] f32 lanes.
#[inline(always)]
fn squares(v: &[f32], centre: f32) -> f32 {
    let mut lanes = [0.0f32; LANES];
    let chunks = v.chunks_exact(LANES);
    let rest: f32 = chunks.remainder().iter().map(|&x| (x - centre) * (x - centre)).sum();
    for c in chunks {
        for j in 0..LANES {
            let d = c[j] - centre;
            lanes[j] += d * d;
        }
    }
    lanes.iter().sum::<f32>() + rest
}

/// The upstream gradient `d` at input `v` as the normalisation sees it:
/// through ReLU's mask `v * a + b > 0` (the forward's own arithmetic) when
/// `relu` is `Some((a, b))`.
#[inline(always)]
fn gate(relu: Option<(f32, f32)>, d: f32, v: f32) -> f32 {
    match relu {
        Some((a, b)) if v * a + b <= 0.0 || (v * a + b).is_nan() => 0.0,
        _ => d,
    }
}

/// `sum(g)` and `sum(g * (x - mean))` of one plane with `g` the gated `dy`
/// ([`gate`]), in [`LANES`] f32 lanes.
#[inline(always)]
fn grad_sums(x: &[f32], dy: &[f32], mean: f32, relu: Option<(f32, f32)>) -> (f32, f32) {
    match relu {
        None => grad_sums_with(x, dy, mean, |d, _| d),
        Some(_) => grad_sums_with(x, dy, mean, |d, v| gate(relu, d, v)),
    }
}

#[inline(always)]
fn grad_sums_with(x: &[f32], dy: &[f32], mean: f32, g: impl Fn(f32, f32) -> f32) -> (f32, f32) {
    let mut sums = [0.0f32; LANES];
    let mut products = [0.0f32; LANES];
    let (cx, cd) = (x.chunks_exact(LANES), dy.chunks_exact(LANES));
    let (mut sum, mut product) = (0.0f32, 0.0f32);
    for (&x, &d) in cx.remainder().iter().zip(cd.remainder()) {
        let d = g(d, x);
        sum += d;
        product += d * (x - mean);
    }
    for (x, d) in cx.zip(cd) {
        for j in 0..LANES {
            let d = g(d[j], x[j]);
            sums[j] += d;
            products[j] += d * (x[j] - mean);
        }
    }
    (sums.iter().fold(sum, |a, b| a + b), products.iter().fold(product, |a, b| a + b))
}

/// `out = a * x + b` over a plane, then ReLU if `relu`.
#[inline(always)]
fn affine(x: &[f32], out: &mut [f32], a: f32, b: f32, relu: bool) {
    if relu {
        for (o, &v) in out.iter_mut().zip(x) {
            let s = v * a + b;
            *o = if s > 0.0 { s } else { 0.0 };
        }
    } else {
        for (o, &v) in out.iter_mut().zip(x) {
            *o = v * a + b;
        }
    }
}

/// `out = a * g + b * x + c` over a plane, `g` the gated `dy` ([`gate`]).
#[inline(always)]
fn affine2(dy: &[f32], x: &[f32], out: &mut [f32], (a, b, c): (f32, f32, f32), relu: Option<(f32, f32)>) {
    match relu {
        None => {
            for ((o, &d), &v) in out.iter_mut().zip(dy).zip(x) {
                *o = d * a + v * b + c;
            }
        }
        Some(_) => {
            for ((o, &d), &v) in out.iter_mut().zip(dy).zip(x) {
                *o = gate(relu, d, v) * a + v * b + c;
            }
        }
    }
}

/// One channel's planes of `values [batch, channels, plane]`.
fn planes(values: &[f32], [batch, channels, plane]: [usize; 3], channel: usize) -> impl Iterator<Item = &[f32]> {
    (0..batch).map(move |i| &values[(i * channels + channel) * plane..][..plane])
}

/// One channel's mean and biased variance, in one read of its planes: each
/// plane's sum and squared distances from its own mean while it is in cache,
/// then the planes combined in f64 as Chan, Golub and LeVeque (1979) combine
/// partial variances, `M2 = sum(M2_i + len * (mean_i - mean)^2)`. Two
/// reads of the whole channel (the mean, then the squares about it) were
/// twice the memory traffic for the same precision.
fn channel_moments(path: Path, xs: &[f32], dims: [usize; 3], channel: usize) -> (f32, f32) {
    let (count, len) = ((dims[0] * dims[2]) as f64, dims[2] as f64);
    let mut parts = Vec::with_capacity(dims[0]);
    for v in planes(xs, dims, channel) {
        let total = on_path!(path, sum, (v: &[f32]) -> f32) as f64;
        let centre = (total / len) as f32;
        let m2 = on_path!(path, squares, (v: &[f32], centre: f32) -> f32) as f64;
        parts.push((total, centre as f64, m2));
    }
    let total: f64 = parts.iter().map(|p| p.0).sum();
    let mean = total / count;
    // sum((v - mean)^2) over a plane = sum((v - c)^2) + 2 (c - mean) sum(v - c) + len (c - mean)^2
    // with `c` the plane's own (rounded) mean.
    let m2: f64 = parts
        .iter()
        .map(|&(total, c, m2)| m2 + 2.0 * (c - mean) * (total - len * c) + len * (c - mean) * (c - mean))
        .sum();
    (mean as f32, (m2 / count) as f32)
}

/// One channel's `sum(g)` and `sum(g * (x - mean))` ([`grad_sums`]).
fn channel_grad_sums(
    path: Path,
    (xs, gs): (&[f32], &[f32]),
    dims: [usize; 3],
    channel: usize,
    mean: f32,
    relu: Option<(f32, f32)>,
) -> (f64, f64) {
    let (mut sum_dy, mut sum_dyx) = (0.0f64, 0.0f64);
    for (x, dy) in planes(xs, dims, channel).zip(planes(gs, dims, channel)) {
        let (s, p) =
            on_path!(path, grad_sums, (x: &[f32], dy: &[f32], mean: f32, relu: Option<(f32, f32)>) -> (f32, f32));
        sum_dy += s as f64;
        sum_dyx += p as f64;
    }
    (sum_dy, sum_dyx)
}

/// The forward's `out = a * x + b` of one channel (the backward recomputes
/// them, the same operations, for ReLU's mask).
fn coefficients(weight: &[f32], bias: &[f32], moments: &[f32], channel: usize, epsilon: f64) -> (f32, f32) {
    let channels = weight.len();
    let (mean, var) = (moments[channel], moments[channels + channel]);
    let a = weight[channel] * rstd(var, epsilon);
    (a, bias[channel] - mean * a)
}

/// `1 / sqrt(var + epsilon)`, in f64 as PyTorch's CPU kernel computes it.
fn rstd(var: f32, epsilon: f64) -> f32 {
    (1.0 / (var as f64 + epsilon).sqrt()) as f32
}

/// A small tensor's values (the per-channel parameters and moments).
fn per_channel(t: &FlexTensor) -> Vec<f32> {
    values(&contiguous(t)).to_vec()
}

impl FusedBatchMoments for Flex {
    fn batch_moments(x: FlexTensor) -> FlexTensor {
        let dims = layout(&x.shape());
        let x = contiguous(&x);
        let xs = values(&x);
        let moments: Vec<(f32, f32)> =
            (0..dims[1]).into_par_iter().map(|channel| channel_moments(widest_path(), xs, dims, channel)).collect();
        let (means, vars): (Vec<f32>, Vec<f32>) = moments.into_iter().unzip();
        f32_tensor([means, vars].concat(), vec![2, dims[1]])
    }
}

impl FusedBatchNorm for Flex {
    fn fused_batch_norm(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        moments: FlexTensor,
        epsilon: f64,
        _batch: bool,
        relu: bool,
    ) -> FlexTensor {
        let shape = x.shape();
        let dims = layout(&shape);
        let [batch, channels, plane] = dims;
        let x = contiguous(&x);
        let xs = values(&x);
        let (weight, bias, moments) = (per_channel(&weight), per_channel(&bias), per_channel(&moments));
        let mut out = Vec::<f32>::with_capacity(xs.len());
        let shared = Shared(out.as_mut_ptr());
        let path = widest_path();
        (0..channels).into_par_iter().for_each(|channel| {
            let (a, b) = coefficients(&weight, &bias, &moments, channel, epsilon);
            for i in 0..batch {
                let offset = (i * channels + channel) * plane;
                let x = &xs[offset..offset + plane];
                // SAFETY: each channel's task writes only its own planes, inside the buffer.
                let out = unsafe { shared.slice(offset, plane) };
                on_path!(path, affine, (x: &[f32], out: &mut [f32], a: f32, b: f32, relu: bool));
            }
        });
        // SAFETY: the channels' planes cover the whole buffer, all written above.
        unsafe { out.set_len(xs.len()) };
        f32_tensor(out, shape.to_vec())
    }
}

impl FusedBatchNormBackward for Flex {
    fn batch_norm_backward(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        moments: FlexTensor,
        grad: FlexTensor,
        epsilon: f64,
        batch: bool,
        relu: bool,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let shape = x.shape();
        let dims = layout(&shape);
        let [n, channels, plane] = dims;
        let count = (n * plane) as f64;
        let (x, grad) = (contiguous(&x), contiguous(&grad));
        let (xs, gs) = (values(&x), values(&grad));
        let (weight, bias, moments) = (per_channel(&weight), per_channel(&bias), per_channel(&moments));
        let mut dx = Vec::<f32>::with_capacity(xs.len());
        let shared = Shared(dx.as_mut_ptr());
        let path = widest_path();
        let sums: Vec<(f32, f32)> = (0..channels)
            .into_par_iter()
            .map(|channel| {
                let (mean, var) = (moments[channel], moments[channels + channel]);
                let r = rstd(var, epsilon);
                let relu = relu.then(|| coefficients(&weight, &bias, &moments, channel, epsilon));
                let (sum_dy, sum_dyx) = channel_grad_sums(path, (xs, gs), dims, channel, mean, relu);
                // dx = a dy + b x + c, from the formulas in the module comment.
                let a = (weight[channel] * r) as f64;
                let (b, c) = if batch {
                    let b = -a * (r as f64) * (r as f64) * sum_dyx / count;
                    (b, -a * sum_dy / count - b * mean as f64)
                } else {
                    (0.0, 0.0)
                };
                let abc = (a as f32, b as f32, c as f32);
                for i in 0..n {
                    let offset = (i * channels + channel) * plane;
                    let (x, dy) = (&xs[offset..offset + plane], &gs[offset..offset + plane]);
                    // SAFETY: each channel's task writes only its own planes, inside the buffer.
                    let out = unsafe { shared.slice(offset, plane) };
                    on_path!(path, affine2, (dy: &[f32], x: &[f32], out: &mut [f32], abc: (f32, f32, f32), relu: Option<(f32, f32)>));
                }
                ((sum_dyx * r as f64) as f32, sum_dy as f32)
            })
            .collect();
        // SAFETY: the channels' planes cover the whole buffer, all written above.
        unsafe { dx.set_len(xs.len()) };
        let (dweight, dbias): (Vec<f32>, Vec<f32>) = sums.into_iter().unzip();
        (f32_tensor(dx, shape.to_vec()), f32_tensor(dweight, vec![channels]), f32_tensor(dbias, vec![channels]))
    }
}

/// Moments are never differentiated: the result is a new leaf.
impl<B: FusedBatchMoments, C: CheckpointStrategy> FusedBatchMoments for Autodiff<B, C> {
    fn batch_moments(x: FloatTensor<Self>) -> FloatTensor<Self> {
        <Self as AutodiffBackend>::from_inner(B::batch_moments(<Self as AutodiffBackend>::inner(x)))
    }
}

impl<B: FusedBatchNorm + FusedBatchNormBackward, C: CheckpointStrategy> FusedBatchNorm for Autodiff<B, C> {
    fn fused_batch_norm(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        moments: FloatTensor<Self>,
        epsilon: f64,
        batch: bool,
        relu: bool,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct BatchNormBackward {
            epsilon: f64,
            batch: bool,
            relu: bool,
        }

        impl<B: FusedBatchNormBackward> Backward<B, 3> for BatchNormBackward {
            /// The input, the weight, the bias and the moments.
            type State = (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>, FloatTensor<B>);

            fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
                let [node_x, node_weight, node_bias] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                let (x, weight, bias, moments) = ops.state;
                let (dx, dw, db) =
                    B::batch_norm_backward(x, weight, bias, moments, grad, self.epsilon, self.batch, self.relu);
                if let Some(node) = node_bias {
                    grads.register::<B>(node.id, db);
                }
                if let Some(node) = node_weight {
                    grads.register::<B>(node.id, dw);
                }
                if let Some(node) = node_x {
                    grads.register::<B>(node.id, dx);
                }
            }
        }

        let moments = <Self as AutodiffBackend>::inner(moments);
        let backward = BatchNormBackward { epsilon, batch, relu };
        match backward.prepare::<C>([x.node(), weight.node(), bias.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let (x, weight, bias) = (x.into_primitive(), weight.into_primitive(), bias.into_primitive());
                let output =
                    B::fused_batch_norm(x.clone(), weight.clone(), bias.clone(), moments.clone(), epsilon, batch, relu);
                prep.finish((x, weight, bias, moments), output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::fused_batch_norm(
                x.into_primitive(),
                weight.into_primitive(),
                bias.into_primitive(),
                moments,
                epsilon,
                batch,
                relu,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Mode;
    use crate::model::norm::{BatchNorm, Norm};
    use crate::model::settings::NormKind;
    use burn::module::Param;
    use burn::tensor::{Device, TensorData};

    fn values(n: usize, salt: usize) -> Vec<f32> {
        (0..n).map(|i| (((i + salt) * 7919) % 1013) as f32 / 250.0 - 2.0).collect()
    }

    /// The channels' sums give the same bits on every SIMD path this CPU
    /// has (16 lanes on each), for planes with and without a tail.
    #[test]
    fn the_channel_sums_agree_bit_for_bit_on_every_path() {
        let paths = crate::fused::simd::paths_here();
        for dims in [[3, 2, 37], [2, 3, 64], [5, 4, 1]] {
            let len = dims.iter().product();
            let (xs, gs) = (values(len, 1), values(len, 2));
            let run = |path: Path| {
                (0..dims[1])
                    .map(|c| {
                        let (mean, var) = channel_moments(path, &xs, dims, c);
                        let (a, b) = channel_grad_sums(path, (&xs, &gs), dims, c, mean, Some((0.7, -0.1)));
                        [mean.to_bits() as u64, var.to_bits() as u64, a.to_bits(), b.to_bits()]
                    })
                    .collect::<Vec<_>>()
            };
            let portable = run(Path::Portable);
            for &path in &paths[1..] {
                assert_eq!(run(path), portable, "{path:?} {dims:?}");
            }
        }
    }

    /// Training and evaluation through the fused ops against Burn's
    /// `batch_norm_train` / `batch_norm` composition (the path of the other
    /// backends): the output, the gradients of the input, weight and bias,
    /// and the running moments after the step; feature maps with odd
    /// planes (with a tail past the 16 lanes) and a batch of one. Vectors
    /// (`[batch, features]`) keep Burn's ops (`model/norm.rs`).
    #[test]
    fn fused_batch_norm_equals_burns_ops() {
        let device = Device::flex().autodiff();
        for shape in [vec![4, 3, 5, 7], vec![2, 5, 4, 4], vec![3, 2, 17, 1], vec![1, 3, 4, 4]] {
            let len: usize = shape.iter().product();
            let channels = shape[1];
            let up = Tensor::<4>::from_data(TensorData::new(values(len, 3), padded(&shape)), &device);
            for (mode, relu) in [
                (Mode::Train { seed: 0, step: 0 }, false),
                (Mode::Eval, false),
                (Mode::Train { seed: 0, step: 0 }, true),
                (Mode::Eval, true),
            ] {
                let run = |fused: bool| {
                    let Some(Norm::Batch(mut norm)) = Norm::new(NormKind::Batch, channels, &device) else {
                        unreachable!()
                    };
                    norm.weight = Param::from_tensor(Tensor::from_data(
                        TensorData::new(values(channels, 5), [channels]),
                        &device,
                    ));
                    norm.bias = Param::from_tensor(Tensor::from_data(
                        TensorData::new(values(channels, 7), [channels]),
                        &device,
                    ));
                    let running: Tensor<1> =
                        Tensor::from_data(TensorData::new(values(channels, 9), [channels]), &device);
                    norm.running_mean = burn::module::RunningState::new(running.clone());
                    norm.running_var = burn::module::RunningState::new(running.abs().add_scalar(0.5));
                    let x =
                        Tensor::<4>::from_data(TensorData::new(values(len, 1), padded(&shape)), &device).require_grad();
                    let y = match (fused, relu) {
                        (true, false) => norm.forward(x.clone(), mode),
                        (true, true) => norm.forward_relu(x.clone(), mode).unwrap(),
                        (false, false) => reference(&norm, x.clone(), mode),
                        (false, true) => burn::tensor::activation::relu(reference(&norm, x.clone(), mode)),
                    };
                    let grads = (y.clone() * up.clone()).sum().backward();
                    let read = |t: Tensor<1>| t.into_data().try_to_vec::<f32>().unwrap();
                    let read4 = |t: Tensor<4>| t.into_data().try_to_vec::<f32>().unwrap();
                    [
                        read4(y),
                        read4(x.grad(&grads).unwrap()),
                        read(norm.weight.val().grad(&grads).unwrap()),
                        read(norm.bias.val().grad(&grads).unwrap()),
                        read(norm.running_mean.value()),
                        read(norm.running_var.value()),
                    ]
                };
                let (fused, plain) = (run(true), run(false));
                let names =
                    ["output", "input gradient", "weight gradient", "bias gradient", "running mean", "running var"];
                for ((what, a), b) in names.iter().zip(&fused).zip(&plain) {
                    assert_eq!(a.len(), b.len(), "{what}");
                    for (i, (x, y)) in a.iter().zip(b).enumerate() {
                        assert!(
                            (x - y).abs() <= 1e-4 * (1.0 + y.abs()),
                            "{what}[{i}] ({shape:?}, {mode:?}): {x} vs {y}"
                        );
                    }
                }
            }
        }
    }

    /// A shape of 2 or 4 axes as 4 (`[batch, features]` as `[batch, features, 1, 1]`).
    fn padded(shape: &[usize]) -> [usize; 4] {
        [shape[0], shape[1], shape.get(2).copied().unwrap_or(1), shape.get(3).copied().unwrap_or(1)]
    }

    /// `BatchNorm::forward`'s composition of Burn's ops, forced.
    fn reference(norm: &BatchNorm, x: Tensor<4>, mode: Mode) -> Tensor<4> {
        norm.forward_composed(x, mode)
    }
}
