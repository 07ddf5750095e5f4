//! Launchers of `kernels/elementwise.cu`: relu/sigmoid forward and backward, add/sub/mul, scale,
//! fill and the per-channel bias add. CPU twins: `backend/cpu/elementwise.rs`.

use cudarc::driver::PushKernelArg;

use super::device::CudaKernels;
use super::kernels::Kernel;
use super::launch::{check_distinct, check_len, check_tensors, cuda_of, grid_1d, launch};
use crate::backend::{Binary, Unary};
use crate::tensor::Tensor;
use crate::Result;

/// y = f(x) or dx = f'(saved, dy): `ins` are read, `out` is written, all of one length.
fn map(kernel: Kernel, ins: &[&Tensor], out: &Tensor) -> Result<()> {
    let mut all = ins.to_vec();
    all.push(out);
    let dtype = check_tensors(kernel, &all)?;
    let n = out.numel();
    for t in ins {
        check_len(kernel, "an input", t, n)?;
    }
    check_distinct(kernel, out, ins)?;
    if n == 0 {
        return Ok(());
    }
    let cuda = cuda_of(out)?;
    let func = cuda.function(kernel, dtype)?;
    let guards: Vec<_> = ins.iter().map(|t| t.storage()).collect();
    let mut out_guard = out.storage_mut();
    // SAFETY: the elementwise entries take (const T* in..., T* out, size_t n); every buffer holds n
    // elements of T (checked above) and the output aliases no input.
    unsafe {
        launch(cuda, &func, grid_1d(cuda, n), |args| {
            for g in &guards {
                args.arg(g.cuda_slice()?);
            }
            args.arg(out_guard.cuda_slice_mut()?).arg(&n);
            Ok(())
        })
    }
}

pub fn unary_fwd(op: Unary, x: &Tensor, y: &Tensor) -> Result<()> {
    let kernel = match op {
        Unary::Relu => Kernel::ReluFwd,
        Unary::Sigmoid => Kernel::SigmoidFwd,
    };
    map(kernel, &[x], y)
}

pub fn unary_bwd(op: Unary, saved: &Tensor, dy: &Tensor, dx: &Tensor) -> Result<()> {
    let kernel = match op {
        Unary::Relu => Kernel::ReluBwd,
        Unary::Sigmoid => Kernel::SigmoidBwd,
    };
    map(kernel, &[saved, dy], dx)
}

pub fn binary_fwd(op: Binary, a: &Tensor, b: &Tensor, y: &Tensor) -> Result<()> {
    let kernel = match op {
        Binary::Add => Kernel::AddFwd,
        Binary::Sub => Kernel::SubFwd,
        Binary::Mul => Kernel::MulFwd,
    };
    map(kernel, &[a, b], y)
}

pub fn scale(x: &Tensor, alpha: f64, y: &Tensor) -> Result<()> {
    let kernel = Kernel::ScaleFwd;
    let dtype = check_tensors(kernel, &[x, y])?;
    let n = y.numel();
    check_len(kernel, "x", x, n)?;
    check_distinct(kernel, y, &[x])?;
    if n == 0 {
        return Ok(());
    }
    let cuda = cuda_of(y)?;
    let func = cuda.function(kernel, dtype)?;
    let alpha = alpha as f32;
    let (xg, mut yg) = (x.storage(), y.storage_mut());
    // SAFETY: scale_fwd_T(const T* x, T* y, size_t n, float alpha); x and y hold n elements of T.
    unsafe {
        launch(cuda, &func, grid_1d(cuda, n), |args| {
            args.arg(xg.cuda_slice()?).arg(yg.cuda_slice_mut()?).arg(&n).arg(&alpha);
            Ok(())
        })
    }
}

pub fn fill(y: &Tensor, value: f64) -> Result<()> {
    let kernel = Kernel::Fill;
    let dtype = check_tensors(kernel, &[y])?;
    let n = y.numel();
    if n == 0 {
        return Ok(());
    }
    let cuda = cuda_of(y)?;
    let func = cuda.function(kernel, dtype)?;
    let value = value as f32;
    let mut yg = y.storage_mut();
    // SAFETY: fill_T(T* y, size_t n, float value); y holds n elements of T.
    unsafe {
        launch(cuda, &func, grid_1d(cuda, n), |args| {
            args.arg(yg.cuda_slice_mut()?).arg(&n).arg(&value);
            Ok(())
        })
    }
}

pub fn add_channel(x: &Tensor, b: &Tensor, y: &Tensor, outer: usize, channels: usize, inner: usize) -> Result<()> {
    let kernel = Kernel::AddChannelFwd;
    let dtype = check_tensors(kernel, &[x, b, y])?;
    let n = outer * channels * inner;
    check_len(kernel, "x", x, n)?;
    check_len(kernel, "y", y, n)?;
    check_len(kernel, "the bias", b, channels)?;
    check_distinct(kernel, y, &[x, b])?;
    if n == 0 {
        return Ok(());
    }
    let cuda = cuda_of(y)?;
    let func = cuda.function(kernel, dtype)?;
    let (xg, bg, mut yg) = (x.storage(), b.storage(), y.storage_mut());
    // SAFETY: add_channel_fwd_T(const T* x, const T* b, T* y, size_t n, size_t channels,
    // size_t inner); x and y hold n = outer·channels·inner elements, b holds `channels`, and the
    // kernel reads b[(i / inner) % channels] < channels (inner ≥ 1 since n > 0).
    unsafe {
        launch(cuda, &func, grid_1d(cuda, n), |args| {
            args.arg(xg.cuda_slice()?).arg(bg.cuda_slice()?).arg(yg.cuda_slice_mut()?);
            args.arg(&n).arg(&channels).arg(&inner);
            Ok(())
        })
    }
}
