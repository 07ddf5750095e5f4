//! Launchers of `kernels/gather.cu`: gather along the middle axis of [outer, n, inner] and its
//! deterministic scatter-add adjoint. CPU twins: `gather_axis` / `scatter_add_axis` in
//! `backend/cpu/layout.rs` (which also serve integer dtypes; these take f32 and bf16).
//!
//! Index values are checked on the device (see gather.cu), so no launch waits for a download.

use cudarc::driver::PushKernelArg;

use super::device::CudaKernels;
use super::graph::check_index;
use super::kernels::Kernel;
use super::launch::{check_distinct, check_len, check_tensors, cuda_of, grid_1d, launch};
use crate::tensor::Tensor;
use crate::{Error, Result};

/// `full` (x or dx, [outer, n, inner]) against `part` (y or dy, [outer, m, inner]).
fn run(kernel: Kernel, src: &Tensor, idx: &Tensor, dst: &Tensor, outer: usize, inner: usize) -> Result<()> {
    let dtype = check_tensors(kernel, &[src, dst])?;
    let gather = kernel == Kernel::GatherAxisFwd;
    let full = if gather { src } else { dst };
    let rows = outer * inner;
    if rows == 0 {
        return Ok(());
    }
    if full.numel() % rows != 0 {
        return Err(Error::shape(kernel.stem(), format!("{} elements are not [{outer}, n, {inner}]", full.numel())));
    }
    let n = full.numel() / rows;
    let m = idx.numel();
    check_index(kernel, "idx", idx, src, m)?;
    check_len(kernel, if gather { "y" } else { "dy" }, if gather { dst } else { src }, outer * m * inner)?;
    check_distinct(kernel, dst, &[src, idx])?;
    let count = dst.numel();
    if count == 0 {
        return Ok(());
    }
    let cuda = cuda_of(dst)?;
    let func = cuda.function(kernel, dtype)?;
    let (sg, ig, mut dg) = (src.storage(), idx.storage(), dst.storage_mut());
    // SAFETY: gather_axis_fwd_T / scatter_add_axis_fwd_T(const T* src, const long long* idx,
    // T* dst, size_t outer, size_t n, size_t m, size_t inner); the full side holds outer·n·inner
    // elements, the partial side outer·m·inner and idx m i64 (checked above); the kernels read
    // the full side only at indices checked against n, and the output aliases no input.
    unsafe {
        launch(cuda, &func, grid_1d(cuda, count), |args| {
            args.arg(sg.cuda_slice()?).arg(ig.cuda_slice()?).arg(dg.cuda_slice_mut()?);
            args.arg(&outer).arg(&n).arg(&m).arg(&inner);
            Ok(())
        })
    }
}

pub fn gather_axis(x: &Tensor, idx: &Tensor, y: &Tensor, outer: usize, inner: usize) -> Result<()> {
    run(Kernel::GatherAxisFwd, x, idx, y, outer, inner)
}

pub fn scatter_add_axis(dy: &Tensor, idx: &Tensor, dx: &Tensor, outer: usize, inner: usize) -> Result<()> {
    run(Kernel::ScatterAddAxisFwd, dy, idx, dx, outer, inner)
}
