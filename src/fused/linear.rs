//! The linear layer on the flex backend as one Burn backend extension op:
//! `x W + b` in one `gemm` call (the bias preloaded into the output, which
//! gemm accumulates into), and a hand-written backward with the three
//! products `grad W^T`, `x^T grad` and the bias' column sums.
//!
//! Why: Burn's `Linear` is a matrix product and a broadcast bias add, each
//! a pass over memory with its own buffer, and autodiff's backward adds a
//! reduction and more buffers. This is one product with the bias preloaded
//! into the output, and in the backward three products straight into their
//! final buffers.
//!
//! A layer without a bias (nanoGPT's `bias = false`) is the product alone.
//! Other backends (ndarray, wgpu) use Burn's `Linear::forward`.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, TensorMetadata, backend_extension};
use burn::nn::Linear;
use burn::tensor::Tensor;

use super::{contiguous, f32_tensor, values};

/// Products of at least this many multiply-adds are cut into blocks of
/// `BLOCK_ROWS` output rows, one single-threaded `gemm` call each, run by
/// the spinning team of `team.rs`. Handing the blocks to rayon instead (or
/// letting gemm thread them, its `Parallelism::Rayon`) was slower for the
/// 128 x 128 x 128 products of w4 than not splitting at all (w4 34,000-36,000
/// and 43,000 against 46,000-55,000 samples/s): rayon's workers fall asleep
/// between products, and waking one costs about as much as half a product.
const SPLIT_FROM: usize = 64 * 64 * 64;

/// Rows of `out` per block. Fixed, not derived from the thread count: every
/// output row is computed by the same gemm call whatever the number of
/// threads, so results do not depend on it (tests/it/cli.rs runs 1 and 2 threads).
const BLOCK_ROWS: usize = 64;

/// Columns of `out` per block, where the product has at least two such
/// blocks: cut by columns, each block reads its own columns of `rhs` and all
/// of `lhs`. Why not rows: gemm copies ("packs") the operand a block shares
/// with the others into its own layout once per call, so with row blocks
/// every block packed all of `rhs` again (for the nanoGPT recipe's input
/// gradients, the whole transposed weight twelve times a product: 15% of
/// w10's time, perf 2026-12-06). With column blocks of at most 2 x 64 columns
/// (gemm's AVX-512 micro-tile height, `MR`) gemm reads the shared `lhs`
/// in place, and packs each part of `rhs` once in all.
const BLOCK_COLS: usize = 64;

