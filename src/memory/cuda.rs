//! The CUDA device handle below the tensor layer: context, the one stream lofi issues work on, raw
//! device memory and copies, the device's properties, and the fixed memory overhead outside the
//! pool. Tensors allocate and copy through it; the kernel backend (`backend::cuda`) launches on its
//! stream and keeps its own per-device caches (modules, functions, cuBLAS) in the handle's
//! `backend_state` slot, so this file knows nothing about kernels.
//!
//! Overhead is measured as free device memory before and after each thing that takes some: the
//! context (total − free at open, which on a shared GPU includes other processes) and whatever the
//! backend loads later through `measured` (modules, the cuBLAS handle).

use std::any::Any;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use cudarc::driver::sys::CUdevice_attribute;
use cudarc::driver::{CudaContext, CudaSlice, CudaStream};

use crate::{Error, Result};

/// A cudarc error as lofi's error.
pub fn cuda_err(e: impl std::fmt::Debug) -> Error {
    Error::Cuda(format!("{e:?}"))
}

/// Locks a cache; a poisoned cache only means another thread panicked while inserting an entry
/// that is then either complete or absent, so keep using it.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// True when the CUDA driver library (libcuda.so) can be opened. cudarc *panics* on first use of
/// a missing library, so every driver call is preceded by this check.
pub fn driver_present() -> bool {
    // SAFETY: is_culib_present only tries to dlopen the library and reports whether it could.
    unsafe { cudarc::driver::sys::is_culib_present() }
}

/// Number of CUDA devices, or `Error::NoCuda` when there is no driver or no device.
pub fn device_count() -> Result<usize> {
    if !driver_present() {
        return Err(Error::NoCuda("the CUDA driver library (libcuda.so) was not found".into()));
    }
    let count = CudaContext::device_count().map_err(|e| Error::NoCuda(format!("{e:?}")))?;
    if count <= 0 {
        return Err(Error::NoCuda("the driver reports no CUDA device".into()));
    }
    Ok(count as usize)
}

/// An opened CUDA device.
pub struct CudaDevice {
    ordinal: usize,
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    name: String,
    compute_capability: (i32, i32),
    sm_count: usize,
    l2_bytes: usize,
    total_bytes: usize,
    /// Free device memory right after the context was created: the pool's budget cannot exceed it.
    free_at_open: usize,
    /// total − free at open: the context, plus whatever other processes hold.
    context_overhead: usize,
    /// Device memory taken since open by what the backend loaded (modules, cuBLAS handle).
    loaded_overhead: AtomicUsize,
    /// The driver's used memory (total − free) sampled when an allocation brought the pool to its
    /// high-water mark: what the card really held at the pool's peak (`note_pool_high_water`).
    driver_used_at_peak: AtomicUsize,
    /// The kernel backend's per-device state, created on first use (see `backend_state`).
    backend_state: OnceLock<Box<dyn Any + Send + Sync>>,
}

impl std::fmt::Debug for CudaDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CudaDevice({})", self.ordinal)
    }
}

