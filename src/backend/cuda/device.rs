//! The CUDA device handle: context, the one stream lofi issues work on, raw device memory, and the
//! per-device caches (kernel modules, functions, the cuBLAS handle).
//!
//! Memory: every tensor and workspace goes through the pool (`crate::memory`), which this handle
//! does not see; what it tracks is the *fixed* overhead outside the pool, measured as free device
//! memory before and after each thing that takes some: the context (total − free at open, which on
//! a shared GPU includes other processes), each loaded module, and the cuBLAS handle.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use cudarc::driver::sys::CUdevice_attribute;
use cudarc::driver::{CudaContext, CudaFunction, CudaSlice, CudaStream};

use super::cublas::Blas;
use super::kernels::{Kernel, Module};
use super::libs::driver_present;
use super::modules::{load_module, KernelSource, LoadedModule};
use crate::tensor::DType;
use crate::{Error, Result};

pub(crate) fn cuda_err(e: impl std::fmt::Debug) -> Error {
    Error::Cuda(format!("{e:?}"))
}

/// Locks a cache; a poisoned cache only means another thread panicked while inserting an entry
/// that is then either complete or absent, so keep using it.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
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
    /// Device memory taken since open by loaded modules and the cuBLAS handle.
    loaded_overhead: AtomicUsize,
    /// Which embedded form modules are loaded from (`Auto`: fatbin, then PTX, then NVRTC).
    kernel_source: Mutex<KernelSource>,
    modules: Mutex<HashMap<Module, LoadedModule>>,
    functions: Mutex<HashMap<(Kernel, DType), CudaFunction>>,
    blas: Mutex<Option<Arc<Blas>>>,
    /// Whether f32 GEMMs may use TF32 tensor cores (off by default: fp32 means fp32).
    tf32: AtomicBool,
}

impl std::fmt::Debug for CudaDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CudaDevice({})", self.ordinal)
    }
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
            kernel_source: Mutex::new(KernelSource::Auto),
            modules: Mutex::new(HashMap::new()),
            functions: Mutex::new(HashMap::new()),
            blas: Mutex::new(None),
            tf32: AtomicBool::new(false),
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
    /// Device memory used outside the pool so far: context (+ other processes) + modules + cuBLAS.
    pub fn fixed_overhead(&self) -> usize {
        self.context_overhead + self.loaded_overhead.load(Ordering::Relaxed)
    }
    /// The part of `fixed_overhead` taken by loaded modules and the cuBLAS handle.
    pub fn loaded_overhead(&self) -> usize {
        self.loaded_overhead.load(Ordering::Relaxed)
    }

    /// Enables or disables TF32 tensor cores for f32 GEMMs.
    pub fn set_tf32(&self, on: bool) {
        self.tf32.store(on, Ordering::Relaxed);
    }
    pub fn tf32(&self) -> bool {
        self.tf32.load(Ordering::Relaxed)
    }

    /// Chooses which embedded form modules load from; drops already loaded modules so the next
    /// launch uses the new choice (selftest runs each form in turn).
    pub fn set_kernel_source(&self, source: KernelSource) {
        *lock(&self.kernel_source) = source;
        lock(&self.functions).clear();
        lock(&self.modules).clear();
    }

    /// Runs `f` and adds the device memory it took (free before − free after) to the overhead.
    pub(crate) fn measured<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let before = self.ctx.mem_get_info().map_err(cuda_err)?.0;
        let out = f()?;
        let after = self.ctx.mem_get_info().map_err(cuda_err)?.0;
        self.loaded_overhead.fetch_add(before.saturating_sub(after), Ordering::Relaxed);
        Ok(out)
    }

    /// The module, loading it on first use.
    pub fn module(&self, module: Module) -> Result<LoadedModule> {
        let mut cache = lock(&self.modules);
        if let Some(m) = cache.get(&module) {
            return Ok(m.clone());
        }
        let pref = *lock(&self.kernel_source);
        let loaded = self.measured(|| load_module(&self.ctx, module, pref, self.compute_capability))?;
        cache.insert(module, loaded.clone());
        Ok(loaded)
    }

    /// The entry point `kernel` for `dtype`, loading its module on first use.
    pub fn function(&self, kernel: Kernel, dtype: DType) -> Result<CudaFunction> {
        if let Some(f) = lock(&self.functions).get(&(kernel, dtype)) {
            return Ok(f.clone());
        }
        let name = kernel.entry_name(dtype)?;
        let loaded = self.module(kernel.module())?;
        let f = loaded.module.load_function(&name).map_err(|e| {
            Error::Cuda(format!("{name} not found in {} ({} form): {e:?}", kernel.module().stem(), loaded.source))
        })?;
        lock(&self.functions).insert((kernel, dtype), f.clone());
        Ok(f)
    }

    /// The form each loaded module came from, in registry order.
    pub fn loaded_sources(&self) -> Vec<(Module, KernelSource)> {
        let cache = lock(&self.modules);
        Module::ALL.iter().filter_map(|m| cache.get(m).map(|l| (*m, l.source))).collect()
    }

    /// Loads every kernel module and creates the cuBLAS handle (its workspace reserved in `pool`),
    /// so that `fixed_overhead` covers all of it; `lofi info` reports the result.
    pub fn load_all(&self, pool: &Arc<crate::memory::Pool>) -> Result<()> {
        for m in Module::ALL {
            self.module(m)?;
        }
        self.blas(pool).map(|_| ())
    }

    /// The cuBLAS handle, created on first use with a workspace reserved in `pool`.
    pub(crate) fn blas(&self, pool: &Arc<crate::memory::Pool>) -> Result<Arc<Blas>> {
        let mut slot = lock(&self.blas);
        if let Some(b) = slot.as_ref() {
            return Ok(Arc::clone(b));
        }
        // The handle's own memory is fixed overhead; its workspace goes through the pool.
        let handle = self.measured(|| Blas::create_handle(self))?;
        let b = Arc::new(Blas::with_workspace(handle, self, pool)?);
        *slot = Some(Arc::clone(&b));
        Ok(b)
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
    pub fn synchronize(&self) -> Result<()> {
        self.stream.synchronize().map_err(cuda_err)
    }
}
