//! The 2-D convolution on the flex backend (any stride, no dilation, one
//! group: the convolutions the model kinds build) as one Burn backend extension op:
//! per sample, im2col into a thread-local buffer and one `gemm` call
//! `W [out, in*kh*kw] x columns [in*kh*kw, oh*ow]` that writes the sample's
//! output planes directly, the bias preloaded; samples are spread over the
//! current rayon pool. The backward recomputes the columns per sample and
//! uses two more products: `W^T grad` scattered back (col2im) for the input,
//! `grad columns^T` for the weight. A "same" convolution (stride 1, the
//! output as large as the input: a ResNet's 3x3 ones) builds instead the
//! columns of the output gradient, once per sample, and takes both
//! gradients from them (`Geometry::same_grads`).
//!
//! Why: bench w5 (LeNet-like CNN) spent a quarter of its time in burn-flex's
//! convolution loops and its transposed convolution (the input gradient),
//! and only 15% in gemm (perf record, `actbench bench --workloads w5`).
//!
//! Determinism: every sample's output and input gradient is computed by one
//! thread; the weight gradient sums the samples in fixed groups of `GROUP`,
//! then the groups in order, so the result does not depend on the number of
//! threads (tests/it/resume.rs checks that).

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, TensorMetadata, backend_extension};
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::tensor::{Shape, Tensor};
use rayon::prelude::*;
use std::cell::RefCell;
use std::mem::MaybeUninit;

use super::{contiguous, f32_tensor, par_filled, values};

/// Samples whose weight-gradient contributions one task sums (see the module comment).
const GROUP: usize = 8;

#[backend_extension(Flex, Autodiff)]
pub trait FusedConv2d: Backend {
    /// `x [n, c, h, w]`, `weight [o, c, kh, kw]`, `bias [o]` (`[0]`: none), zero padding `[ph, pw]` on
    /// both sides, `stride [sh, sw]` -> `[n, o, (h + 2ph - kh) / sh + 1, (w + 2pw - kw) / sw + 1]`.
    fn fused_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        padding: [usize; 2],
        stride: [usize; 2],
    ) -> FloatTensor<Self>;
}

/// The backward products, called by the autodiff implementation on the inner backend.
pub trait FusedConv2dBackward: Backend {
    fn conv_input_grad(
        grad: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        x_shape: Shape,
        padding: [usize; 2],
        stride: [usize; 2],
    ) -> FloatTensor<Self>;
    fn conv_weight_grad(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        kernel: [usize; 2],
        padding: [usize; 2],
        stride: [usize; 2],
    ) -> FloatTensor<Self>;
    fn conv_bias_grad(grad: FloatTensor<Self>) -> FloatTensor<Self>;
    /// The input's and the weight's gradients together, where both are wanted.
    fn conv_grads(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        padding: [usize; 2],
        stride: [usize; 2],
    ) -> (FloatTensor<Self>, FloatTensor<Self>);
}

/// `conv.forward(x)`, through the fused op where it applies (flex, f32,
/// no dilation, one group, symmetric padding). A convolution
/// without bias (a ResNet's, before batch norm) passes an empty `[0]` bias:
/// not tracked, so its gradient is never computed.
pub fn forward(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let [kh, kw] = conv.kernel_size;
    let padding = match conv.padding {
        PaddingConfig2d::Valid => Some([0, 0]),
        // Stride 1 and odd kernels: `same` pads (k - 1) / 2 on each side.
        PaddingConfig2d::Same if kh % 2 == 1 && kw % 2 == 1 && conv.stride == [1, 1] => Some([kh / 2, kw / 2]),
        PaddingConfig2d::Explicit(top, left, bottom, right) if top == bottom && left == right => Some([top, left]),
        _ => None,
    };
    let simple = conv.dilation == [1, 1] && conv.groups == 1;
    let flex_f32 = super::on_flex_f32(&x);
    match padding {
        Some(padding) if simple && flex_f32 => {
            let bias = match &conv.bias {
                Some(bias) => bias.val(),
                None => Tensor::empty([0], &x.device()),
            };
            Tensor::from_dispatch(Dispatch::fused_conv2d(
                x.into_dispatch(),
                conv.weight.val().into_dispatch(),
                bias.into_dispatch(),
                padding,
                conv.stride,
            ))
        }
        _ => conv.forward(x),
    }
}

