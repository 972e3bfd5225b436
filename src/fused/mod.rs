//! actbench's own ops for Burn's flex backend, registered through Burn's
//! backend extension API (burn-book/src/advanced/backend-extension): each is
//! one op forward and a hand-written backward, where Burn composes several
//! ops (and recomputes in the backward) or runs a slow path. They replace
//! the hot spots found in the benchmark workloads (README, Speed):
//! activations, the linear layer, the convolution, 2x2 max pooling, the
//! optimizer step and the gathering of a batch's rows.
//!
//! Each op applies to f32 tensors on flex (with or without autodiff);
//! elsewhere (ndarray, wgpu) the callers use Burn's own ops, which are also
//! what the tests compare every fused op and gradient against.

pub mod activation;
pub mod conv;
pub mod formula;
pub mod gather;
pub mod kernels;
pub mod linear;
pub mod optim;
pub mod pool;
pub mod stats;
pub mod team;

use burn::backend::DispatchDevice;
use burn::backend::flex::{FlexTensor, Layout};
use burn::tensor::{Bytes, DType, Shape, Tensor};

/// Whether `x` can take a fused op: f32 on the flex backend.
pub fn on_flex_f32<const D: usize>(x: &Tensor<D>) -> bool {
    x.dtype() == DType::F32 && matches!(x.device().inner().as_dispatch(), DispatchDevice::Flex(_))
}

/// `t` itself when its f32 values are one contiguous slice, else a contiguous copy.
fn contiguous(t: &FlexTensor) -> FlexTensor {
    if t.as_slice::<f32>().is_some() { t.clone() } else { t.to_contiguous() }
}

/// The values of a tensor that went through `contiguous`.
fn values(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>().expect("contiguous f32")
}

/// A contiguous f32 flex tensor.
fn f32_tensor(values: Vec<f32>, dims: Vec<usize>) -> FlexTensor {
    FlexTensor::new(Bytes::from_elems(values), Layout::contiguous(Shape::from(dims)), DType::F32)
}
