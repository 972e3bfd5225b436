//! The one place that maps a backend name to a Burn `Device`; nothing else
//! names a backend.

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum BackendKind {
    /// Burn's pure-Rust CPU backend (the faster CPU backend here; docs/src/backends.md).
    #[default]
    Flex,
    /// burn-ndarray (deprecated by Burn 0.22 in favour of flex, kept for comparison).
    Ndarray,
    /// wgpu: a GPU, or Mesa's lavapipe on a CPU-only machine (cargo feature `wgpu`).
    Wgpu,
    /// CUDA: the first NVIDIA GPU (cargo feature `cuda`).
    Cuda,
}

impl BackendKind {
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Flex => "flex",
            BackendKind::Ndarray => "ndarray",
            BackendKind::Wgpu => "wgpu",
            BackendKind::Cuda => "cuda",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error(
        "backend `wgpu` is not compiled into this binary: rebuild with `cargo build --release --features wgpu` (or choose --backend flex)"
    )]
    WgpuNotCompiled,
    #[error(
        "backend `cuda` is not compiled into this binary: rebuild with `CUDARC_CUDA_VERSION=12080 cargo build --release --features cuda` (no CUDA toolkit needed; or choose --backend flex)"
    )]
    CudaNotCompiled,
}

/// The (non-autodiff) device of a backend; training adds autodiff itself.
pub fn device(kind: BackendKind) -> Result<Device, BackendError> {
    match kind {
        BackendKind::Flex => Ok(Device::flex()),
        // burn-ndarray is deprecated in 0.22 but kept: users asked for it, and
        // docs/src/backends.md compares its speed with flex's.
        #[allow(deprecated)]
        BackendKind::Ndarray => Ok(Device::ndarray()),
        #[cfg(feature = "wgpu")]
        BackendKind::Wgpu => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
        #[cfg(not(feature = "wgpu"))]
        BackendKind::Wgpu => Err(BackendError::WgpuNotCompiled),
        #[cfg(feature = "cuda")]
        BackendKind::Cuda => Ok(Device::cuda(0)),
        #[cfg(not(feature = "cuda"))]
        BackendKind::Cuda => Err(BackendError::CudaNotCompiled),
    }
}

/// Whether two runs of the same config and seed give identical numbers on
/// this backend (seen for flex and ndarray at a fixed thread count, in
/// tests/it/cli.rs and tests/it/cnn.rs; GPU reductions may reorder).
pub fn is_deterministic(kind: BackendKind) -> bool {
    matches!(kind, BackendKind::Flex | BackendKind::Ndarray)
}
