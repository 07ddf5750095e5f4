//! Tensors: a shape plus a shared, pool-accounted buffer. Always contiguous and row-major; an
//! operation that changes the element order (permute, slice) materialises a new buffer, while
//! `reshape` shares the buffer (the bytes are accounted once).
//!
//! `Tensor` is a cheap handle (`Clone` shares the buffer). A deep copy goes through
//! `try_clone`, which returns `Result` because the copy can exceed the budget.

mod cpu_view;
mod device;
mod dtype;
pub mod kernel_times;
mod shape;
mod storage;

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

pub use cpu_view::{float_dtype, CpuMut, CpuRef, Float};
pub use device::{Device, DeviceKind, CUDA_LOAD_HEADROOM};
pub use dtype::{DType, Element};
pub use shape::Shape;
pub use storage::Storage;

use crate::memory::host::Fill;
use crate::memory::Reservation;
use crate::{Error, Result};

thread_local! {
    /// Pool-accounted bytes of bf16/f16 tensors allocated on this thread: the step-time model
    /// moves them at their own rate (on the CPU, a reduced-precision tensor is widened to f32 and
    /// back by every kernel that touches it), so a dry run counts them apart.
    static REDUCED_BYTES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    /// And how many such tensors (each kernel on one pays the widening's fixed cost too).
    static REDUCED_ALLOCATIONS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Pool-accounted bytes of bf16/f16 tensors allocated on this thread so far.
pub fn reduced_bytes_allocated() -> u64 {
    REDUCED_BYTES.with(|c| c.get())
}

/// The number of bf16/f16 tensors allocated on this thread so far.
pub fn reduced_allocations() -> u64 {
    REDUCED_ALLOCATIONS.with(|c| c.get())
}

/// The bytes behind one or more tensor handles.
struct Buffer {
    dtype: DType,
    numel: usize,
    device: Device,
    storage: RwLock<Storage>,
    _reservation: Reservation,
}

#[derive(Clone)]
pub struct Tensor {
    shape: Shape,
    buf: Arc<Buffer>,
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tensor({}, {}, {:?})", self.shape, self.buf.dtype, self.buf.device)
    }
}

impl Tensor {
    /// A zero-filled tensor.
    pub fn zeros(shape: impl Into<Shape>, dtype: DType, device: &Device) -> Result<Tensor> {
        Tensor::alloc(shape.into(), dtype, device, Fill::Zeros)
    }

    /// A tensor for a kernel to overwrite entirely: on the CPU its bytes are whatever a recycled
    /// buffer held (all-ones bits, NaN, when fresh — so a kernel that reads before writing fails
    /// its tests loudly); on CUDA it is zeroed like `zeros`. Never read it before writing every
    /// element: uninitialised memory itself is never handed out, but stale values would make a
    /// kernel that reads them nondeterministic.
    pub fn empty(shape: impl Into<Shape>, dtype: DType, device: &Device) -> Result<Tensor> {
        Tensor::alloc(shape.into(), dtype, device, Fill::Overwritten)
    }

    fn alloc(shape: Shape, dtype: DType, device: &Device, fill: Fill) -> Result<Tensor> {
        if dtype == DType::F64 && matches!(device.kind(), DeviceKind::Cuda(_)) {
            return Err(Error::DType { op: "zeros", got: "f64".into(), expected: "a CUDA dtype".into() });
        }
        let numel = shape.numel();
        let bytes = numel * dtype.size_in_bytes();
        let reservation = device.pool().reserve(bytes)?;
        if dtype.is_reduced_float() {
            let accounted = crate::memory::accounted_bytes(bytes) as u64;
            REDUCED_BYTES.with(|c| c.set(c.get().saturating_add(accounted)));
            REDUCED_ALLOCATIONS.with(|c| c.set(c.get() + 1));
        }
        let storage = match device.kind() {
            DeviceKind::Cpu if kernel_times::is_on() => {
                let started = std::time::Instant::now();
                let s = Storage::new_cpu(bytes, fill);
                let what = match fill {
                    Fill::Zeros => "tensor::zeros (allocate + zero)",
                    Fill::Overwritten => "tensor::empty (allocate)",
                };
                kernel_times::record(what, started.elapsed());
                s
            }
            DeviceKind::Cpu => Storage::new_cpu(bytes, fill),
            DeviceKind::Meta => Storage::Meta,
            DeviceKind::Cuda(_) => {
                let cuda = device.cuda_device().ok_or_else(|| Error::NoCuda("device handle without context".into()))?;
                let slice = cuda.alloc_bytes(bytes)?;
                // At the pool's high-water mark, what the driver holds is the number the memory
                // check compares with the prediction (`lofi bench step`, tools/gpu_check.sh).
                let pool = device.pool().stats();
                if pool.in_use >= pool.lifetime_peak {
                    cuda.note_pool_high_water()?;
                }
                Storage::Cuda(slice)
            }
        };
        let buf =
            Buffer { dtype, numel, device: device.clone(), storage: RwLock::new(storage), _reservation: reservation };
        Ok(Tensor { shape, buf: Arc::new(buf) })
    }

    /// A tensor holding `data` (copied into pool-accounted storage on `device`).
    pub fn from_slice<T: Element>(data: &[T], shape: impl Into<Shape>, device: &Device) -> Result<Tensor> {
        let shape = shape.into();
        if shape.numel() != data.len() {
            return Err(Error::shape("from_slice", format!("{} values for shape {shape}", data.len())));
        }
        let t = Tensor::empty(shape, T::DTYPE, device)?;
        t.write_bytes(bytemuck::cast_slice(data))?;
        Ok(t)
    }

