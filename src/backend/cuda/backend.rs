//! The CUDA implementation of the `Backend` kernel contracts. Kernels not yet written fall back to
//! the trait's default, which is an error naming the kernel (never a silent no-op).

use crate::backend::Backend;

pub struct CudaBackend;

impl Backend for CudaBackend {
    fn name(&self) -> &'static str {
        "cuda"
    }
}
