//! The kernel backend's per-device state — which embedded form modules load from, the loaded
//! modules and entry points, the cuBLAS handle, the TF32 switch — kept in the device handle's
//! `backend_state` slot (`memory::cuda`), and `CudaKernels`, the methods that reach it from a
//! `CudaDevice`. The handle itself (context, stream, raw memory) lives below the tensor layer.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use cudarc::driver::CudaFunction;

use super::cublas::{Blas, GemmRunner};
use super::kernels::{Kernel, Module};
use super::modules::{load_module, KernelSource, LoadedModule};
use crate::memory::cuda::lock;
pub use crate::memory::cuda::CudaDevice;
use crate::memory::Pool;
use crate::tensor::DType;
use crate::{Error, Result};

/// Caches of one device, empty until first use.
#[derive(Default)]
pub struct KernelState {
    /// Which embedded form modules are loaded from (`Auto`: fatbin, then PTX, then NVRTC).
    kernel_source: Mutex<KernelSource>,
    modules: Mutex<HashMap<Module, LoadedModule>>,
    functions: Mutex<HashMap<(Kernel, DType), CudaFunction>>,
    blas: Mutex<Option<Arc<Blas>>>,
    /// Whether f32 GEMMs may use TF32 tensor cores (off by default: fp32 means fp32).
    tf32: AtomicBool,
}

fn state(cuda: &CudaDevice) -> Result<&KernelState> {
    cuda.backend_state::<KernelState>()
}

/// Kernel-side methods of a CUDA device (bring the trait into scope to call them).
pub trait CudaKernels {
    /// Enables or disables TF32 tensor cores for f32 GEMMs.
    fn set_tf32(&self, on: bool) -> Result<()>;
    fn tf32(&self) -> Result<bool>;
    /// Chooses which embedded form modules load from; drops already loaded modules so the next
    /// launch uses the new choice (selftest runs each form in turn).
    fn set_kernel_source(&self, source: KernelSource) -> Result<()>;
    /// The module, loading it on first use.
    fn module(&self, module: Module) -> Result<LoadedModule>;
    /// The entry point `kernel` for `dtype`, loading its module on first use.
    fn function(&self, kernel: Kernel, dtype: DType) -> Result<CudaFunction>;
    /// The form each loaded module came from, in registry order.
    fn loaded_sources(&self) -> Result<Vec<(Module, KernelSource)>>;
    /// Loads every kernel module and creates the cuBLAS handle (its workspace reserved in `pool`),
    /// so that `fixed_overhead` covers all of it; `lofi info` reports the result.
    fn load_all(&self, pool: &Arc<Pool>) -> Result<()>;
}

impl CudaKernels for CudaDevice {
    fn set_tf32(&self, on: bool) -> Result<()> {
        state(self)?.tf32.store(on, Ordering::Relaxed);
        Ok(())
    }
    fn tf32(&self) -> Result<bool> {
        Ok(state(self)?.tf32.load(Ordering::Relaxed))
    }

    fn set_kernel_source(&self, source: KernelSource) -> Result<()> {
        let s = state(self)?;
        *lock(&s.kernel_source) = source;
        lock(&s.functions).clear();
        lock(&s.modules).clear();
        Ok(())
    }

    fn module(&self, module: Module) -> Result<LoadedModule> {
        let s = state(self)?;
        let mut cache = lock(&s.modules);
        if let Some(m) = cache.get(&module) {
            return Ok(m.clone());
        }
        let pref = *lock(&s.kernel_source);
        let loaded = self.measured(|| load_module(self.context(), module, pref, self.compute_capability()))?;
        cache.insert(module, loaded.clone());
        Ok(loaded)
    }

    fn function(&self, kernel: Kernel, dtype: DType) -> Result<CudaFunction> {
        let s = state(self)?;
        if let Some(f) = lock(&s.functions).get(&(kernel, dtype)) {
            return Ok(f.clone());
        }
        let name = kernel.entry_name(dtype)?;
        let loaded = self.module(kernel.module())?;
        let f = loaded.module.load_function(&name).map_err(|e| {
            Error::Cuda(format!("{name} not found in {} ({} form): {e:?}", kernel.module().stem(), loaded.source))
        })?;
        lock(&s.functions).insert((kernel, dtype), f.clone());
        Ok(f)
    }

    fn loaded_sources(&self) -> Result<Vec<(Module, KernelSource)>> {
        let cache = lock(&state(self)?.modules);
        Ok(Module::ALL.iter().filter_map(|m| cache.get(m).map(|l| (*m, l.source))).collect())
    }

    fn load_all(&self, pool: &Arc<Pool>) -> Result<()> {
        for m in Module::ALL {
            self.module(m)?;
        }
        blas(self, pool).map(|_| ())
    }
}

/// The cuBLAS handle of `cuda`, created on first use with a workspace reserved in `pool`.
fn blas(cuda: &CudaDevice, pool: &Arc<Pool>) -> Result<Arc<Blas>> {
    let mut slot = lock(&state(cuda)?.blas);
    if let Some(b) = slot.as_ref() {
        return Ok(Arc::clone(b));
    }
    // The handle's own memory is fixed overhead; its workspace goes through the pool.
    let handle = cuda.measured(|| Blas::create_handle(cuda))?;
    let b = Arc::new(Blas::with_workspace(handle, cuda, pool)?);
    *slot = Some(Arc::clone(&b));
    Ok(b)
}

/// The cuBLAS handle of `cuda` (its workspace in `pool`) with the device's current TF32 switch.
pub(crate) fn gemm_runner(cuda: &CudaDevice, pool: &Arc<Pool>) -> Result<GemmRunner> {
    Ok(GemmRunner { blas: blas(cuda, pool)?, tf32: cuda.tf32()? })
}
