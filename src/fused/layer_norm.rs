//! LayerNorm over each row of `[rows, width]` on the flex backend as one
//! Burn backend extension op, with a hand-written backward: the transformer's
//! per-token normalisation (model/gpt.rs's `TokenNorm`, torch.nn.LayerNorm).
//!
//! Why: composed from Burn's ops it is nine passes over the activations
//! forward (mean, subtraction, square, mean, shift, square root, division,
//! scale, shift), each with its own buffer, and autodiff's backward about
//! twice as many; the nanoGPT recipe runs nine of them a step. Here the
//! forward is one pass per row (two reads, one write) and the backward one
//! more, as PyTorch's own kernel does:
//! with `xhat = (x - mean) * rstd` and `g = dy * weight`,
//! `dx = rstd * (g - mean(g) - xhat * mean(g * xhat))`,
//! `dweight = sum over rows of dy * xhat`, `dbias = sum over rows of dy`.
//!
//! Rows are cut into parts of [`ROWS`] for the team; each part sums its own
//! rows' share of the parameter gradients and the parts are added in order,
//! so results do not depend on the number of threads. Other backends use
//! Burn's ops.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, TensorMetadata, backend_extension};
use burn::tensor::Tensor;

use super::simd::{Path, dot, on_path, sum, widest_path};
use super::{Shared, contiguous, f32_tensor, values};

/// Rows per part of the team's work: a few tens of microseconds each at
/// width 128, and a fixed size (see the module comment).
const ROWS: usize = 64;

