//! The CUDA backend (cudarc, dynamically loaded: nothing CUDA is needed to build or link).
//!
//! This file holds the device handle: context, stream, device memory. cudarc panics when a CUDA
//! library is missing, so every entry point checks `is_culib_present()` first and turns absence into
//! `Error::NoCuda`.

use std::sync::Arc;

use cudarc::driver::{CudaContext, CudaSlice, CudaStream};

use crate::{Error, Result};

/// An opened CUDA device: context + the one stream lofi issues work on.
pub struct CudaDevice {
    ordinal: usize,
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    /// Free device memory right after the context was created: the pool's budget cannot exceed it.
    free_at_open: usize,
    /// Device memory used outside the pool (context, loaded modules): free before − free after.
    fixed_overhead: usize,
}

impl std::fmt::Debug for CudaDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CudaDevice({})", self.ordinal)
    }
}

pub(crate) fn cuda_err(e: impl std::fmt::Debug) -> Error {
    Error::Cuda(format!("{e:?}"))
}

/// True when the CUDA driver library can be loaded (without panicking when it cannot).
pub fn driver_present() -> bool {
    // SAFETY: is_culib_present only tries to dlopen the driver library and reports success.
    unsafe { cudarc::driver::sys::is_culib_present() }
}

impl CudaDevice {
    pub fn open(ordinal: usize) -> Result<Arc<CudaDevice>> {
        if !driver_present() {
            return Err(Error::NoCuda("the CUDA driver library (libcuda.so) was not found".into()));
        }
        let count = CudaContext::device_count().map_err(|e| Error::NoCuda(format!("{e:?}")))?;
        if ordinal >= count as usize {
            return Err(Error::NoCuda(format!("device {ordinal} requested, {count} present")));
        }
        let ctx = CudaContext::new(ordinal).map_err(|e| Error::NoCuda(format!("{e:?}")))?;
        let (free_at_open, total) = cudarc::driver::result::mem_get_info().map_err(cuda_err)?;
        // The context itself is created before we can ask; count it as total − free at open.
        let fixed_overhead = total.saturating_sub(free_at_open);
        let stream = ctx.default_stream();
        Ok(Arc::new(CudaDevice { ordinal, ctx, stream, free_at_open, fixed_overhead }))
    }

    pub fn ordinal(&self) -> usize {
        self.ordinal
    }
    pub fn context(&self) -> &Arc<CudaContext> {
        &self.ctx
    }
    pub fn stream(&self) -> &Arc<CudaStream> {
        &self.stream
    }
    pub fn free_bytes_at_open(&self) -> usize {
        self.free_at_open
    }
    pub fn fixed_overhead(&self) -> usize {
        self.fixed_overhead
    }

    /// Raw device bytes (zeroed). The caller has already reserved them in the pool.
    pub fn alloc_bytes(&self, bytes: usize) -> Result<CudaSlice<u8>> {
        self.stream.alloc_zeros::<u8>(bytes.max(1)).map_err(cuda_err)
    }
    pub fn upload(&self, host: &[u8]) -> Result<CudaSlice<u8>> {
        self.stream.clone_htod(host).map_err(cuda_err)
    }
    pub fn download(&self, dev: &CudaSlice<u8>, host: &mut [u8]) -> Result<()> {
        let view = dev.slice(0..host.len());
        self.stream.memcpy_dtoh(&view, host).map_err(cuda_err)?;
        self.stream.synchronize().map_err(cuda_err)
    }
}

mod backend;
pub use backend::CudaBackend;

/// The CUDA backend singleton used by `backend::for_device`.
pub fn backend() -> &'static dyn crate::backend::Backend {
    &CudaBackend
}