/// The sizes of one convolution.
#[derive(Debug, Clone, Copy)]
struct Geometry {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    o: usize,
    kh: usize,
    kw: usize,
    ph: usize,
    pw: usize,
    sh: usize,
    sw: usize,
}

impl Geometry {
    fn new(x: &Shape, weight: &Shape, padding: [usize; 2], stride: [usize; 2]) -> Self {
        let (n, c, h, w) = (x[0], x[1], x[2], x[3]);
        let (o, kh, kw) = (weight[0], weight[2], weight[3]);
        Self { n, c, h, w, o, kh, kw, ph: padding[0], pw: padding[1], sh: stride[0], sw: stride[1] }
    }
    fn oh(&self) -> usize {
        (self.h + 2 * self.ph - self.kh) / self.sh + 1
    }
    fn ow(&self) -> usize {
        (self.w + 2 * self.pw - self.kw) / self.sw + 1
    }
    /// The output columns `x0..x1` whose input column `x * sw + kx - pw` lies inside the image.
    fn inside(&self, kx: usize) -> (usize, usize) {
        let x0 = self.pw.saturating_sub(kx).div_ceil(self.sw);
        let x1 = (self.w + self.pw).saturating_sub(kx).div_ceil(self.sw).min(self.ow());
        (x0, x1.max(x0))
    }
    /// The input row of output row `y` and kernel row `ky`, if inside the image.
    fn input_row(&self, y: usize, ky: usize) -> Option<usize> {
        (y * self.sh + ky).checked_sub(self.ph).filter(|&iy| iy < self.h)
    }
    /// Rows of the column matrix: c * kh * kw.
    fn patch(&self) -> usize {
        self.c * self.kh * self.kw
    }
    /// Columns of the column matrix: oh * ow.
    fn positions(&self) -> usize {
        self.oh() * self.ow()
    }

    /// The columns `[c*kh*kw, oh*ow]` of one sample `x [c, h, w]`.
    fn im2col(&self, x: &[f32], col: &mut [f32]) {
        // Without padding every row segment is a plain copy; for the common
        // output widths it is done with a length known at compile time (vector
        // moves, no `memcpy` call, no bounds arithmetic per segment), which
        // was about a sixth of w5's time in the general loop below.
        if self.ph == 0 && self.pw == 0 && self.sh == 1 && self.sw == 1 {
            match self.ow() {
                8 => return self.im2col_valid::<8>(x, col),
                16 => return self.im2col_valid::<16>(x, col),
                24 => return self.im2col_valid::<24>(x, col),
                28 => return self.im2col_valid::<28>(x, col),
                32 => return self.im2col_valid::<32>(x, col),
                _ => {}
            }
        }
        if self.same() {
            return self.im2col_same(x, col);
        }
        let (oh, ow, sw) = (self.oh(), self.ow(), self.sw);
        for c in 0..self.c {
            for ky in 0..self.kh {
                for kx in 0..self.kw {
                    let row = &mut col[((c * self.kh + ky) * self.kw + kx) * oh * ow..][..oh * ow];
                    let (x0, x1) = self.inside(kx);
                    for y in 0..oh {
                        let out = &mut row[y * ow..(y + 1) * ow];
                        let Some(iy) = self.input_row(y, ky).filter(|_| x0 < x1) else {
                            out.fill(0.0);
                            continue;
                        };
                        let src = &x[(c * self.h + iy) * self.w..][..self.w];
                        // Element loops, not `fill`/`copy_from_slice`: the segments are a
                        // few floats long (8 for w5's second convolution), where the libc
                        // calls cost more than the copy (perf: memmove 9% of w5).
                        for v in &mut out[..x0] {
                            *v = 0.0;
                        }
                        let first = x0 * sw + kx - self.pw;
                        if sw == 1 {
                            for (v, s) in out[x0..x1].iter_mut().zip(&src[first..]) {
                                *v = *s;
                            }
                        } else {
                            for (v, s) in out[x0..x1].iter_mut().zip(src[first..].iter().step_by(sw)) {
                                *v = *s;
                            }
                        }
                        for v in &mut out[x1..] {
                            *v = 0.0;
                        }
                    }
                }
            }
        }
    }

    /// Stride 1 and "same" padding (the output as large as the input, a
    /// ResNet's 3x3 convolutions): the column row of kernel offset (ky, kx)
    /// is the channel's plane shifted by a constant `(ky - ph) * w + kx - pw`.
    fn same(&self) -> bool {
        self.sh == 1 && self.sw == 1 && self.oh() == self.h && self.ow() == self.w
    }

