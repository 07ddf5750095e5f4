//! Launchers of `kernels/reduce.cu`: sum over the middle axis of [outer, axis, inner] and its
//! adjoint broadcast. CPU twins: `backend/cpu/reduce.rs`.
//!
//! The sum has two kernels: with inner ≥ 32 adjacent outputs read adjacent addresses, so a block
//! owns 32 of them (`sum_axis_wide_fwd`); below that a whole block reduces one output
//! (`sum_axis_fwd`), which is the fast path for row sums such as global average pooling.

use cudarc::driver::PushKernelArg;

use super::device::CudaKernels;
use super::kernels::Kernel;
use super::launch::{blocks, check_distinct, check_len, check_tensors, cuda_of, grid_1d, launch, BLOCK};
use crate::tensor::Tensor;
use crate::Result;

/// `inner` from which the column-tiled kernel is used (one warp's width of outputs).
pub const WIDE_FROM: usize = 32;
/// Rows of the wide kernel's block; must equal WIDE_ROWS in reduce.cu.
const WIDE_ROWS: u32 = 8;

/// The kernel `sum_axis` launches for this `inner`.
pub fn sum_kernel_for(inner: usize) -> Kernel {
    if inner >= WIDE_FROM {
        Kernel::SumAxisWideFwd
    } else {
        Kernel::SumAxisFwd
    }
}

pub fn sum_axis(x: &Tensor, y: &Tensor, outer: usize, axis: usize, inner: usize, alpha: f64) -> Result<()> {
    let kernel = sum_kernel_for(inner);
    let dtype = check_tensors(kernel, &[x, y])?;
    check_len(kernel, "x", x, outer * axis * inner)?;
    check_len(kernel, "y", y, outer * inner)?;
    check_distinct(kernel, y, &[x])?;
    if outer * inner == 0 {
        return Ok(());
    }
    let cuda = cuda_of(y)?;
    let func = cuda.function(kernel, dtype)?;
    let cfg = match kernel {
        Kernel::SumAxisWideFwd => blocks(cuda, outer * inner.div_ceil(32), (32, WIDE_ROWS, 1)),
        _ => blocks(cuda, outer * inner, (BLOCK, 1, 1)),
    };
    let alpha = alpha as f32;
    let (xg, mut yg) = (x.storage(), y.storage_mut());
    // SAFETY: sum_axis{,_wide}_fwd_T(const T* x, T* y, size_t outer, size_t axis, size_t inner,
    // float alpha); x holds outer·axis·inner and y outer·inner elements of T (checked above). The
    // wide kernel's block is 32 × WIDE_ROWS, as its shared array assumes.
    unsafe {
        launch(cuda, &func, cfg, |args| {
            args.arg(xg.cuda_slice()?).arg(yg.cuda_slice_mut()?);
            args.arg(&outer).arg(&axis).arg(&inner).arg(&alpha);
            Ok(())
        })
    }
}

pub fn broadcast_axis(x: &Tensor, y: &Tensor, outer: usize, axis: usize, inner: usize, alpha: f64) -> Result<()> {
    let kernel = Kernel::BroadcastAxisFwd;
    let dtype = check_tensors(kernel, &[x, y])?;
    let n = outer * axis * inner;
    check_len(kernel, "x", x, outer * inner)?;
    check_len(kernel, "y", y, n)?;
    check_distinct(kernel, y, &[x])?;
    if n == 0 {
        return Ok(());
    }
    let cuda = cuda_of(y)?;
    let func = cuda.function(kernel, dtype)?;
    let alpha = alpha as f32;
    let (xg, mut yg) = (x.storage(), y.storage_mut());
    // SAFETY: broadcast_axis_fwd_T(const T* x, T* y, size_t outer, size_t axis, size_t inner,
    // float alpha); y holds outer·axis·inner and x outer·inner elements of T (checked above).
    unsafe {
        launch(cuda, &func, grid_1d(cuda, n), |args| {
            args.arg(xg.cuda_slice()?).arg(yg.cuda_slice_mut()?);
            args.arg(&outer).arg(&axis).arg(&inner).arg(&alpha);
            Ok(())
        })
    }
}
