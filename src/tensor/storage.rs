//! Where a tensor's bytes live. CPU bytes sit in a `Vec<u64>` so that every element type up to 8
//! bytes is aligned and `bytemuck` can view them as `&[T]` without copying; CUDA bytes are a raw
//! `CudaSlice<u8>` whose element type is the tensor's dtype; Meta holds nothing.

use cudarc::driver::CudaSlice;

use crate::memory::accounted_bytes;
use crate::memory::host::{give_back_buffer, take_buffer, Fill};
use crate::tensor::{DType, Element};
use crate::{Error, Result};

pub enum Storage {
    Cpu(Vec<u64>),
    Cuda(CudaSlice<u8>),
    Meta,
}

impl Storage {
    /// CPU storage for `bytes` bytes (a whole number of pool granules, so that buffers of one
    /// accounted size recycle), zeroed or left for the caller to overwrite
    /// (`memory::host::take_buffer`).
    pub(crate) fn new_cpu(bytes: usize, fill: Fill) -> Storage {
        Storage::Cpu(take_buffer(accounted_bytes(bytes) / 8, fill))
    }

    /// The CPU elements as `&[T]` (exactly `numel` of them). Errors on another device or dtype.
    pub fn cpu<T: Element>(&self, dtype: DType, numel: usize) -> Result<&[T]> {
        check_dtype::<T>(dtype)?;
        match self {
            Storage::Cpu(v) => {
                let all: &[T] = bytemuck::cast_slice(v.as_slice());
                all.get(..numel).ok_or_else(|| Error::Autograd("storage shorter than its shape".into()))
            }
            _ => Err(Error::invalid("cpu view", "tensor is not on the CPU")),
        }
    }

    pub fn cpu_mut<T: Element>(&mut self, dtype: DType, numel: usize) -> Result<&mut [T]> {
        check_dtype::<T>(dtype)?;
        match self {
            Storage::Cpu(v) => {
                let all: &mut [T] = bytemuck::cast_slice_mut(v.as_mut_slice());
                all.get_mut(..numel).ok_or_else(|| Error::Autograd("storage shorter than its shape".into()))
            }
            _ => Err(Error::invalid("cpu view", "tensor is not on the CPU")),
        }
    }

    /// The raw bytes on the CPU.
    pub fn cpu_bytes(&self, bytes: usize) -> Result<&[u8]> {
        match self {
            Storage::Cpu(v) => Ok(&bytemuck::cast_slice::<u64, u8>(v.as_slice())[..bytes]),
            _ => Err(Error::invalid("cpu view", "tensor is not on the CPU")),
        }
    }

    pub fn cuda_slice(&self) -> Result<&CudaSlice<u8>> {
        match self {
            Storage::Cuda(s) => Ok(s),
            _ => Err(Error::invalid("cuda view", "tensor is not on a CUDA device")),
        }
    }
    pub fn cuda_slice_mut(&mut self) -> Result<&mut CudaSlice<u8>> {
        match self {
            Storage::Cuda(s) => Ok(s),
            _ => Err(Error::invalid("cuda view", "tensor is not on a CUDA device")),
        }
    }
}

impl Drop for Storage {
    fn drop(&mut self) {
        if let Storage::Cpu(v) = self {
            give_back_buffer(std::mem::take(v));
        }
    }
}

fn check_dtype<T: Element>(dtype: DType) -> Result<()> {
    if T::DTYPE == dtype {
        Ok(())
    } else {
        Err(Error::DType { op: "view", got: dtype.to_string(), expected: T::DTYPE.to_string() })
    }
}