    /// For each kernel offset, the rows of the output that read inside the
    /// image and, per row, the columns that do: `(y0, y1, x0, x1, shift)`,
    /// `shift` the offset from an output index to its input index in the plane.
    fn same_window(&self, ky: usize, kx: usize) -> (usize, usize, usize, usize, isize) {
        let (dy, dx) = (ky as isize - self.ph as isize, kx as isize - self.pw as isize);
        let (h, w) = (self.h as isize, self.w as isize);
        let (y0, y1) = ((-dy).max(0) as usize, (h - dy).clamp(0, h) as usize);
        let (x0, x1) = ((-dx).clamp(0, w) as usize, (w - dx).clamp(0, w) as usize);
        (y0, y1.max(y0), x0, x1.max(x0), dy * w + dx)
    }

    /// `im2col` for [`Geometry::same`]: one copy of the shifted plane per
    /// column row, then the few entries that read across a row's edge (or
    /// outside the plane) set to zero. Copies of whole planes (4 KB at 32x32)
    /// instead of one per output row: the per-row copies with their edge
    /// arithmetic were a fifth of w9's step (perf, 2026-12-06).
    fn im2col_same(&self, x: &[f32], col: &mut [f32]) {
        let (h, w) = (self.h, self.w);
        let plane = h * w;
        for c in 0..self.c {
            let src = &x[c * plane..(c + 1) * plane];
            for ky in 0..self.kh {
                for kx in 0..self.kw {
                    let row = &mut col[((c * self.kh + ky) * self.kw + kx) * plane..][..plane];
                    let (y0, y1, x0, x1, shift) = self.same_window(ky, kx);
                    if y0 == y1 || x0 == x1 {
                        row.fill(0.0);
                        continue;
                    }
                    row[..y0 * w].fill(0.0);
                    row[y1 * w..].fill(0.0);
                    // Output indices y0*w .. y1*w read input index + shift; those whose
                    // input lies outside the plane are at a row's edge and zeroed below.
                    let (lo, hi) = (y0 * w, y1 * w);
                    let from = (lo as isize + shift).max(0) as usize;
                    let to = ((hi as isize + shift) as usize).min(plane);
                    let start = (from as isize - shift) as usize;
                    row[start..start + (to - from)].copy_from_slice(&src[from..to]);
                    zero_edges(row, w, (y0, y1), (x0, x1));
                }
            }
        }
    }

    /// The input gradient of a [`Geometry::same`] convolution from the
    /// output gradient `gs [n, o, h, w]` and the weight `ws [o, c, kh, kw]`:
    /// itself a "same" convolution of the gradient, with the kernel turned
    /// half a turn and its two channel axes swapped. As a convolution it runs
    /// the forward's product (the patch, `o * kh * kw`, as its inner
    /// dimension) instead of a product of inner dimension `o` into `kh * kw`
    /// times the input's size and a scatter-add of that back (col2im).
    fn same_input_grad(&self, gs: &[f32], ws: &[f32]) -> Vec<f32> {
        let back = Geometry { c: self.o, o: self.c, ..*self };
        let patch = back.patch();
        let flipped = self.turned(ws);
        let positions = self.positions();
        let sample = self.o * positions;
        par_written(self.n * self.c * positions, self.c * positions, |i, dx| {
            with_columns(patch * positions, |col| {
                back.im2col(&gs[i * sample..(i + 1) * sample], col);
                // dx [c, positions] = flipped [c, patch] * col [patch, positions]
                product_to(dx, self.c, positions, patch, (&flipped, 1, patch as isize), (col, 1, positions as isize));
            })
        })
    }

    /// The weight `ws [o, c, kh, kw]` turned half a turn with its channel
    /// axes swapped, `[c, o, kh, kw]`: the kernel of [`Geometry::same_input_grad`].
    fn turned(&self, ws: &[f32]) -> Vec<f32> {
        let (kh, kw) = (self.kh, self.kw);
        let mut turned = vec![0.0f32; ws.len()];
        for o in 0..self.o {
            for c in 0..self.c {
                for ky in 0..kh {
                    for kx in 0..kw {
                        turned[((c * self.o + o) * kh + ky) * kw + kx] =
                            ws[((o * self.c + c) * kh + (kh - 1 - ky)) * kw + (kw - 1 - kx)];
                    }
                }
            }
        }
        turned
    }

