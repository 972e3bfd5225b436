//! Causal multi-head self-attention on the flex backend as one Burn
//! backend extension op: from the fused query/key/value projection
//! `qkv [batch * t, 3 width]` straight to the heads' concatenated output
//! `[batch * t, width]`, with a hand-written backward to `qkv`'s gradient.
//!
//! Why: Burn composes attention from a dozen ops (the heads' split, a
//! transpose and a copy for each of q, k and v, a batched product, a scale,
//! the mask, softmax's max, subtraction, exp, sum and division, a second
//! product, the heads' merge), each a pass over memory with its own buffer,
//! and autodiff adds as many in the backward. Here each (window, head) is
//! one task: two `gemm` products reading q, k and v where they lie in
//! `qkv` (strided, no copies), the scaled causal softmax in place between
//! them, and the output written into its columns of the result. The
//! backward is the textbook one (as FlashAttention's, without the tiling:
//! the weights of a 64-token window fit in cache): with P the weights,
//! dP = dY V^T, dV = P^T dY, dS = P * (dP - rowsum(dP * P)) / sqrt(head),
//! dQ = dS K, dK = dS^T Q. PyTorch's `scaled_dot_product_attention` is
//! likewise one kernel each way.
//!
//! The weights (batch x heads x t x t floats) are kept for the backward.
//! Attention dropout (nanoGPT's `attn_dropout`) is not fused: with dropout
//! in training the model takes Burn's ops (model/gpt.rs), as do the other
//! backends (ndarray, wgpu).

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, TensorMetadata, backend_extension};
use burn::tensor::Tensor;

use super::kernels::exp;
use super::simd::{Path, dot, fold_lanes, on_path, widest_path};
use super::{Shared, contiguous, f32_tensor, values};

#[backend_extension(Flex, Autodiff)]
pub trait FusedAttention: Backend {
    /// `qkv [batch * t, 3 width]` (queries, keys, values side by side, each
    /// `heads` heads of `width / heads` features) -> `[batch * t, width]`:
    /// each position attends to itself and the positions before it in its window.
    fn causal_attention(qkv: FloatTensor<Self>, batch: usize, heads: usize) -> FloatTensor<Self>;
}

/// The forward keeping the weights, and the backward, called by the
/// autodiff implementation on the inner backend.
pub trait FusedAttentionBackward: Backend {
    /// The output and the weights `[batch * heads, t, t]` (zero above the diagonal).
    fn causal_attention_forward(
        qkv: FloatTensor<Self>,
        batch: usize,
        heads: usize,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);
    /// `qkv`'s gradient from the output's.
    fn causal_attention_backward(
        qkv: FloatTensor<Self>,
        weights: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        batch: usize,
        heads: usize,
    ) -> FloatTensor<Self>;
}

/// Causal self-attention of `qkv` (`[batch * t, 3 width]`), through the fused
/// op on flex (f32); `None` elsewhere, where the caller composes Burn's ops.
pub fn causal_attention(qkv: &Tensor<2>, batch: usize, heads: usize) -> Option<Tensor<2>> {
    if !super::on_flex_f32(qkv) {
        return None;
    }
    Some(Tensor::from_dispatch(Dispatch::causal_attention(qkv.clone().into_dispatch(), batch, heads)))
}

/// Where one window's head lies: rows of `t` tokens from `row0` of a
/// row-major matrix `stride` floats wide, `head` features from column `col`.
#[derive(Clone, Copy)]
struct Geometry {
    t: usize,
    head: usize,
    /// Width of the model (`heads * head`).
    width: usize,
}

impl Geometry {
    fn of(qkv: &FlexTensor, batch: usize, heads: usize) -> Self {
        let dims = qkv.shape();
        let (rows, cols) = (dims[0], dims[1]);
        assert!(
            batch > 0 && heads > 0 && rows % batch == 0 && cols % (3 * heads) == 0,
            "qkv [{rows}, {cols}] for {batch} windows of {heads} heads"
        );
        let width = cols / 3;
        Geometry { t: rows / batch, head: width / heads, width }
    }

    /// Offset in `qkv` of window `b`'s part `which` (0 q, 1 k, 2 v) of head `h`.
    fn qkv_at(&self, b: usize, h: usize, which: usize) -> usize {
        b * self.t * 3 * self.width + which * self.width + h * self.head
    }

    /// Offset in the output (or its gradient) of window `b`'s head `h`.
    fn out_at(&self, b: usize, h: usize) -> usize {
        b * self.t * self.width + h * self.head
    }

    fn scale(&self) -> f32 {
        1.0 / (self.head as f32).sqrt()
    }
}