#[backend_extension(Flex, Autodiff)]
pub trait FusedLayerNorm: Backend {
    /// `x [rows, width]`, each row normalised to mean 0 and variance 1
    /// (`epsilon` added to the variance), times `weight [width]`, plus
    /// `bias [width]` (an empty `bias`, `[0]`, is none).
    fn fused_layer_norm(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self>;
}

/// The forward keeping each row's statistics, and the backward, called by
/// the autodiff implementation on the inner backend.
pub trait FusedLayerNormBackward: Backend {
    /// The output and `[rows, 2]`: each row's mean and 1 / sqrt(variance + epsilon).
    fn layer_norm_forward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);
    /// The gradients of `x`, `weight` and the bias.
    fn layer_norm_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        stats: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

/// LayerNorm of `x`'s rows with `weight` and an optional `bias`, through the
/// fused op on flex (f32); `None` elsewhere, where the caller composes Burn's ops.
pub fn layer_norm(x: &Tensor<2>, weight: Tensor<1>, bias: Option<Tensor<1>>, epsilon: f64) -> Option<Tensor<2>> {
    if !super::on_flex_f32(x) {
        return None;
    }
    let bias = bias.unwrap_or_else(|| Tensor::empty([0], &x.device()));
    Some(Tensor::from_dispatch(Dispatch::fused_layer_norm(
        x.clone().into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
        epsilon,
    )))
}

/// Rows `xs` (`width` each) -> their normalised rows `out` and statistics
/// `stats` (mean, 1 / std per row), compiled for the CPU's widest SIMD path.
fn forward_rows(path: Path, xs: &[f32], w: &[f32], b: &[f32], epsilon: f32, out: &mut [f32], stats: &mut [f32]) {
    on_path!(path, forward_rows_portable, (xs: &[f32], w: &[f32], b: &[f32], epsilon: f32, out: &mut [f32], stats: &mut [f32]))
}

#[inline(always)]
fn forward_rows_portable(xs: &[f32], w: &[f32], b: &[f32], epsilon: f32, out: &mut [f32], stats: &mut [f32]) {
    let width = w.len();
    for ((x, y), st) in xs.chunks_exact(width).zip(out.chunks_exact_mut(width)).zip(stats.chunks_exact_mut(2)) {
        let mean = sum(x) / width as f32;
        for (y, x) in y.iter_mut().zip(x) {
            *y = x - mean;
        }
        let var = dot(y, y) / width as f32;
        let rstd = 1.0 / (var + epsilon).sqrt();
        if b.is_empty() {
            for (y, w) in y.iter_mut().zip(w) {
                *y = *y * rstd * w;
            }
        } else {
            for ((y, w), b) in y.iter_mut().zip(w).zip(b) {
                *y = *y * rstd * w + b;
            }
        }
        st.copy_from_slice(&[mean, rstd]);
    }
}

/// Rows `xs` with their statistics and output gradients `dy` -> the input
/// gradients `dx`, and `dw`, `db` (`width` each) summed over the rows.
#[allow(clippy::too_many_arguments)]
fn backward_rows(
    path: Path,
    xs: &[f32],
    dy: &[f32],
    w: &[f32],
    stats: &[f32],
    dx: &mut [f32],
    dw: &mut [f32],
    db: &mut [f32],
) {
    on_path!(path, backward_rows_portable, (xs: &[f32], dy: &[f32], w: &[f32], stats: &[f32], dx: &mut [f32], dw: &mut [f32], db: &mut [f32]))
}

#[inline(always)]
fn backward_rows_portable(
    xs: &[f32],
    dy: &[f32],
    w: &[f32],
    stats: &[f32],
    dx: &mut [f32],
    dw: &mut [f32],
    db: &mut [f32],
) {
    let width = w.len();
    let mut xhat = vec![0.0f32; width];
    let mut g = vec![0.0f32; width];
    for (((x, dy), dx), st) in
        xs.chunks_exact(width).zip(dy.chunks_exact(width)).zip(dx.chunks_exact_mut(width)).zip(stats.chunks_exact(2))
    {
        let (mean, rstd) = (st[0], st[1]);
        for (h, x) in xhat.iter_mut().zip(x) {
            *h = (x - mean) * rstd;
        }
        for ((g, d), w) in g.iter_mut().zip(dy).zip(w) {
            *g = d * w;
        }
        let mean_g = sum(&g) / width as f32;
        let mean_gx = dot(&g, &xhat) / width as f32;
        for ((dx, g), h) in dx.iter_mut().zip(&g).zip(&xhat) {
            *dx = rstd * (g - mean_g - h * mean_gx);
        }
        for ((dw, db), (d, h)) in dw.iter_mut().zip(db.iter_mut()).zip(dy.iter().zip(&xhat)) {
            *dw += d * h;
            *db += d;
        }
    }
}

/// `n` floats written by `fill(part, rows of that part's output)` for parts
/// of [`ROWS`] rows of `width`, in parallel; every element is written.
fn by_parts(rows: usize, width: usize, fill: impl Fn(usize, &mut [f32]) + Sync) -> Vec<f32> {
    let mut out = Vec::<f32>::with_capacity(rows * width);
    let shared = Shared(out.as_mut_ptr());
    let parts = rows.div_ceil(ROWS);
    let task = |p: usize| {
        let first = p * ROWS;
        let count = ROWS.min(rows - first);
        // SAFETY: part p's rows lie inside the buffer and no other part's.
        fill(p, unsafe { shared.slice(first * width, count * width) });
    };
    super::team::run(parts, &task);
    // SAFETY: `fill` writes the whole slice it is given (the callers do), and the parts cover all rows.
    unsafe { out.set_len(rows * width) };
    out
}

impl FusedLayerNorm for Flex {
    fn fused_layer_norm(x: FlexTensor, weight: FlexTensor, bias: FlexTensor, epsilon: f64) -> FlexTensor {
        Self::layer_norm_forward(x, weight, bias, epsilon).0
    }
}

impl FusedLayerNormBackward for Flex {
    fn layer_norm_forward(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        epsilon: f64,
    ) -> (FlexTensor, FlexTensor) {
        let shape = x.shape();
        let (rows, width) = (shape[0], shape[1]);
        let (x, weight, bias) = (contiguous(&x), contiguous(&weight), contiguous(&bias));
        let (xs, w, b) = (values(&x), values(&weight), values(&bias));
        let mut stats = vec![0.0f32; 2 * rows];
        let stats_at = Shared(stats.as_mut_ptr());
        let path = widest_path();
        let out = by_parts(rows, width, |p, out| {
            let (first, count) = (p * ROWS, out.len() / width.max(1));
            // SAFETY: the part's rows' statistics, written by this part alone.
            let stats = unsafe { stats_at.slice(2 * first, 2 * count) };
            if width > 0 {
                forward_rows(path, &xs[first * width..][..count * width], w, b, epsilon as f32, out, stats);
            }
        });
        (f32_tensor(out, vec![rows, width]), f32_tensor(stats, vec![rows, 2]))
    }

