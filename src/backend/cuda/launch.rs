//! Launch helpers shared by the kernel families: argument checks that make each launch sound
//! (device, dtype, length, no aliasing), grid sizing, and the one `unsafe` launch call.
//!
//! The ops layer validates shapes already, but `Backend` is public and a kernel that indexes past a
//! buffer corrupts device memory instead of failing, so every launch re-checks the lengths it
//! relies on; the checks are O(1).

use std::sync::Arc;

use cudarc::driver::{CudaFunction, LaunchArgs, LaunchConfig};

use super::kernels::{Kernel, KERNEL_DTYPES};
use crate::memory::cuda::{cuda_err, CudaDevice};
use crate::tensor::{DType, Tensor};
use crate::{Error, Result};

/// Threads per block of the 1-D kernels.
pub const BLOCK: u32 = 256;
/// Resident blocks per SM the grid-stride kernels are sized for: enough to hide latency, and the
/// loop covers any remainder.
const BLOCKS_PER_SM: usize = 16;

/// The CUDA device handle of `t`'s device.
pub fn cuda_of(t: &Tensor) -> Result<&Arc<CudaDevice>> {
    t.device().cuda_device().ok_or_else(|| Error::invalid("cuda kernel", format!("tensor on {:?}", t.device())))
}

/// Checks that all tensors share `first`'s device and the kernel's dtype, and returns that dtype.
pub fn check_tensors(kernel: Kernel, ts: &[&Tensor]) -> Result<DType> {
    let Some((first, rest)) = ts.split_first() else {
        return Err(Error::invalid(kernel.stem(), "no tensors"));
    };
    let dtype = first.dtype();
    if !KERNEL_DTYPES.contains(&dtype) {
        return Err(Error::DType { op: kernel.stem(), got: dtype.to_string(), expected: "f32 or bf16".into() });
    }
    for t in rest {
        if t.device() != first.device() {
            return Err(Error::DeviceMismatch {
                op: kernel.stem(),
                a: format!("{:?}", first.device()),
                b: format!("{:?}", t.device()),
            });
        }
        if t.dtype() != dtype {
            return Err(Error::DType { op: kernel.stem(), got: t.dtype().to_string(), expected: dtype.to_string() });
        }
    }
    cuda_of(first)?;
    Ok(dtype)
}

/// Errors unless `t` holds exactly `n` elements.
pub fn check_len(kernel: Kernel, what: &str, t: &Tensor, n: usize) -> Result<()> {
    if t.numel() != n {
        return Err(Error::shape(kernel.stem(), format!("{what} has {} elements, the kernel indexes {n}", t.numel())));
    }
    Ok(())
}

/// Errors when an output shares its buffer with another argument: the kernels assume no aliasing,
/// and taking the output's write lock while holding the input's read lock would deadlock.
pub fn check_distinct(kernel: Kernel, out: &Tensor, others: &[&Tensor]) -> Result<()> {
    if others.iter().any(|t| t.same_buffer(out)) {
        return Err(Error::invalid(kernel.stem(), "an output shares its buffer with another argument"));
    }
    Ok(())
}

/// Grid for a grid-stride loop over `n` items with `BLOCK` threads per block.
pub fn grid_1d(cuda: &CudaDevice, n: usize) -> LaunchConfig {
    blocks(cuda, n.div_ceil(BLOCK as usize), (BLOCK, 1, 1))
}

/// Grid of at most `items` blocks (each block loops over more when there are more), of `block`.
pub fn blocks(cuda: &CudaDevice, items: usize, block: (u32, u32, u32)) -> LaunchConfig {
    let cap = (cuda.sm_count() * BLOCKS_PER_SM).max(1);
    // Fits u32: cap is at most a few thousand.
    let grid = items.clamp(1, cap) as u32;
    LaunchConfig { grid_dim: (grid, 1, 1), block_dim: block, shared_mem_bytes: 0 }
}

/// Launches `func` on `cuda`'s stream with the arguments `push` adds.
///
/// # Safety
/// The pushed arguments must match the kernel's C signature in number, order and type, and every
/// buffer must hold at least the elements the kernel indexes for the pushed sizes.
pub unsafe fn launch<'a>(
    cuda: &'a CudaDevice,
    func: &'a CudaFunction,
    cfg: LaunchConfig,
    push: impl FnOnce(&mut LaunchArgs<'a>) -> Result<()>,
) -> Result<()> {
    let mut args = cuda.stream().launch_builder(func);
    push(&mut args)?;
    // SAFETY: forwarded from the caller's contract (signature and buffer sizes).
    unsafe { args.launch(cfg) }.map_err(cuda_err)?;
    Ok(())
}
