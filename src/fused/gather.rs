//! A training batch's rows of the data set on the flex backend as one op:
//! the rows copied straight into the batch, in parts spread over the team
//! (`team.rs`).
//!
//! Why: `select(0, index)` on flex is a single-threaded copy into a freshly
//! allocated buffer; for w1 (128 rows of 784 values, 400 KB a step, from
//! rows scattered over a 188 MB data set) it was a fifth of the training
//! thread's time outside the matrix products, with the other core idle
//! (`perf record -e cpu-clock --call-graph dwarf` of `actbench bench
//! --workloads w1`, 2026-12-02). The copy is bound by memory latency, which
//! two cores hide better than one.
//!
//! The batch is data, never differentiated: on autodiff the result is a new
//! leaf, as the features are. `batch_rows` falls back to Burn's `select` for
//! a tensor that requires a gradient and off flex.

use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::{FloatTensor, IntTensor};
use burn::backend::{Autodiff, AutodiffBackend, Backend, Dispatch, Flex, TensorMetadata, backend_extension};
use burn::tensor::{DType, Int, Tensor};

use super::{contiguous, f32_tensor, values};

/// Rows per part: fixed, so every part is the same copy whatever the number
/// of threads; small enough that a batch of 128 makes 8 parts to share.
const PART_ROWS: usize = 16;

/// Batches of fewer values are copied in one part, on the calling thread:
/// handing a part to the team costs more than copying a few kilobytes. The
/// default experiment (batches of 32 x 64 values) took 3.07 s against 2.65 s
/// with every batch split (3 alternating rounds); w1's batches are 100,352
/// values.
const SPLIT_FROM: usize = 32 * 1024;

#[backend_extension(Flex, Autodiff)]
pub trait FusedBatchRows: Backend {
    /// Rows `index[0], index[1], ...` of `x [n, features]` -> `[index.len(), features]`.
    fn batch_rows(x: FloatTensor<Self>, index: IntTensor<Self>) -> FloatTensor<Self>;
}

/// `x.select(0, index)` for the rows of a data set: one op spread over the
/// team on flex (f32, no gradient), Burn's `select` elsewhere.
pub fn batch_rows(x: Tensor<2>, index: Tensor<1, Int>) -> Tensor<2> {
    if super::on_flex_f32(&x) && !x.is_require_grad() {
        Tensor::from_dispatch(Dispatch::batch_rows(x.into_dispatch(), index.into_dispatch()))
    } else {
        x.select(0, index)
    }
}

impl FusedBatchRows for Flex {
    fn batch_rows(x: FlexTensor, index: FlexTensor) -> FlexTensor {
        let x = contiguous(&x);
        let dims = x.shape();
        let (n, features) = (dims[0], dims[1]);
        let source = values(&x);
        let index = index.to_contiguous();
        let rows: Vec<usize> = match index.dtype() {
            DType::I64 => index.as_slice::<i64>().expect("i64").iter().map(|&i| row(i as i128, n)).collect(),
            DType::I32 => index.as_slice::<i32>().expect("i32").iter().map(|&i| row(i as i128, n)).collect(),
            other => panic!("batch_rows: index of dtype {other:?}, expected i64 or i32"),
        };
        let mut out = Vec::<f32>::with_capacity(rows.len() * features);
        // The parts' destination, as an address (each part writes only its own rows).
        let out_at = out.as_mut_ptr() as usize;
        let part = |p: usize| {
            let first = p * PART_ROWS;
            for (r, &from) in rows.iter().enumerate().skip(first).take(PART_ROWS) {
                let src = &source[from * features..(from + 1) * features];
                // SAFETY: row r of `out` lies inside its capacity (rows.len() * features);
                // no two parts write the same row.
                unsafe {
                    std::ptr::copy_nonoverlapping(src.as_ptr(), (out_at as *mut f32).add(r * features), features)
                };
            }
        };
        if rows.len() * features >= SPLIT_FROM {
            super::team::run(rows.len().div_ceil(PART_ROWS), &part);
        } else {
            (0..rows.len().div_ceil(PART_ROWS)).for_each(part);
        }
        // SAFETY: every row 0..rows.len() was written above (the parts cover them all).
        unsafe { out.set_len(rows.len() * features) };
        f32_tensor(out, vec![rows.len(), features])
    }
}

/// The row an index names, checked against the data set's length (as `select` does).
fn row(i: i128, n: usize) -> usize {
    assert!(i >= 0 && (i as usize) < n, "batch_rows: index {i} out of range for {n} rows");
    i as usize
}

/// Never differentiated: the result is a new leaf.
impl<B: FusedBatchRows, C: CheckpointStrategy> FusedBatchRows for Autodiff<B, C> {
    fn batch_rows(x: FloatTensor<Self>, index: IntTensor<Self>) -> FloatTensor<Self> {
        <Self as AutodiffBackend>::from_inner(B::batch_rows(<Self as AutodiffBackend>::inner(x), index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    /// The same rows as Burn's `select`, for batches below, at and above a
    /// part, repeated and unsorted indices, on flex with and without autodiff.
    #[test]
    fn equals_burns_select() {
        for device in [Device::flex(), Device::flex().autodiff()] {
            let (n, features) = (300, 300);
            let data: Vec<f32> = (0..n * features).map(|i| i as f32 * 0.5 - 3.0).collect();
            let x = Tensor::<2>::from_data(TensorData::new(data, [n, features]), &device);
            for batch in [1usize, 16, 17, 128, 300] {
                let index: Vec<i64> = (0..batch).map(|i| ((i * 131 + 7) % n) as i64).collect();
                let index = Tensor::<1, Int>::from_data(TensorData::new(index, [batch]), &device);
                let got = batch_rows(x.clone(), index.clone()).into_data();
                let want = x.clone().select(0, index).into_data();
                assert_eq!(got.shape(), want.shape(), "batch {batch}");
                assert_eq!(got.try_to_vec::<f32>().unwrap(), want.try_to_vec::<f32>().unwrap(), "batch {batch}");
            }
        }
    }
}