    fn layer_norm_backward(
        x: FlexTensor,
        weight: FlexTensor,
        stats: FlexTensor,
        grad: FlexTensor,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let shape = x.shape();
        let (rows, width) = (shape[0], shape[1]);
        let (x, weight, stats, grad) = (contiguous(&x), contiguous(&weight), contiguous(&stats), contiguous(&grad));
        let (xs, w, st, dy) = (values(&x), values(&weight), values(&stats), values(&grad));
        let parts = rows.div_ceil(ROWS);
        // Each part's sums of dy * xhat and of dy, side by side.
        let mut partial = vec![0.0f32; parts * 2 * width];
        let partial_at = Shared(partial.as_mut_ptr());
        let path = widest_path();
        let dx = by_parts(rows, width, |p, dx| {
            // SAFETY: part p's own partial sums.
            let sums = unsafe { partial_at.slice(p * 2 * width, 2 * width) };
            let (dw, db) = sums.split_at_mut(width);
            let (first, count) = (p * ROWS, dx.len() / width.max(1));
            if width > 0 {
                let (x, g) = (&xs[first * width..][..count * width], &dy[first * width..][..count * width]);
                backward_rows(path, x, g, w, &st[2 * first..][..2 * count], dx, dw, db);
            }
        });
        let mut dw = vec![0.0f32; width];
        let mut db = vec![0.0f32; width];
        for sums in partial.chunks_exact(2 * width.max(1)) {
            for (i, (a, b)) in sums[..width].iter().zip(&sums[width..]).enumerate() {
                dw[i] += a;
                db[i] += b;
            }
        }
        (f32_tensor(dx, vec![rows, width]), f32_tensor(dw, vec![width]), f32_tensor(db, vec![width]))
    }
}

impl<B: FusedLayerNorm + FusedLayerNormBackward, C: CheckpointStrategy> FusedLayerNorm for Autodiff<B, C> {
    fn fused_layer_norm(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct LayerNormBackward;

        impl<B: FusedLayerNormBackward> Backward<B, 3> for LayerNormBackward {
            /// The input, the weight and each row's statistics.
            type State = (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>);

            fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
                let [node_x, node_weight, node_bias] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                let (x, weight, stats) = ops.state;
                let (dx, dw, db) = B::layer_norm_backward(x, weight, stats, grad);
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

        match LayerNormBackward.prepare::<C>([x.node(), weight.node(), bias.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let (x, weight, bias) = (x.into_primitive(), weight.into_primitive(), bias.into_primitive());
                let (output, stats) = B::layer_norm_forward(x.clone(), weight.clone(), bias, epsilon);
                prep.finish((x, weight, stats), output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::fused_layer_norm(
                x.into_primitive(),
                weight.into_primitive(),
                bias.into_primitive(),
                epsilon,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    /// Burn's composition, as model/gpt.rs runs it on the other backends.
    fn reference(x: Tensor<2>, weight: Tensor<1>, bias: Option<Tensor<1>>) -> Tensor<2> {
        let centred = x.clone() - x.mean_dim(1);
        let var = centred.clone().square().mean_dim(1);
        let scaled = centred / var.add_scalar(1e-5).sqrt() * weight.unsqueeze_dim(0);
        match bias {
            Some(b) => scaled + b.unsqueeze_dim(0),
            None => scaled,
        }
    }

    /// The rows' forward and backward give the same bits on every SIMD path
    /// this CPU has (the sums are in 16 lanes on each).
    #[test]
    fn the_rows_agree_bit_for_bit_on_every_path() {
        let paths = crate::fused::simd::paths_here();
        let (rows, width) = (3, 37);
        let values = |n: usize, salt: usize| -> Vec<f32> {
            (0..n).map(|i| (((i + salt) * 7919) % 1013) as f32 / 250.0 - 2.0).collect()
        };
        let (xs, dy, w, b) = (values(rows * width, 1), values(rows * width, 2), values(width, 3), values(width, 4));
        let run = |path: Path| {
            let (mut out, mut stats) = (vec![0.0f32; rows * width], vec![0.0f32; 2 * rows]);
            forward_rows(path, &xs, &w, &b, 1e-5, &mut out, &mut stats);
            let (mut dx, mut dw, mut db) = (vec![0.0f32; rows * width], vec![0.0f32; width], vec![0.0f32; width]);
            backward_rows(path, &xs, &dy, &w, &stats, &mut dx, &mut dw, &mut db);
            [out, stats, dx, dw, db].map(|v| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>())
        };
        let portable = run(Path::Portable);
        for &path in &paths[1..] {
            assert_eq!(run(path), portable, "{path:?}");
        }
    }

    /// The output and the gradients of the input, weight and bias against
    /// Burn's ops on the same backend, with and without a bias, for one row,
    /// an odd width, and more rows than one part (the parts' sums added).
    #[test]
    fn fused_layer_norm_equals_burns_ops() {
        let device = Device::flex().autodiff();
        for (rows, width, with_bias) in [(1, 3, true), (5, 13, false), (200, 128, true), (130, 40, false)] {
            let values = |n: usize, salt: usize| -> Vec<f32> {
                (0..n).map(|i| (((i + salt) * 7919) % 1013) as f32 / 250.0 - 2.0).collect()
            };
            let up = Tensor::<2>::from_data(TensorData::new(values(rows * width, 3), [rows, width]), &device);
            let run = |fused: bool| {
                let x = Tensor::<2>::from_data(TensorData::new(values(rows * width, 1), [rows, width]), &device)
                    .require_grad();
                let w = Tensor::<1>::from_data(TensorData::new(values(width, 5), [width]), &device).require_grad();
                let b = with_bias.then(|| {
                    Tensor::<1>::from_data(TensorData::new(values(width, 7), [width]), &device).require_grad()
                });
                let y = if fused {
                    layer_norm(&x, w.clone(), b.clone(), 1e-5).unwrap()
                } else {
                    reference(x.clone(), w.clone(), b.clone())
                };
                let grads = (y.clone() * up.clone()).sum().backward();
                let read2 = |t: Tensor<2>| t.into_data().try_to_vec::<f32>().unwrap();
                let read1 = |t: Tensor<1>| t.into_data().try_to_vec::<f32>().unwrap();
                let db = b.map(|b| read1(b.grad(&grads).unwrap())).unwrap_or_default();
                (read2(y), read2(x.grad(&grads).unwrap()), read1(w.grad(&grads).unwrap()), db)
            };
            let (fused, plain) = (run(true), run(false));
            for (what, a, b) in [
                ("output", &fused.0, &plain.0),
                ("input gradient", &fused.1, &plain.1),
                ("weight gradient", &fused.2, &plain.2),
                ("bias gradient", &fused.3, &plain.3),
            ] {
                assert_eq!(a.len(), b.len(), "{what}");
                for (i, (x, y)) in a.iter().zip(b).enumerate() {
                    assert!((x - y).abs() <= 1e-4 * (1.0 + y.abs()), "{what}[{i}] ({rows}x{width}): {x} vs {y}");
                }
            }
        }
    }
}
