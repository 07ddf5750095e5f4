//! Devices. A `Device` is a place where tensors live *plus the pool that accounts for them*: two
//! `Device::cpu_with_budget` handles are two independent ledgers, which lets tests and the planner
//! measure peaks in isolation. `Meta` allocates nothing but accounts exactly like the others.

use std::sync::{Arc, OnceLock};

use crate::memory::cuda::CudaDevice;
use crate::memory::Pool;
use crate::Result;

/// Device memory kept out of a CUDA pool's budget for what loads after the context (kernel modules,
/// cuBLAS handle and its library state); `lofi info` reports what they really took.
pub const CUDA_LOAD_HEADROOM: usize = 512 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    Cpu,
    Cuda(usize),
    Meta,
}

impl std::fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeviceKind::Cpu => f.write_str("cpu"),
            DeviceKind::Cuda(i) => write!(f, "cuda:{i}"),
            DeviceKind::Meta => f.write_str("meta"),
        }
    }
}

#[derive(Clone)]
pub struct Device {
    kind: DeviceKind,
    pool: Arc<Pool>,
    cuda: Option<Arc<CudaDevice>>,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Device({})", self.kind)
    }
}

impl PartialEq for Device {
    /// Same kind and same ledger: tensors of two devices with distinct pools never mix.
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && Arc::ptr_eq(&self.pool, &other.pool)
    }
}

impl Device {
    /// The process-wide CPU device with an unlimited budget.
    pub fn cpu() -> Device {
        static CPU: OnceLock<Device> = OnceLock::new();
        CPU.get_or_init(|| Device::cpu_with_budget(usize::MAX)).clone()
    }
    /// A CPU device with its own pool and budget.
    pub fn cpu_with_budget(budget: usize) -> Device {
        Device { kind: DeviceKind::Cpu, pool: Pool::new("cpu", budget), cuda: None }
    }
    /// A Meta device with its own pool: shapes and accounting only, nothing allocated.
    pub fn meta(budget: usize) -> Device {
        Device { kind: DeviceKind::Meta, pool: Pool::new("meta", budget), cuda: None }
    }
    /// CUDA device `ordinal` with a pool budget, clamped to the free device memory less
    /// `CUDA_LOAD_HEADROOM` (modules and the cuBLAS handle are loaded lazily, after the context, and
    /// live outside the pool: without the headroom a full pool could leave them a driver OOM).
    /// Fails with `Error::NoCuda` when there is no driver or device.
    pub fn cuda(ordinal: usize, budget: Option<usize>) -> Result<Device> {
        let dev = CudaDevice::open(ordinal)?;
        let free = dev.free_bytes_at_open().saturating_sub(CUDA_LOAD_HEADROOM);
        let budget = budget.map_or(free, |b| b.min(free));
        Ok(Device {
            kind: DeviceKind::Cuda(ordinal),
            pool: Pool::new(format!("cuda:{ordinal}"), budget),
            cuda: Some(dev),
        })
    }

    pub fn kind(&self) -> DeviceKind {
        self.kind
    }
    pub fn pool(&self) -> &Arc<Pool> {
        &self.pool
    }
    pub fn is_meta(&self) -> bool {
        self.kind == DeviceKind::Meta
    }
    pub fn is_cpu(&self) -> bool {
        self.kind == DeviceKind::Cpu
    }
    pub fn cuda_device(&self) -> Option<&Arc<CudaDevice>> {
        self.cuda.as_ref()
    }
}
