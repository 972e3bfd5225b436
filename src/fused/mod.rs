//! actbench's own ops for Burn's flex backend, registered through Burn's
//! backend extension API (burn-book/src/advanced/backend-extension): each is
//! one op forward and a hand-written backward, where Burn composes several
//! ops (and recomputes in the backward) or runs a slow path. They replace
//! the hot spots found in the benchmark workloads (docs/src/performance.md):
//! activations, the linear layer, causal attention, layer and batch norm, the convolution, a ResNet's option-A shortcut, 2x2 max pooling, the
//! optimizer step and the gathering of a batch's rows.
//!
//! Each op applies to f32 tensors on flex (with or without autodiff);
//! elsewhere (ndarray, wgpu) the callers use Burn's own ops, which are also
//! what the tests compare every fused op and gradient against.

pub mod activation;
pub mod attention;
pub mod batch_norm;
pub mod conv;
pub mod formula;
pub mod gather;
pub mod kernels;
pub mod layer_norm;
pub mod linear;
pub mod optim;
pub mod pool;
pub mod shortcut;
mod simd;
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

/// A vector of `len` floats built in parallel, `chunk` values per task:
/// each task zeroes its own chunk, then `fill(state, chunk index, chunk)`
/// writes it (`state` from `init`, once per rayon task, as `for_each_init`).
///
/// Why: `vec![0.0; len]` zeroes the whole output on the calling thread
/// before the parallel work starts; for w5's 4.7 MB activations that memset
/// was the largest serial part of its step (perf, 2026-12-02). Zeroed in
/// the task, the chunk is written while it is still in that core's cache.
fn par_filled<T>(
    len: usize,
    chunk: usize,
    init: impl Fn() -> T + Sync + Send,
    fill: impl Fn(&mut T, usize, &mut [f32]) + Sync + Send,
) -> Vec<f32> {
    use rayon::prelude::*;
    let mut out = Vec::<f32>::with_capacity(len);
    out.spare_capacity_mut()[..len].par_chunks_mut(chunk.max(1)).enumerate().for_each_init(init, |state, (i, part)| {
        for v in part.iter_mut() {
            v.write(0.0);
        }
        // SAFETY: every element of `part` was initialised just above.
        let part = unsafe { &mut *(part as *mut [std::mem::MaybeUninit<f32>] as *mut [f32]) };
        fill(state, i, part);
    });
    // SAFETY: the chunks cover 0..len, and every one was initialised above.
    unsafe { out.set_len(len) };
    out
}

/// An output buffer that the parts of a team's job share, each writing only
/// its own elements (one window's head, one block of rows), reached through
/// methods so that closures capture the whole `Shared`, not its raw pointer.
#[derive(Clone, Copy)]
struct Shared(*mut f32);
// SAFETY: the callers' parts write disjoint elements through it, and the
// owner does not touch the buffer before the parts are done.
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

impl Shared {
    /// The element `offset` floats in.
    ///
    /// # Safety
    /// `offset` lies inside the buffer.
    unsafe fn at(self, offset: usize) -> *mut f32 {
        unsafe { self.0.add(offset) }
    }

    /// `len` floats from `offset`.
    ///
    /// # Safety
    /// The range lies inside the buffer and no one else uses it meanwhile.
    #[allow(clippy::mut_from_ref)]
    unsafe fn slice(&self, offset: usize, len: usize) -> &mut [f32] {
        unsafe { std::slice::from_raw_parts_mut(self.0.add(offset), len) }
    }
}

/// A contiguous f32 flex tensor.
fn f32_tensor(values: Vec<f32>, dims: Vec<usize>) -> FlexTensor {
    FlexTensor::new(Bytes::from_elems(values), Layout::contiguous(Shape::from(dims)), DType::F32)
}