    /// Both gradients of a [`Geometry::same`] convolution, the input's
    /// `[n, c, h, w]` and the weight's `[o, c, kh, kw]`, from one set of
    /// columns per sample: those of the output gradient, which
    /// [`Geometry::same_input_grad`] builds anyway. Column row `(o, ky', kx')`
    /// holds `grad[o, q + shift(ky', kx')]` at input position `q`, and with
    /// `ky' = kh - 1 - ky` that is `grad[o, q - shift(ky, kx)]`, the output
    /// position that reads input `q` through kernel offset `(ky, kx)` (zero
    /// where none does). So `dW[o, c, ky, kx] = sum_q col[(o, ky', kx'), q] *
    /// x[c, q]`: a product with the sample's input read in place, instead of
    /// a second im2col of `x` per sample (a third of the columns built per
    /// step in w9). Samples are summed in fixed groups as in `conv_weight_grad`.
    fn same_grads(&self, xs: &[f32], gs: &[f32], ws: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let back = Geometry { c: self.o, o: self.c, ..*self };
        let (c, o, kh, kw) = (self.c, self.o, self.kh, self.kw);
        let (patch, positions) = (back.patch(), self.positions());
        let turned = self.turned(ws);
        let (xsample, gsample) = (c * positions, o * positions);
        let len = self.n * xsample;
        let mut dx = Vec::<f32>::with_capacity(len);
        let partials: Vec<Vec<f32>> = dx.spare_capacity_mut()[..len]
            .par_chunks_mut(GROUP * xsample)
            .enumerate()
            .map(|(group, chunk)| {
                // dWt [(o, ky', kx'), c]
                let mut dwt = vec![0.0f32; patch * c];
                with_columns(patch * positions, |col| {
                    for (j, dx) in chunk.chunks_mut(xsample).enumerate() {
                        let i = group * GROUP + j;
                        back.im2col(&gs[i * gsample..(i + 1) * gsample], col);
                        // dx [c, positions] = turned [c, patch] * col [patch, positions]
                        product_to(dx, c, positions, patch, (&turned, 1, patch as isize), (col, 1, positions as isize));
                        // dWt [patch, c] += col [patch, positions] * x^T [positions, c]
                        add_columns_times(&mut dwt, col, &xs[i * xsample..(i + 1) * xsample], patch, c, positions);
                    }
                });
                dwt
            })
            .collect();
        // SAFETY: the chunks cover 0..len, and `product_to` wrote every sample's gradient whole.
        unsafe { dx.set_len(len) };
        let dwt = sum_in_order(&partials, patch * c);
        // dW [o, c, ky, kx] = dWt [(o, kh-1-ky, kw-1-kx), c].
        let mut dw = vec![0.0f32; o * c * kh * kw];
        for oc in 0..o {
            for ci in 0..c {
                for ky in 0..kh {
                    for kx in 0..kw {
                        dw[((oc * c + ci) * kh + ky) * kw + kx] =
                            dwt[((oc * kh + (kh - 1 - ky)) * kw + (kw - 1 - kx)) * c + ci];
                    }
                }
            }
        }
        (dx, dw)
    }

    /// `im2col` without padding, for output width `N`: the columns are the
    /// segments `x[c, y + ky, kx .. kx + N]` in (c, ky, kx, y) order.
    #[inline(always)]
    fn im2col_valid<const N: usize>(&self, x: &[f32], col: &mut [f32]) {
        let mut segments = col.chunks_exact_mut(N);
        for c in 0..self.c {
            for ky in 0..self.kh {
                for kx in 0..self.kw {
                    for y in 0..self.oh() {
                        let start = (c * self.h + y + ky) * self.w + kx;
                        let src: &[f32; N] = x[start..start + N].try_into().expect("N floats");
                        segments.next().expect("one segment per output row").copy_from_slice(src);
                    }
                }
            }
        }
    }