#[backend_extension(Flex, Autodiff)]
pub trait FusedLinear: Backend {
    /// `x [batch, in] * weight [in, out] + bias [out]` -> `[batch, out]`;
    /// an empty `bias` (`[0]`) is none.
    fn fused_linear(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// The backward products, called by the autodiff implementation on the inner backend.
pub trait FusedLinearBackward: Backend {
    /// `grad [batch, out] * weight^T` -> `[batch, in]`.
    fn linear_input_grad(grad: FloatTensor<Self>, weight: FloatTensor<Self>) -> FloatTensor<Self>;
    /// `x^T * grad` -> `[in, out]`.
    fn linear_weight_grad(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self>;
    /// Column sums of `grad` -> `[out]`.
    fn linear_bias_grad(grad: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// `layer.forward(x)`, through the fused op where it applies (flex, f32).
/// A layer without a bias passes an empty one (a constant, so autodiff
/// computes no gradient for it).
pub fn forward(layer: &Linear, x: Tensor<2>) -> Tensor<2> {
    if !super::on_flex_f32(&x) {
        return layer.forward(x);
    }
    let bias = match &layer.bias {
        Some(bias) => bias.val(),
        None => Tensor::<1>::empty([0], &x.device()),
    };
    Tensor::from_dispatch(Dispatch::fused_linear(
        x.into_dispatch(),
        layer.weight.val().into_dispatch(),
        bias.into_dispatch(),
    ))
}

/// `x [batch, in] * weight [in, out]`, through the fused op on flex (f32):
/// a linear layer without a bias whose weight is any tensor (GPT's output
/// projection, the token embedding's transpose).
pub fn matmul(x: Tensor<2>, weight: Tensor<2>) -> Tensor<2> {
    if !super::on_flex_f32(&x) {
        return x.matmul(weight);
    }
    let none = Tensor::<1>::empty([0], &x.device());
    Tensor::from_dispatch(Dispatch::fused_linear(x.into_dispatch(), weight.into_dispatch(), none.into_dispatch()))
}

/// A row-major f32 matrix: its data, rows and columns.
struct Matrix<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
}

impl Matrix<'_> {
    /// (column stride, row stride) of this matrix, or of its transpose.
    fn strides(&self, transposed: bool) -> (isize, isize) {
        if transposed { (self.cols as isize, 1) } else { (1, self.cols as isize) }
    }
}

/// `out (+)= op(lhs) * op(rhs)` for an `m x n` row-major `out`, where op is an
/// optional transpose; `accumulate` keeps what `out` holds (the bias).
/// Large products are cut into row blocks run by the team (see `SPLIT_FROM`).
fn product(out: &mut [f32], n: usize, lhs: (&Matrix, bool), rhs: (&Matrix, bool), accumulate: bool) {
    // SAFETY: `out` is initialised and `out.len()` long.
    unsafe { product_into(out.as_mut_ptr(), out.len(), n, lhs, rhs, accumulate) }
}

/// `op(lhs) * op(rhs)` in a new `m x n` row-major vector, which the product
/// overwrites without reading (so it is not zeroed first: for w1's first
/// weight gradient that was a 400 KB memset every step).
fn new_product(n: usize, lhs: (&Matrix, bool), rhs: (&Matrix, bool)) -> Vec<f32> {
    let m = if lhs.1 { lhs.0.cols } else { lhs.0.rows };
    let mut out = Vec::with_capacity(m * n);
    // SAFETY: the capacity is m * n; with `accumulate` false gemm writes every
    // element of `out` and reads none (its `read_dst`), so all are set below.
    unsafe {
        product_into(out.as_mut_ptr(), m * n, n, lhs, rhs, false);
        out.set_len(m * n);
    }
    out
}

/// `product` into `len` floats at `out`, which must be initialised when
/// `accumulate` (gemm reads them) and is written in full either way.
unsafe fn product_into(
    out: *mut f32,
    len: usize,
    n: usize,
    (lhs, lhs_t): (&Matrix, bool),
    (rhs, rhs_t): (&Matrix, bool),
    accumulate: bool,
) {
    let (m, k) = if lhs_t { (lhs.cols, lhs.rows) } else { (lhs.rows, lhs.cols) };
    assert_eq!(if rhs_t { (rhs.cols, rhs.rows) } else { (rhs.rows, rhs.cols) }, (k, n));
    assert_eq!(len, m * n);
    assert_eq!((lhs.data.len(), rhs.data.len()), (lhs.rows * lhs.cols, rhs.rows * rhs.cols));
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        // An empty sum: gemm is not asked to write zeros it might not write.
        if !accumulate {
            // SAFETY: `out` is `len` floats long (asserted m * n above).
            unsafe { std::ptr::write_bytes(out, 0, len) };
        }
        return;
    }
    let (lhs_cs, lhs_rs) = lhs.strides(lhs_t);
    let (rhs_cs, rhs_rs) = rhs.strides(rhs_t);
    let split = m * n * k >= SPLIT_FROM;
    // Column blocks where there are two or more of them, else row blocks (see `BLOCK_COLS`).
    let by_columns = split && n >= 2 * BLOCK_COLS;
    let blocks = match (split, by_columns) {
        (false, _) => 1,
        (true, true) => n.div_ceil(BLOCK_COLS),
        (true, false) => m.div_ceil(BLOCK_ROWS),
    };
    // The blocks' outputs, as an address (shared by the parts; each writes only its own elements).
    let out_at = out as usize;
    let block = |b: usize| {
        // (first row, rows, first column, columns) of this block.
        let (r0, rows, c0, cols) = if by_columns {
            let c0 = b * BLOCK_COLS;
            (0, m, c0, BLOCK_COLS.min(n - c0))
        } else {
            let rows_per_block = m.div_ceil(blocks);
            let r0 = b * rows_per_block;
            (r0, rows_per_block.min(m.saturating_sub(r0)), 0, n)
        };
        if rows == 0 {
            return;
        }
        // SAFETY: lhs rows r0..r0 + rows (row stride lhs_rs), rhs columns
        // c0..c0 + cols (column stride rhs_cs) and out's block lie inside
        // their slices (shapes asserted above); no two blocks write the same
        // elements of out.
        unsafe {
            gemm::gemm(
                rows,
                cols,
                k,
                (out_at as *mut f32).add(r0 * n + c0),
                1,
                n as isize,
                accumulate,
                lhs.data.as_ptr().offset(r0 as isize * lhs_rs),
                lhs_cs,
                lhs_rs,
                rhs.data.as_ptr().offset(c0 as isize * rhs_cs),
                rhs_cs,
                rhs_rs,
                1.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
    };
    super::team::run(blocks, &block);
}

fn matrix(t: &FlexTensor) -> Matrix<'_> {
    let dims = t.shape();
    Matrix { data: values(t), rows: dims[0], cols: dims[1] }
}

impl FusedLinear for Flex {
    fn fused_linear(x: FlexTensor, weight: FlexTensor, bias: FlexTensor) -> FlexTensor {
        let (x, weight, bias) = (contiguous(&x), contiguous(&weight), contiguous(&bias));
        let (x, w) = (matrix(&x), matrix(&weight));
        let b = values(&bias);
        if b.is_empty() {
            return f32_tensor(new_product(w.cols, (&x, false), (&w, false)), vec![x.rows, w.cols]);
        }
        let mut out = Vec::with_capacity(x.rows * w.cols);
        for _ in 0..x.rows {
            out.extend_from_slice(b);
        }
        product(&mut out, w.cols, (&x, false), (&w, false), true);
        f32_tensor(out, vec![x.rows, w.cols])
    }
}

impl FusedLinearBackward for Flex {
    fn linear_input_grad(grad: FlexTensor, weight: FlexTensor) -> FlexTensor {
        let (grad, weight) = (contiguous(&grad), contiguous(&weight));
        let (g, w) = (matrix(&grad), matrix(&weight));
        f32_tensor(new_product(w.rows, (&g, false), (&w, true)), vec![g.rows, w.rows])
    }

    fn linear_weight_grad(x: FlexTensor, grad: FlexTensor) -> FlexTensor {
        let (x, grad) = (contiguous(&x), contiguous(&grad));
        let (x, g) = (matrix(&x), matrix(&grad));
        f32_tensor(new_product(g.cols, (&x, true), (&g, false)), vec![x.cols, g.cols])
    }

    fn linear_bias_grad(grad: FlexTensor) -> FlexTensor {
        let grad = contiguous(&grad);
        let g = matrix(&grad);
        let mut sums = vec![0.0f32; g.cols];
        for row in g.data.chunks_exact(g.cols) {
            for (s, v) in sums.iter_mut().zip(row) {
                *s += v;
            }
        }
        f32_tensor(sums, vec![g.cols])
    }
}

impl<B: FusedLinear + FusedLinearBackward, C: CheckpointStrategy> FusedLinear for Autodiff<B, C> {
    fn fused_linear(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: FloatTensor<Self>) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct LinearBackward;

        impl<B: FusedLinearBackward> Backward<B, 3> for LinearBackward {
            /// The input and the weight.
            type State = (FloatTensor<B>, FloatTensor<B>);

            fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
                let [node_x, node_weight, node_bias] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                let (x, weight) = ops.state;
                if let Some(node) = node_bias {
                    grads.register::<B>(node.id, B::linear_bias_grad(grad.clone()));
                }
                if let Some(node) = node_weight {
                    grads.register::<B>(node.id, B::linear_weight_grad(x, grad.clone()));
                }
                if let Some(node) = node_x {
                    grads.register::<B>(node.id, B::linear_input_grad(grad, weight));
                }
            }
        }

        match LinearBackward.prepare::<C>([x.node(), weight.node(), bias.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let (x, weight, bias) = (x.into_primitive(), weight.into_primitive(), bias.into_primitive());
                let output = B::fused_linear(x.clone(), weight.clone(), bias);
                prep.finish((x, weight), output)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::fused_linear(x.into_primitive(), weight.into_primitive(), bias.into_primitive()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    /// Values and all three gradients of the fused layer against Burn's own
    /// `Linear::forward` on the same backend, for a small product (one block)
    /// and large ones (cut into row blocks for the team), with and without a
    /// bias, with a non-uniform upstream gradient.
    #[test]
    fn fused_linear_equals_burns_linear() {
        let device = Device::flex().autodiff();
        // One block; 2 even blocks of 64 rows; 3 uneven blocks (54, 54, 52) forward and for
        // the input gradient, 2 of 48 for the weight gradient.
        for (batch, d_in, d_out, with_bias) in
            [(3, 5, 4, true), (128, 256, 256, true), (160, 96, 200, true), (3, 5, 4, false), (160, 96, 200, false)]
        {
            let values = |n: usize, salt: usize| -> Vec<f32> {
                (0..n).map(|i| (((i + salt) * 7919) % 1013) as f32 / 500.0 - 1.0).collect()
            };
            let layer = Linear {
                weight: burn::module::Param::from_tensor(Tensor::from_data(
                    TensorData::new(values(d_in * d_out, 1), [d_in, d_out]),
                    &device,
                )),
                bias: with_bias.then(|| {
                    burn::module::Param::from_tensor(Tensor::from_data(
                        TensorData::new(values(d_out, 2), [d_out]),
                        &device,
                    ))
                }),
            };
            let w = Tensor::<2>::from_data(TensorData::new(values(batch * d_out, 3), [batch, d_out]), &device);
            let run = |fused: bool| {
                let x = Tensor::<2>::from_data(TensorData::new(values(batch * d_in, 4), [batch, d_in]), &device)
                    .require_grad();
                let y = if fused { forward(&layer, x.clone()) } else { layer.forward(x.clone()) };
                let grads = (y.clone() * w.clone()).sum().backward();
                let read = |t: Tensor<2>| t.into_data().try_to_vec::<f32>().unwrap();
                let weight_grad = layer.weight.val().grad(&grads).unwrap();
                let bias_grad =
                    layer.bias.as_ref().map(|b| b.val().grad(&grads).unwrap().into_data().try_to_vec::<f32>().unwrap());
                (read(y), read(x.grad(&grads).unwrap()), read(weight_grad), bias_grad.unwrap_or_default())
            };
            let (fused, plain) = (run(true), run(false));
            let same = |a: &[f32], b: &[f32], what: &str| {
                assert_eq!(a.len(), b.len(), "{what}");
                for (i, (x, y)) in a.iter().zip(b).enumerate() {
                    assert!(
                        (x - y).abs() <= 1e-4 * (1.0 + y.abs()),
                        "{what}[{i}] ({batch}x{d_in}x{d_out}): {x} vs {y}"
                    );
                }
            };
            same(&fused.0, &plain.0, "output");
            same(&fused.1, &plain.1, "input gradient");
            same(&fused.2, &plain.2, "weight gradient");
            same(&fused.3, &plain.3, "bias gradient");
        }
    }
}