    pub fn from_vec<T: Element>(data: Vec<T>, shape: impl Into<Shape>, device: &Device) -> Result<Tensor> {
        Tensor::from_slice(&data, shape, device)
    }

    /// A tensor of the given shape filled with `value`.
    pub fn full<T: Element>(value: T, shape: impl Into<Shape>, device: &Device) -> Result<Tensor> {
        let shape = shape.into();
        let data = vec![value; shape.numel()];
        Tensor::from_slice(&data, shape, device)
    }

    pub fn scalar<T: Element>(value: T, device: &Device) -> Result<Tensor> {
        Tensor::from_slice(&[value], [1], device)
    }

    pub fn shape(&self) -> &Shape {
        &self.shape
    }
    pub fn dims(&self) -> &[usize] {
        self.shape.dims()
    }
    pub fn rank(&self) -> usize {
        self.shape.rank()
    }
    pub fn numel(&self) -> usize {
        self.buf.numel
    }
    pub fn dtype(&self) -> DType {
        self.buf.dtype
    }
    pub fn device(&self) -> &Device {
        &self.buf.device
    }
    /// Bytes of the elements (not the accounted, aligned size).
    pub fn size_in_bytes(&self) -> usize {
        self.buf.numel * self.buf.dtype.size_in_bytes()
    }
    /// True when both handles share one buffer.
    pub fn same_buffer(&self, other: &Tensor) -> bool {
        Arc::ptr_eq(&self.buf, &other.buf)
    }

    pub fn storage(&self) -> RwLockReadGuard<'_, Storage> {
        // Poisoning means a kernel panicked while writing; the bytes are then garbage but the
        // panic itself already surfaced, so do not add a second one here.
        self.buf.storage.read().unwrap_or_else(|p| p.into_inner())
    }
    pub fn storage_mut(&self) -> RwLockWriteGuard<'_, Storage> {
        self.buf.storage.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Same buffer, new shape with the same number of elements.
    pub fn reshape(&self, shape: impl Into<Shape>) -> Result<Tensor> {
        let shape = shape.into();
        if shape.numel() != self.numel() {
            return Err(Error::shape("reshape", format!("cannot view {} as {shape}", self.shape)));
        }
        Ok(Tensor { shape, buf: Arc::clone(&self.buf) })
    }

    /// Overwrites the whole buffer with `bytes` (host → wherever the tensor lives).
    pub fn write_bytes(&self, bytes: &[u8]) -> Result<()> {
        if bytes.len() != self.size_in_bytes() {
            return Err(Error::shape(
                "write_bytes",
                format!("{} bytes for a {} B tensor", bytes.len(), self.size_in_bytes()),
            ));
        }
        let mut st = self.storage_mut();
        match &mut *st {
            Storage::Cpu(v) => {
                bytemuck::cast_slice_mut::<u64, u8>(v.as_mut_slice())[..bytes.len()].copy_from_slice(bytes)
            }
            Storage::Cuda(s) => {
                self.cuda()?.upload_into(bytes, s)?;
            }
            Storage::Meta => {}
        }
        Ok(())
    }

    /// All bytes, copied to the host. Errors on Meta, which has none.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let st = self.storage();
        match &*st {
            Storage::Cpu(_) => Ok(st.cpu_bytes(self.size_in_bytes())?.to_vec()),
            Storage::Cuda(s) => {
                let mut host = vec![0u8; self.size_in_bytes()];
                self.cuda()?.download(s, &mut host)?;
                Ok(host)
            }
            Storage::Meta => Err(Error::invalid("to_bytes", "a Meta tensor has no values")),
        }
    }

    /// The elements as a host vector of their own type.
    pub fn to_vec<T: Element>(&self) -> Result<Vec<T>> {
        if T::DTYPE != self.dtype() {
            return Err(Error::DType { op: "to_vec", got: self.dtype().to_string(), expected: T::DTYPE.to_string() });
        }
        let bytes = self.to_bytes()?;
        let mut out = vec![T::default(); self.numel()];
        bytemuck::cast_slice_mut::<T, u8>(&mut out).copy_from_slice(&bytes);
        Ok(out)
    }

    /// The elements converted to f64 (any dtype), for tests, metrics and printing.
    pub fn to_f64_vec(&self) -> Result<Vec<f64>> {
        fn conv<T: Element>(t: &Tensor) -> Result<Vec<f64>> {
            Ok(t.to_vec::<T>()?.into_iter().map(Element::as_f64).collect())
        }
        match self.dtype() {
            DType::F32 => conv::<f32>(self),
            DType::F64 => conv::<f64>(self),
            DType::BF16 => conv::<half::bf16>(self),
            DType::F16 => conv::<half::f16>(self),
            DType::I32 => conv::<i32>(self),
            DType::I64 => conv::<i64>(self),
            DType::U8 => conv::<u8>(self),
        }
    }

    /// Host ↔ device copy (or a copy into another pool of the same kind). Meta → real is an error.
    pub fn to_device(&self, device: &Device) -> Result<Tensor> {
        let out = Tensor::zeros(self.shape.clone(), self.dtype(), device)?;
        if device.is_meta() {
            return Ok(out);
        }
        out.write_bytes(&self.to_bytes()?)?;
        Ok(out)
    }

    /// A deep copy on the same device (fails with `OutOfBudget` when the copy does not fit).
    pub fn try_clone(&self) -> Result<Tensor> {
        self.to_device(self.device())
    }

    fn cuda(&self) -> Result<&Arc<crate::memory::cuda::CudaDevice>> {
        self.device().cuda_device().ok_or_else(|| Error::NoCuda("tensor on a CUDA device without a context".into()))
    }
}