/// `dst = beta * op(lhs) * op(rhs)` (or `dst + ...` with `accumulate`),
/// an `m x n` product over `k`, every matrix given by its pointer, column
/// stride and row stride, on the calling thread.
///
/// # Safety
/// Each pointer with its strides must address an `m x k`, `k x n` and
/// `m x n` matrix inside one allocation, `dst` written by no one else.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm(
    [m, n, k]: [usize; 3],
    dst: (*mut f32, isize, isize),
    lhs: (*const f32, isize, isize),
    rhs: (*const f32, isize, isize),
    beta: f32,
    accumulate: bool,
) {
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.0,
            dst.1,
            dst.2,
            accumulate,
            lhs.0,
            lhs.1,
            lhs.2,
            rhs.0,
            rhs.1,
            rhs.2,
            1.0,
            beta,
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    }
}

/// The scaled scores `[t, t]` -> the causal softmax, row by row: row `i`
/// is `exp(s - max) / sum` over positions `0..=i`, as Burn's softmax
/// computes it, and 0 after. Compiled for the CPU's widest SIMD path
/// (`simd.rs`); the sums are in 16 lanes on every path, so all agree.
fn causal_softmax(path: Path, w: &mut [f32], t: usize) {
    on_path!(path, causal_softmax_portable, (w: &mut [f32], t: usize))
}

#[inline(always)]
fn causal_softmax_portable(w: &mut [f32], t: usize) {
    for (i, row) in w.chunks_exact_mut(t).enumerate() {
        let (seen, future) = row.split_at_mut(i + 1);
        let max = fold_lanes(seen, f32::NEG_INFINITY, |m, v| m.max(v), f32::max);
        for v in seen.iter_mut() {
            *v = exp(*v - max);
        }
        let inv = 1.0 / fold_lanes(seen, 0.0, |s, v| s + v, |a, b| a + b);
        for v in seen.iter_mut() {
            *v *= inv;
        }
        future.fill(0.0);
    }
}

/// `dP` `[t, t]` -> the softmax's backward `P * (dP - rowsum(dP * P))`, row
/// by row, in place; 0 above the diagonal, where `P` is.
fn softmax_backward(path: Path, ds: &mut [f32], p: &[f32], t: usize) {
    on_path!(path, softmax_backward_portable, (ds: &mut [f32], p: &[f32], t: usize))
}

#[inline(always)]
fn softmax_backward_portable(ds: &mut [f32], p: &[f32], t: usize) {
    for (i, (row, prow)) in ds.chunks_exact_mut(t).zip(p.chunks_exact(t)).enumerate() {
        let (seen, future) = row.split_at_mut(i + 1);
        let pseen = &prow[..i + 1];
        let dot = dot(seen, pseen);
        for (d, p) in seen.iter_mut().zip(pseen) {
            *d = p * (*d - dot);
        }
        future.fill(0.0);
    }
}

impl FusedAttention for Flex {
    fn causal_attention(qkv: FlexTensor, batch: usize, heads: usize) -> FlexTensor {
        Self::causal_attention_forward(qkv, batch, heads).0
    }
}

impl FusedAttentionBackward for Flex {
    fn causal_attention_forward(qkv: FlexTensor, batch: usize, heads: usize) -> (FlexTensor, FlexTensor) {
        let g = Geometry::of(&qkv, batch, heads);
        let qkv = contiguous(&qkv);
        let x = values(&qkv);
        let (t, stride) = (g.t, 3 * g.width as isize);
        let mut out = Vec::<f32>::with_capacity(batch * t * g.width);
        let mut weights = Vec::<f32>::with_capacity(batch * heads * t * t);
        let (out_ptr, weights_ptr) = (Shared(out.as_mut_ptr()), Shared(weights.as_mut_ptr()));
        let path = widest_path();
        let task = |p: usize| {
            let (b, h) = (p / heads, p % heads);
            // SAFETY: task p writes weights[p t t..(p + 1) t t] and the output's
            // rows of window b, columns of head h; q, k and v of (b, h) lie in
            // `x` (Geometry::of checked the shape). Every element of both
            // outputs is written by exactly one task, before it is read.
            unsafe {
                let w = weights_ptr.at(p * t * t);
                let (q, k, v) = (
                    x.as_ptr().add(g.qkv_at(b, h, 0)),
                    x.as_ptr().add(g.qkv_at(b, h, 1)),
                    x.as_ptr().add(g.qkv_at(b, h, 2)),
                );
                // S = Q K^T / sqrt(head): K^T's column j is key j (stride 3 width).
                gemm([t, t, g.head], (w, 1, t as isize), (q, 1, stride), (k, stride, 1), g.scale(), false);
                causal_softmax(path, std::slice::from_raw_parts_mut(w, t * t), t);
                // Y = P V, into the output's columns of head h.
                let y = out_ptr.at(g.out_at(b, h));
                gemm([t, g.head, t], (y, 1, g.width as isize), (w, 1, t as isize), (v, 1, stride), 1.0, false);
            }
        };
        super::team::run(batch * heads, &task);
        // SAFETY: the tasks wrote every element of both (see above).
        unsafe {
            out.set_len(batch * t * g.width);
            weights.set_len(batch * heads * t * t);
        }
        (f32_tensor(out, vec![batch * t, g.width]), f32_tensor(weights, vec![batch * heads, t, t]))
    }