impl CudaDevice {
    pub fn open(ordinal: usize) -> Result<Arc<CudaDevice>> {
        let count = device_count()?;
        if ordinal >= count {
            return Err(Error::NoCuda(format!("device {ordinal} requested, {count} present")));
        }
        let ctx = CudaContext::new(ordinal).map_err(|e| Error::NoCuda(format!("{e:?}")))?;
        let (free_at_open, total_bytes) = ctx.mem_get_info().map_err(cuda_err)?;
        let attr = |a: CUdevice_attribute| ctx.attribute(a).map_err(cuda_err).map(|v| v.max(0) as usize);
        let sm_count = attr(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)?;
        let l2_bytes = attr(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE)?;
        let compute_capability = ctx.compute_capability().map_err(cuda_err)?;
        let name = ctx.name().map_err(cuda_err)?;
        let stream = ctx.default_stream();
        Ok(Arc::new(CudaDevice {
            ordinal,
            ctx,
            stream,
            name,
            compute_capability,
            sm_count,
            l2_bytes,
            total_bytes,
            free_at_open,
            context_overhead: total_bytes.saturating_sub(free_at_open),
            loaded_overhead: AtomicUsize::new(0),
            driver_used_at_peak: AtomicUsize::new(0),
            backend_state: OnceLock::new(),
        }))
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
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn compute_capability(&self) -> (i32, i32) {
        self.compute_capability
    }
    pub fn sm_count(&self) -> usize {
        self.sm_count
    }
    pub fn l2_bytes(&self) -> usize {
        self.l2_bytes
    }
    pub fn total_bytes(&self) -> usize {
        self.total_bytes
    }
    pub fn free_bytes_at_open(&self) -> usize {
        self.free_at_open
    }
    /// Device memory used outside the pool so far: context (+ other processes) + what was loaded.
    pub fn fixed_overhead(&self) -> usize {
        self.context_overhead + self.loaded_overhead.load(Ordering::Relaxed)
    }
    /// The part of `fixed_overhead` taken by loaded modules and the cuBLAS handle.
    pub fn loaded_overhead(&self) -> usize {
        self.loaded_overhead.load(Ordering::Relaxed)
    }

    /// Samples the driver's used memory; called right after an allocation that brought the pool to
    /// its high-water mark, so the largest sample is the card's use at the pool's peak (context,
    /// modules, and the driver's own rounding of every allocation included).
    pub fn note_pool_high_water(&self) -> Result<()> {
        let (free, total) = self.ctx.mem_get_info().map_err(cuda_err)?;
        self.driver_used_at_peak.fetch_max(total.saturating_sub(free), Ordering::Relaxed);
        Ok(())
    }
    /// The largest sample of `note_pool_high_water` since the last reset (0 before any).
    pub fn driver_used_at_peak(&self) -> usize {
        self.driver_used_at_peak.load(Ordering::Relaxed)
    }
    pub fn reset_driver_used_at_peak(&self) {
        self.driver_used_at_peak.store(0, Ordering::Relaxed);
    }

    /// Runs `f` and adds the device memory it took (free before − free after) to the overhead.
    pub fn measured<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let before = self.ctx.mem_get_info().map_err(cuda_err)?.0;
        let out = f()?;
        let after = self.ctx.mem_get_info().map_err(cuda_err)?.0;
        self.loaded_overhead.fetch_add(before.saturating_sub(after), Ordering::Relaxed);
        Ok(out)
    }

    /// The kernel backend's state for this device, created empty on first use. One backend owns
    /// the slot; asking for another type is an error, not a panic.
    pub fn backend_state<T: Any + Send + Sync + Default>(&self) -> Result<&T> {
        self.backend_state
            .get_or_init(|| Box::new(T::default()))
            .downcast_ref::<T>()
            .ok_or_else(|| Error::Cuda("the device's backend state has another type".into()))
    }

    /// Raw device bytes (zeroed). The caller has already reserved them in the pool.
    pub fn alloc_bytes(&self, bytes: usize) -> Result<CudaSlice<u8>> {
        self.stream.alloc_zeros::<u8>(bytes.max(1)).map_err(cuda_err)
    }
    pub fn upload(&self, host: &[u8]) -> Result<CudaSlice<u8>> {
        self.stream.clone_htod(host).map_err(cuda_err)
    }
    /// Host bytes into the start of `dev`.
    pub fn upload_into(&self, host: &[u8], dev: &mut CudaSlice<u8>) -> Result<()> {
        let mut view = dev.slice_mut(0..host.len());
        self.stream.memcpy_htod(host, &mut view).map_err(cuda_err)
    }
    pub fn download(&self, dev: &CudaSlice<u8>, host: &mut [u8]) -> Result<()> {
        let view = dev.slice(0..host.len());
        self.stream.memcpy_dtoh(&view, host).map_err(cuda_err)?;
        self.stream.synchronize().map_err(cuda_err)
    }
    pub fn synchronize(&self) -> Result<()> {
        self.stream.synchronize().map_err(cuda_err)
    }
}
