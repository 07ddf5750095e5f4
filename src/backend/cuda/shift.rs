//! Launchers of `kernels/shift.cu`: the TSM temporal shift, forward and backward (SPEC §a).
//! CPU twin: `backend/cpu/shift.rs`.

use cudarc::driver::PushKernelArg;

use super::device::CudaKernels;
use super::kernels::Kernel;
use super::launch::{check_distinct, check_len, check_tensors, cuda_of, grid_1d, launch};
use crate::backend::ShiftGeom;
use crate::tensor::Tensor;
use crate::Result;

fn shift(kernel: Kernel, g: &ShiftGeom, src: &Tensor, dst: &Tensor) -> Result<()> {
    let dtype = check_tensors(kernel, &[src, dst])?;
    let n = g.snippets * g.frames * g.channels * g.hw;
    check_len(kernel, "the input", src, n)?;
    check_len(kernel, "the output", dst, n)?;
    check_distinct(kernel, dst, &[src])?;
    if n == 0 {
        return Ok(());
    }
    let cuda = cuda_of(dst)?;
    let func = cuda.function(kernel, dtype)?;
    let (sg, mut dg) = (src.storage(), dst.storage_mut());
    // SAFETY: shift_{fwd,bwd}_T(const T* src, T* dst, size_t n, size_t frames, size_t channels,
    // size_t hw, size_t fold); both buffers hold n = snippets·frames·channels·hw elements, and
    // every source index stays within the same snippet's frames, so below n.
    unsafe {
        launch(cuda, &func, grid_1d(cuda, n), |args| {
            args.arg(sg.cuda_slice()?).arg(dg.cuda_slice_mut()?);
            args.arg(&n).arg(&g.frames).arg(&g.channels).arg(&g.hw).arg(&g.fold);
            Ok(())
        })
    }
}

pub fn shift_fwd(g: &ShiftGeom, x: &Tensor, y: &Tensor) -> Result<()> {
    shift(Kernel::ShiftFwd, g, x, y)
}

pub fn shift_bwd(g: &ShiftGeom, dy: &Tensor, dx: &Tensor) -> Result<()> {
    shift(Kernel::ShiftBwd, g, dy, dx)
}