    fn causal_attention_backward(
        qkv: FlexTensor,
        weights: FlexTensor,
        grad: FlexTensor,
        batch: usize,
        heads: usize,
    ) -> FlexTensor {
        let g = Geometry::of(&qkv, batch, heads);
        let (qkv, weights, grad) = (contiguous(&qkv), contiguous(&weights), contiguous(&grad));
        let (x, pw, dy) = (values(&qkv), values(&weights), values(&grad));
        let (t, stride, width) = (g.t, 3 * g.width as isize, g.width as isize);
        let mut dx = Vec::<f32>::with_capacity(x.len());
        let dx_ptr = Shared(dx.as_mut_ptr());
        let path = widest_path();
        let task = |p: usize| {
            let (b, h) = (p / heads, p % heads);
            let mut ds = vec![0.0f32; t * t];
            // SAFETY: as in the forward: task p reads its window's head and
            // writes that head's q, k and v columns of window b's rows of dx,
            // which no other task writes; all three are written in full.
            unsafe {
                let pm = pw.as_ptr().add(p * t * t);
                let (q, k, v) = (
                    x.as_ptr().add(g.qkv_at(b, h, 0)),
                    x.as_ptr().add(g.qkv_at(b, h, 1)),
                    x.as_ptr().add(g.qkv_at(b, h, 2)),
                );
                let (dq, dk, dv) =
                    (dx_ptr.at(g.qkv_at(b, h, 0)), dx_ptr.at(g.qkv_at(b, h, 1)), dx_ptr.at(g.qkv_at(b, h, 2)));
                let dyh = dy.as_ptr().add(g.out_at(b, h));
                // dP = dY V^T.
                gemm([t, t, g.head], (ds.as_mut_ptr(), 1, t as isize), (dyh, 1, width), (v, stride, 1), 1.0, false);
                // dV = P^T dY.
                gemm([t, g.head, t], (dv, 1, stride), (pm, t as isize, 1), (dyh, 1, width), 1.0, false);
                // dS = P * (dP - rowsum(dP * P)), the softmax's backward; zero above the diagonal (P is).
                softmax_backward(path, &mut ds, std::slice::from_raw_parts(pm, t * t), t);
                // dQ = dS K / sqrt(head), dK = dS^T Q / sqrt(head).
                gemm([t, g.head, t], (dq, 1, stride), (ds.as_ptr(), 1, t as isize), (k, 1, stride), g.scale(), false);
                gemm([t, g.head, t], (dk, 1, stride), (ds.as_ptr(), t as isize, 1), (q, 1, stride), g.scale(), false);
            }
        };
        super::team::run(batch * heads, &task);
        // SAFETY: every element of dx is one (window, head)'s q, k or v, written above.
        unsafe { dx.set_len(x.len()) };
        f32_tensor(dx, qkv.shape().to_vec())
    }
}

impl<B: FusedAttention + FusedAttentionBackward, C: CheckpointStrategy> FusedAttention for Autodiff<B, C> {
    fn causal_attention(qkv: FloatTensor<Self>, batch: usize, heads: usize) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct AttentionBackward {
            batch: usize,
            heads: usize,
        }

        impl<B: FusedAttentionBackward> Backward<B, 1> for AttentionBackward {
            /// The input and the weights.
            type State = (FloatTensor<B>, FloatTensor<B>);

            fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
                let [node] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                let (qkv, weights) = ops.state;
                if let Some(node) = node {
                    grads.register::<B>(
                        node.id,
                        B::causal_attention_backward(qkv, weights, grad, self.batch, self.heads),
                    );
                }
            }
        }

        match (AttentionBackward { batch, heads }).prepare::<C>([qkv.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let qkv = qkv.into_primitive();
                let (output, weights) = B::causal_attention_forward(qkv.clone(), batch, heads);
                prep.finish((qkv, weights), output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::causal_attention(qkv.into_primitive(), batch, heads)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::activation::softmax;
    use burn::tensor::{Device, TensorData};

    /// Burn's composition, as model/gpt.rs runs it on the other backends.
    fn reference(qkv: Tensor<2>, batch: usize, heads: usize) -> Tensor<2> {
        let [rows, cols] = qkv.dims();
        let (t, width) = (rows / batch, cols / 3);
        let head = width / heads;
        let part = |k: usize| -> Tensor<4> {
            qkv.clone().slice([0..rows, k * width..(k + 1) * width]).reshape([batch, t, heads, head]).swap_dims(1, 2)
        };
        let mask: Vec<f32> = (0..t * t).map(|k| if k % t > k / t { f32::NEG_INFINITY } else { 0.0 }).collect();
        let mask = Tensor::<4>::from_data(TensorData::new(mask, [1, 1, t, t]), &qkv.device());
        let scores = part(0).matmul(part(1).swap_dims(2, 3)).mul_scalar(1.0 / (head as f64).sqrt()) + mask;
        softmax(scores, 3).matmul(part(2)).swap_dims(1, 2).reshape([rows, width])
    }

    /// The output and `qkv`'s gradient against Burn's ops on the same
    /// backend, with a non-uniform upstream gradient: one token, odd sizes,
    /// and the nanoGPT recipe's shape (64 tokens, 4 heads of 32).
    #[test]
    fn fused_attention_equals_burns_ops() {
        let device = Device::flex().autodiff();
        for (batch, t, heads, head) in [(1, 1, 1, 1), (2, 5, 3, 2), (3, 64, 4, 32)] {
            let (rows, width) = (batch * t, heads * head);
            let values = |n: usize, salt: usize| -> Vec<f32> {
                (0..n).map(|i| (((i + salt) * 7919) % 1013) as f32 / 250.0 - 2.0).collect()
            };
            let w = Tensor::<2>::from_data(TensorData::new(values(rows * width, 3), [rows, width]), &device);
            let run = |fused: bool| {
                let qkv =
                    Tensor::<2>::from_data(TensorData::new(values(rows * 3 * width, 1), [rows, 3 * width]), &device)
                        .require_grad();
                let y = if fused {
                    causal_attention(&qkv, batch, heads).unwrap()
                } else {
                    reference(qkv.clone(), batch, heads)
                };
                let grads = (y.clone() * w.clone()).sum().backward();
                let read = |t: Tensor<2>| t.into_data().try_to_vec::<f32>().unwrap();
                (read(y), read(qkv.grad(&grads).unwrap()))
            };
            let (fused, plain) = (run(true), run(false));
            for (what, a, b) in [("output", &fused.0, &plain.0), ("qkv gradient", &fused.1, &plain.1)] {
                assert_eq!(a.len(), b.len(), "{what}");
                for (i, (x, y)) in a.iter().zip(b).enumerate() {
                    assert!(
                        (x - y).abs() <= 1e-4 * (1.0 + y.abs()),
                        "{what}[{i}] ({batch}x{t}, {heads}x{head}): {x} vs {y}"
                    );
                }
            }
        }
    }

    /// The softmax and its backward give the same bits on every SIMD path
    /// this CPU has (the sums are in 16 lanes on each), for a window longer
    /// than one register and one that is not a multiple of it.
    #[test]
    fn the_softmax_agrees_bit_for_bit_on_every_path() {
        let paths = crate::fused::simd::paths_here();
        for t in [5, 37, 64] {
            let scores: Vec<f32> = (0..t * t).map(|i| ((i * 7919) % 1013) as f32 / 100.0 - 5.0).collect();
            let up: Vec<f32> = (0..t * t).map(|i| ((i * 104_729) % 997) as f32 / 300.0 - 1.5).collect();
            let run = |path: Path| {
                let mut p = scores.clone();
                causal_softmax(path, &mut p, t);
                let mut ds = up.clone();
                softmax_backward(path, &mut ds, &p, t);
                (p.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), ds.iter().map(|v| v.to_bits()).collect::<Vec<_>>())
            };
            let portable = run(Path::Portable);
            let row: f32 = f32::from_bits(portable.0[t * (t - 1)])
                + (1..t).map(|j| f32::from_bits(portable.0[t * (t - 1) + j])).sum::<f32>();
            assert!((row - 1.0).abs() < 1e-5, "the last row sums to 1: {row}");
            for &path in &paths[1..] {
                assert_eq!(run(path), portable, "{path:?}, t = {t}");
            }
        }
    }

    /// Without autodiff (evaluation), the same output as with it.
    #[test]
    fn fused_attention_untracked_equals_tracked() {
        let qkv = |device: &Device| {
            let v: Vec<f32> = (0..2 * 7 * 12).map(|i| ((i * 37) % 23) as f32 / 10.0 - 1.0).collect();
            Tensor::<2>::from_data(TensorData::new(v, [14, 12]), device)
        };
        let read = |t: Tensor<2>| t.into_data().try_to_vec::<f32>().unwrap();
        let plain = read(causal_attention(&qkv(&Device::flex()), 2, 2).unwrap());
        let tracked = read(causal_attention(&qkv(&Device::flex().autodiff()).require_grad(), 2, 2).unwrap());
        assert_eq!(plain, tracked);
    }
}
