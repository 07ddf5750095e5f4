//! The CUDA backend (cudarc, dynamically loaded: nothing CUDA is needed to build or link).
//!
//! Layout: `device` (context, stream, memory, caches), `libs` (which CUDA libraries can be opened,
//! their versions), `kernels` (the registry of modules and entry points, and their embedded
//! forms), `modules` (load order fatbin → PTX → NVRTC), `nvrtc` (run-time compilation), `launch`
//! (checks and the launch call), `cublas` (matmul), one launcher file per kernel family, and the
//! `Backend` impl. `selftest` and `bench` check every kernel against its CPU twin and time it.
//!
//! cudarc panics when a CUDA library is missing, so every entry point checks `is_culib_present()`
//! first (`libs`) and turns absence into `Error::NoCuda` (no driver or device) or `Error::Cuda`.

mod align;
mod backend;
pub mod bench;
mod conv;
mod convert;
mod cublas;
mod device;
mod elementwise;
mod gather;
mod graph;
pub mod kernels;
mod launch;
mod layout;
pub mod libs;
mod loss;
mod matmul;
pub mod modules;
mod norm;
pub mod nvrtc;
mod optim;
mod pool;
mod reduce;
pub mod selftest;
mod shift;

pub use crate::memory::cuda::{device_count, driver_present, CudaDevice};
pub use backend::CudaBackend;
pub use cublas::workspace_bytes as cublas_workspace_bytes;
pub use device::CudaKernels;
pub use modules::KernelSource;

/// The CUDA backend singleton used by `backend::for_device`.
pub fn backend() -> &'static dyn crate::backend::Backend {
    &CudaBackend
}