    /// Adds the columns' gradient `[c*kh*kw, oh*ow]` back onto one sample's
    /// input gradient `[c, h, w]`.
    fn col2im(&self, col: &[f32], dx: &mut [f32]) {
        let (oh, ow, sw) = (self.oh(), self.ow(), self.sw);
        for c in 0..self.c {
            for ky in 0..self.kh {
                for kx in 0..self.kw {
                    let row = &col[((c * self.kh + ky) * self.kw + kx) * oh * ow..][..oh * ow];
                    let (x0, x1) = self.inside(kx);
                    if x0 >= x1 {
                        continue;
                    }
                    let first = x0 * sw + kx - self.pw;
                    for y in 0..oh {
                        let Some(iy) = self.input_row(y, ky) else { continue };
                        let dst = &mut dx[(c * self.h + iy) * self.w..][..self.w];
                        let src = &row[y * ow + x0..y * ow + x1];
                        if sw == 1 {
                            for (d, s) in dst[first..].iter_mut().zip(src) {
                                *d += s;
                            }
                        } else {
                            for (d, s) in dst[first..].iter_mut().step_by(sw).zip(src) {
                                *d += s;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `out [patch, rows] += col [patch, positions] * other^T [positions, rows]`,
/// a weight gradient's share of one sample (transposed). In this orientation
/// gemm's rows are the `rows` channels: it packs the sample's small operand
/// (`rows x positions`) and reads the columns in place. As `[rows, patch]`
/// it packed the columns, nine times as many floats, read across rows: a
/// third of w9's step (perf, 2026-12-06).
fn add_columns_times(out: &mut [f32], col: &[f32], other: &[f32], patch: usize, rows: usize, positions: usize) {
    product(out, patch, rows, positions, (col, 1, positions as isize), (other, positions as isize, 1), true);
}

/// The groups' partial weight gradients added in group order, so that the
/// sum does not depend on the number of threads (see the module comment).
fn sum_in_order(partials: &[Vec<f32>], len: usize) -> Vec<f32> {
    let mut total = vec![0.0f32; len];
    for partial in partials {
        total.iter_mut().zip(partial).for_each(|(a, b)| *a += b);
    }
    total
}

/// Sets the columns outside `x0..x1` of rows `y0..y1` of a `[rows, w]` plane
/// to zero: a column at a time down the rows, a strided loop (the compiler
/// made the per-row version a `memset` call for one or two floats: 7% of
/// w9's step).
fn zero_edges(plane: &mut [f32], w: usize, (y0, y1): (usize, usize), (x0, x1): (usize, usize)) {
    for x in (0..x0).chain(x1..w) {
        for v in plane[y0 * w + x..].iter_mut().step_by(w).take(y1 - y0) {
            *v = 0.0;
        }
    }
}

thread_local! {
    /// Each thread's column buffer, kept from call to call: allocating (and
    /// zeroing) it per task was 7% of w9's step in `memset` (perf, 2026-12-06).
    static COLUMNS: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// `f` with this thread's column buffer of `len` floats. Its values are
/// whatever the last use left: every caller writes all of it before reading.
fn with_columns<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    COLUMNS.with(|cell| {
        let mut columns = cell.borrow_mut();
        if columns.len() < len {
            columns.resize(len, 0.0);
        }
        f(&mut columns[..len])
    })
}

/// A vector of `len` floats built in parallel, `chunk` values per task, each
/// chunk written whole by `write(chunk index, chunk)` (with [`product_to`]):
/// `par_filled` without its zeroing, a wasted pass over every output here
/// (3% of w9's step in `memset`, perf 2026-12-06).
fn par_written(len: usize, chunk: usize, write: impl Fn(usize, &mut [MaybeUninit<f32>]) + Sync + Send) -> Vec<f32> {
    let mut out = Vec::<f32>::with_capacity(len);
    out.spare_capacity_mut()[..len].par_chunks_mut(chunk.max(1)).enumerate().for_each(|(i, part)| write(i, part));
    // SAFETY: the chunks cover 0..len, and `write` wrote every element of each.
    unsafe { out.set_len(len) };
    out
}

/// `out [m, n] = a * b`, every element of `out` written (gemm does not read
/// it); as [`product`].
fn product_to(
    out: &mut [MaybeUninit<f32>],
    m: usize,
    n: usize,
    k: usize,
    a: (&[f32], isize, isize),
    b: (&[f32], isize, isize),
) {
    assert!(out.len() >= m * n);
    // SAFETY: as `product`'s; with `read_dst` false gemm only writes `out`.
    unsafe { gemm_into(out.as_mut_ptr().cast(), m, n, k, a, b, false) }
}

/// `out [m, n] (+)= a * b` with `a`, `b` given by (data, column stride, row
/// stride); one thread (the parallelism is over samples).
fn product(
    out: &mut [f32],
    m: usize,
    n: usize,
    k: usize,
    a: (&[f32], isize, isize),
    b: (&[f32], isize, isize),
    accumulate: bool,
) {
    assert!(out.len() >= m * n);
    // SAFETY: the callers pass slices that cover m x k, k x n and m x n
    // elements with these strides; `out` is not aliased.
    unsafe { gemm_into(out.as_mut_ptr(), m, n, k, a, b, accumulate) }
}

/// gemm's call for [`product`] and [`product_to`].
///
/// # Safety
/// `out` holds m x n floats, `a` and `b` cover m x k and k x n with their strides.
unsafe fn gemm_into(
    out: *mut f32,
    m: usize,
    n: usize,
    k: usize,
    a: (&[f32], isize, isize),
    b: (&[f32], isize, isize),
    accumulate: bool,
) {
    // SAFETY: the caller's promise.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out,
            1,
            n as isize,
            accumulate,
            a.0.as_ptr(),
            a.1,
            a.2,
            b.0.as_ptr(),
            b.1,
            b.2,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

impl FusedConv2d for Flex {
    fn fused_conv2d(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        padding: [usize; 2],
        stride: [usize; 2],
    ) -> FlexTensor {
        let g = Geometry::new(&x.shape(), &weight.shape(), padding, stride);
        let (x, weight, bias) = (contiguous(&x), contiguous(&weight), contiguous(&bias));
        let (xs, ws, bs) = (values(&x), values(&weight), values(&bias));
        let (patch, positions) = (g.patch(), g.positions());
        let sample = g.c * g.h * g.w;
        if bs.is_empty() {
            let out = par_written(g.n * g.o * positions, g.o * positions, |i, out| {
                with_columns(patch * positions, |col| {
                    g.im2col(&xs[i * sample..(i + 1) * sample], col);
                    // out [o, positions] = W [o, patch] * col [patch, positions]
                    product_to(out, g.o, positions, patch, (ws, 1, patch as isize), (col, 1, positions as isize));
                })
            });
            return f32_tensor(out, vec![g.n, g.o, g.oh(), g.ow()]);
        }
        let out = par_filled(
            g.n * g.o * positions,
            g.o * positions,
            || (),
            |_, i, out| {
                with_columns(patch * positions, |col| {
                    g.im2col(&xs[i * sample..(i + 1) * sample], col);
                    for (plane, &b) in out.chunks_exact_mut(positions).zip(bs) {
                        plane.fill(b);
                    }
                    // out [o, positions] += W [o, patch] * col [patch, positions]
                    product(out, g.o, positions, patch, (ws, 1, patch as isize), (col, 1, positions as isize), true);
                })
            },
        );
        f32_tensor(out, vec![g.n, g.o, g.oh(), g.ow()])
    }
}

impl FusedConv2dBackward for Flex {
    fn conv_input_grad(
        grad: FlexTensor,
        weight: FlexTensor,
        x_shape: Shape,
        padding: [usize; 2],
        stride: [usize; 2],
    ) -> FlexTensor {
        let g = Geometry::new(&x_shape, &weight.shape(), padding, stride);
        let (grad, weight) = (contiguous(&grad), contiguous(&weight));
        let (gs, ws) = (values(&grad), values(&weight));
        if g.same() {
            return f32_tensor(g.same_input_grad(gs, ws), x_shape.to_vec());
        }
        let (patch, positions) = (g.patch(), g.positions());
        let sample = g.o * positions;
        let dx = par_filled(
            g.n * g.c * g.h * g.w,
            g.c * g.h * g.w,
            || (),
            |_, i, dx| {
                let grad = &gs[i * sample..(i + 1) * sample];
                with_columns(patch * positions, |col| {
                    // dcol [patch, positions] = W^T [patch, o] * grad [o, positions]
                    product(col, patch, positions, g.o, (ws, patch as isize, 1), (grad, 1, positions as isize), false);
                    g.col2im(col, dx);
                })
            },
        );
        f32_tensor(dx, x_shape.to_vec())
    }

    fn conv_weight_grad(
        x: FlexTensor,
        grad: FlexTensor,
        kernel: [usize; 2],
        padding: [usize; 2],
        stride: [usize; 2],
    ) -> FlexTensor {
        let x_shape = x.shape();
        let o = grad.shape()[1];
        let weight_shape = Shape::from(vec![o, x_shape[1], kernel[0], kernel[1]]);
        let g = Geometry::new(&x_shape, &weight_shape, padding, stride);
        let (x, grad) = (contiguous(&x), contiguous(&grad));
        let (xs, gs) = (values(&x), values(&grad));
        let (patch, positions, sample) = (g.patch(), g.positions(), g.c * g.h * g.w);
        // One partial sum per group of GROUP samples, each summed in sample order.
        let partials: Vec<Vec<f32>> = (0..g.n.div_ceil(GROUP))
            .into_par_iter()
            .map(|group| {
                let mut dwt = vec![0.0f32; patch * o];
                with_columns(patch * positions, |col| {
                    for i in group * GROUP..((group + 1) * GROUP).min(g.n) {
                        g.im2col(&xs[i * sample..(i + 1) * sample], col);
                        let grad = &gs[i * o * positions..(i + 1) * o * positions];
                        // dW^T [patch, o] += col [patch, positions] * grad^T [positions, o]
                        add_columns_times(&mut dwt, col, grad, patch, o, positions);
                    }
                });
                dwt
            })
            .collect();
        let dwt = sum_in_order(&partials, patch * o);
        let mut dw = vec![0.0f32; o * patch];
        for (p, row) in dwt.chunks_exact(o).enumerate() {
            for (channel, &v) in row.iter().enumerate() {
                dw[channel * patch + p] = v;
            }
        }
        f32_tensor(dw, weight_shape.to_vec())
    }

    fn conv_grads(
        x: FlexTensor,
        grad: FlexTensor,
        weight: FlexTensor,
        padding: [usize; 2],
        stride: [usize; 2],
    ) -> (FlexTensor, FlexTensor) {
        let (x_shape, weight_shape) = (x.shape(), weight.shape());
        let g = Geometry::new(&x_shape, &weight_shape, padding, stride);
        if !g.same() {
            let kernel = [weight_shape[2], weight_shape[3]];
            let dw = Self::conv_weight_grad(x, grad.clone(), kernel, padding, stride);
            return (Self::conv_input_grad(grad, weight, x_shape, padding, stride), dw);
        }
        let (x, grad, weight) = (contiguous(&x), contiguous(&grad), contiguous(&weight));
        let (dx, dw) = g.same_grads(values(&x), values(&grad), values(&weight));
        (f32_tensor(dx, x_shape.to_vec()), f32_tensor(dw, weight_shape.to_vec()))
    }

    fn conv_bias_grad(grad: FlexTensor) -> FlexTensor {
        let shape = grad.shape();
        let (n, o, positions) = (shape[0], shape[1], shape[2] * shape[3]);
        let grad = contiguous(&grad);
        let gs = values(&grad);
        // Eight partial sums per plane (vectorised), combined in a fixed order:
        // each channel's planes in sample order, the channels in parallel.
        let db: Vec<f32> = (0..o)
            .into_par_iter()
            .map(|channel| {
                let mut sum = 0.0f32;
                for i in 0..n {
                    let plane = &gs[(i * o + channel) * positions..][..positions];
                    let mut lanes = [0.0f32; 8];
                    let chunks = plane.chunks_exact(8);
                    let tail: f32 = chunks.remainder().iter().sum();
                    for chunk in chunks {
                        for (lane, v) in lanes.iter_mut().zip(chunk) {
                            *lane += v;
                        }
                    }
                    sum += lanes.iter().sum::<f32>() + tail;
                }
                sum
            })
            .collect();
        f32_tensor(db, vec![o])
    }
}

impl<B: FusedConv2d + FusedConv2dBackward, C: CheckpointStrategy> FusedConv2d for Autodiff<B, C> {
    fn fused_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        padding: [usize; 2],
        stride: [usize; 2],
    ) -> FloatTensor<Self> {
        /// The padding and the stride.
        #[derive(Debug)]
        struct ConvBackward([usize; 2], [usize; 2]);

        impl<B: FusedConv2dBackward> Backward<B, 3> for ConvBackward {
            /// The input and the weight.
            type State = (FloatTensor<B>, FloatTensor<B>);

            fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
                let [node_x, node_weight, node_bias] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                let (x, weight) = ops.state;
                let (padding, stride) = (self.0, self.1);
                if let Some(node) = node_bias {
                    grads.register::<B>(node.id, B::conv_bias_grad(grad.clone()));
                }
                match (node_x, node_weight) {
                    (Some(node_x), Some(node_weight)) => {
                        let (dx, dw) = B::conv_grads(x, grad, weight, padding, stride);
                        grads.register::<B>(node_weight.id, dw);
                        grads.register::<B>(node_x.id, dx);
                    }
                    (None, Some(node)) => {
                        let dims = weight.shape();
                        let kernel = [dims[2], dims[3]];
                        grads.register::<B>(node.id, B::conv_weight_grad(x, grad, kernel, padding, stride));
                    }
                    (Some(node), None) => {
                        grads.register::<B>(node.id, B::conv_input_grad(grad, weight, x.shape(), padding, stride));
                    }
                    (None, None) => {}
                }
            }
        }

        match ConvBackward(padding, stride)
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (x, weight, bias) = (x.into_primitive(), weight.into_primitive(), bias.into_primitive());
                let output = B::fused_conv2d(x.clone(), weight.clone(), bias, padding, stride);
                prep.finish((x, weight), output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::fused_conv2d(
                x.into_primitive(),
                weight.into_primitive(),
                bias.into_primitive(),
                padding,
                stride,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Param;
    use burn::nn::conv::Conv2dConfig;
    use burn::tensor::{Device, TensorData};

    /// Output and all three gradients of the fused convolution against
    /// Burn's own `Conv2d::forward` on the same backend: valid and same
    /// padding, non-square images, several channels, a non-uniform
    /// upstream gradient, and a batch that is not a multiple of `GROUP`.
    #[test]
    fn fused_conv_equals_burns_conv() {
        let device = Device::flex().autodiff();
        let values = |n: usize, salt: usize| -> Vec<f32> {
            (0..n).map(|i| (((i + salt) * 7919) % 1013) as f32 / 500.0 - 1.0).collect()
        };
        // Output widths 6 (general loop), 8 and 24 (the fixed-width copies), padded
        // ones, and strides 2 and 3 (a ResNet's stage changes and its 1x1 projections)
        // on even and odd sides.
        let cases = [
            (3, 1, 4, 5, 12, 10, 0, 1),
            (2, 3, 4, 5, 12, 12, 0, 1),
            (2, 1, 2, 3, 5, 26, 0, 1),
            (11, 3, 5, 3, 7, 9, 1, 1),
            (2, 2, 3, 5, 6, 6, 2, 1),
            (3, 2, 4, 3, 8, 8, 1, 2),
            (2, 3, 2, 3, 7, 9, 1, 2),
            (2, 2, 3, 1, 8, 7, 0, 2),
            (2, 2, 3, 3, 10, 11, 0, 3),
            (2, 3, 4, 3, 8, 8, 1, 1),
            (2, 2, 3, 5, 3, 7, 2, 1),
            (1, 2, 2, 7, 2, 2, 3, 1),
        ];
        for (batch, c, o, k, h, w, pad, stride) in cases {
            let mut conv = Conv2dConfig::new([c, o], [k, k])
                .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
                .with_stride([stride, stride])
                .init(&device);
            conv.weight =
                Param::from_tensor(Tensor::from_data(TensorData::new(values(o * c * k * k, 1), [o, c, k, k]), &device));
            // Some cases without a bias (a ResNet's convolutions: the output written whole).
            conv.bias = ((stride + pad + k) % 2 == 1)
                .then(|| Param::from_tensor(Tensor::from_data(TensorData::new(values(o, 2), [o]), &device)));
            let (oh, ow) = ((h + 2 * pad - k) / stride + 1, (w + 2 * pad - k) / stride + 1);
            let upstream =
                Tensor::<4>::from_data(TensorData::new(values(batch * o * oh * ow, 3), [batch, o, oh, ow]), &device);
            let run = |fused: bool| {
                let x =
                    Tensor::<4>::from_data(TensorData::new(values(batch * c * h * w, 4), [batch, c, h, w]), &device)
                        .require_grad();
                let y = if fused { forward(&conv, x.clone()) } else { conv.forward(x.clone()) };
                let grads = (y.clone() * upstream.clone()).sum().backward();
                let read4 = |t: Tensor<4>| t.into_data().try_to_vec::<f32>().unwrap();
                (
                    read4(y),
                    read4(x.grad(&grads).unwrap()),
                    read4(conv.weight.val().grad(&grads).unwrap()),
                    conv.bias
                        .as_ref()
                        .map_or(vec![], |b| b.val().grad(&grads).unwrap().into_data().try_to_vec::<f32>().unwrap()),
                )
            };
            let (fused, plain) = (run(true), run(false));
            let same = |a: &[f32], b: &[f32], what: &str| {
                assert_eq!(a.len(), b.len(), "{what}");
                for (i, (x, y)) in a.iter().zip(b).enumerate() {
                    assert!(
                        (x - y).abs() <= 1e-4 * (1.0 + y.abs()),
                        "{what}[{i}] (k {k}, pad {pad}, stride {stride}): {x} vs {y}"
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
