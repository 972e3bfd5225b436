//! The gradient statistics of one parameter (`metrics::gradient_reductions`)
//! on the flex backend as one op: the sum of squares and the largest
//! absolute value in one pass over the tensor, without the temporaries of
//! `square().sum()` and `abs().max()`.
//!
//! Why: w6 (w1 plus these statistics every step) ran at 0.81 of w1's speed
//! (`actbench bench --workloads w1,w6 --repeats 5`) once the training ops
//! themselves were fast: six Burn ops and three full-size temporaries per
//! parameter per step, against the target of at most 10% for recording.
//!
//! The sum is accumulated in 32 partial f32 sums combined in a fixed order,
//! whatever the CPU's vector width, so it does not depend on the machine's
//! threads or instruction set.

use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, AutodiffBackend, Backend, Dispatch, Flex, backend_extension};
use burn::tensor::Tensor;

use super::simd::{on_path, widest_path};
use super::{contiguous, f32_tensor, values};

#[backend_extension(Flex, Autodiff)]
pub trait FusedSquareSumMaxAbs: Backend {
    /// `[sum of x^2, max |x|]` over all elements -> `[2]` (`[0, 0]` for an empty tensor).
    fn square_sum_max_abs(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// `[x.square().sum(), x.abs().max()]` as a `[2]` tensor: one pass on flex
/// (f32), Burn's ops elsewhere (queued on the device, read with the step's loss).
pub fn square_sum_max_abs<const D: usize>(x: Tensor<D>) -> Tensor<1> {
    if super::on_flex_f32(&x) {
        let flat: Tensor<1> = x.flatten(0, D - 1);
        Tensor::from_dispatch(Dispatch::square_sum_max_abs(flat.into_dispatch()))
    } else {
        Tensor::cat(vec![x.clone().square().sum(), x.abs().max()], 0)
    }
}

/// Partial sums per pass: the summation order (and so the result) is fixed
/// by this number, not by the vector width the CPU offers.
const LANES: usize = 32;

/// Sum of squares and largest |x| of a slice: `LANES` partial sums and maxima
/// (straight-line code the compiler vectorises), combined in order.
#[inline(always)]
fn reduce_portable(xs: &[f32]) -> (f32, f32) {
    let mut sums = [0.0f32; LANES];
    let mut maxes = [0.0f32; LANES];
    let chunks = xs.chunks_exact(LANES);
    let tail = chunks.remainder();
    for chunk in chunks {
        for lane in 0..LANES {
            let v = chunk[lane];
            sums[lane] += v * v;
            let a = v.abs();
            maxes[lane] = if a > maxes[lane] { a } else { maxes[lane] };
        }
    }
    for (lane, &v) in tail.iter().enumerate() {
        sums[lane] += v * v;
        maxes[lane] = maxes[lane].max(v.abs());
    }
    (sums.iter().sum(), maxes.iter().fold(0.0f32, |a, &b| a.max(b)))
}

/// The widest path the CPU has (all give the same bits: same operations, same order).
fn reduce(xs: &[f32]) -> (f32, f32) {
    on_path!(widest_path(), reduce_portable, (xs: &[f32]) -> (f32, f32))
}

impl FusedSquareSumMaxAbs for Flex {
    fn square_sum_max_abs(x: FlexTensor) -> FlexTensor {
        let x = contiguous(&x);
        let (sum, max) = reduce(values(&x));
        f32_tensor(vec![sum, max], vec![2])
    }
}

/// Statistics are never differentiated: the result is a new leaf.
impl<B: FusedSquareSumMaxAbs, C: CheckpointStrategy> FusedSquareSumMaxAbs for Autodiff<B, C> {
    fn square_sum_max_abs(x: FloatTensor<Self>) -> FloatTensor<Self> {
        <Self as AutodiffBackend>::from_inner(B::square_sum_max_abs(<Self as AutodiffBackend>::inner(x)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    /// Against Burn's `square().sum()` and `abs().max()` on the same values,
    /// for lengths with and without a tail, negative maxima, and a 2-D tensor.
    #[test]
    fn equals_burns_ops() {
        let device = Device::flex();
        for n in [1usize, 7, 8, 100, 100_003] {
            let values: Vec<f32> = (0..n).map(|i| (((i * 7919) % 2003) as f32 - 1500.0) / 700.0).collect();
            let x = Tensor::<1>::from_data(TensorData::new(values.clone(), [n]), &device);
            let got = square_sum_max_abs(x.clone()).into_data().try_to_vec::<f32>().unwrap();
            let sum: f64 = values.iter().map(|&v| (v as f64) * (v as f64)).sum();
            let max = values.iter().fold(0.0f32, |a, &b| a.max(b.abs()));
            assert!((got[0] as f64 - sum).abs() <= 1e-5 * sum, "n {n}: sum {} want {sum}", got[0]);
            assert_eq!(got[1], max, "n {n}");
            assert_eq!(reduce_portable(&values), reduce(&values), "n {n}: the vector path differs");
            let burn_sum = x.clone().square().sum().into_data().try_to_vec::<f32>().unwrap()[0];
            assert!((got[0] - burn_sum).abs() <= 1e-4 * burn_sum, "n {n}: {} vs Burn's {burn_sum}", got[0]);
        }
        let grid = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, -3.0, 2.0, 0.5], [2, 2]), &device);
        assert_eq!(square_sum_max_abs(grid).into_data().try_to_vec::<f32>().unwrap(), vec![14.25, 3.0]);
    }
}
