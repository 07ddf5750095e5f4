//! Launchers of `kernels/pool.cu`: 2-D max pooling forward (values and i64 argmax) and its
//! deterministic gather-form backward. CPU twin: `backend/cpu/pool.rs`.

use cudarc::driver::{DeviceRepr, PushKernelArg};

use super::device::CudaKernels;
use super::kernels::Kernel;
use super::launch::{check_distinct, check_len, check_tensors, cuda_of, grid_1d, launch};
use crate::backend::PoolGeom;
use crate::tensor::{DType, Tensor};
use crate::{Error, Result};

/// `PoolDims` of pool.cu, passed by value: eight size_t.
#[repr(C)]
#[derive(Clone, Copy)]
struct PoolDims {
    planes: usize,
    h: usize,
    w: usize,
    k: usize,
    stride: usize,
    pad: usize,
    ho: usize,
    wo: usize,
}

// SAFETY: a #[repr(C)] struct of usize fields, laid out as pool.cu's struct of size_t.
unsafe impl DeviceRepr for PoolDims {}

impl PoolDims {
    fn of(g: &PoolGeom) -> PoolDims {
        PoolDims { planes: g.planes, h: g.h, w: g.w, k: g.k, stride: g.stride, pad: g.pad, ho: g.ho, wo: g.wo }
    }
}

/// The argmax tensor must be i64 on the values' device.
fn check_argmax(kernel: Kernel, argmax: &Tensor, like: &Tensor, n: usize) -> Result<()> {
    if argmax.dtype() != DType::I64 {
        return Err(Error::DType { op: kernel.stem(), got: argmax.dtype().to_string(), expected: "i64".into() });
    }
    if argmax.device() != like.device() {
        return Err(Error::DeviceMismatch {
            op: kernel.stem(),
            a: format!("{:?}", like.device()),
            b: format!("{:?}", argmax.device()),
        });
    }
    check_len(kernel, "argmax", argmax, n)
}

pub fn maxpool2d_fwd(g: &PoolGeom, x: &Tensor, y: &Tensor, argmax: &Tensor) -> Result<()> {
    let kernel = Kernel::MaxPool2dFwd;
    let dtype = check_tensors(kernel, &[x, y])?;
    let n_out = g.planes * g.ho * g.wo;
    check_len(kernel, "x", x, g.planes * g.h * g.w)?;
    check_len(kernel, "y", y, n_out)?;
    check_argmax(kernel, argmax, y, n_out)?;
    check_distinct(kernel, y, &[x, argmax])?;
    check_distinct(kernel, argmax, &[x])?;
    if n_out == 0 {
        return Ok(());
    }
    let cuda = cuda_of(y)?;
    let func = cuda.function(kernel, dtype)?;
    let dims = PoolDims::of(g);
    let (xg, mut yg, mut ag) = (x.storage(), y.storage_mut(), argmax.storage_mut());
    // SAFETY: maxpool2d_fwd_T(const T* x, T* y, long long* argmax, PoolDims g); x holds
    // planes·h·w elements of T, y planes·ho·wo of T and argmax planes·ho·wo i64 (checked above);
    // every tap read lies inside its plane (bounds tested in the kernel); no output aliases.
    unsafe {
        launch(cuda, &func, grid_1d(cuda, n_out), |args| {
            args.arg(xg.cuda_slice()?).arg(yg.cuda_slice_mut()?).arg(ag.cuda_slice_mut()?).arg(&dims);
            Ok(())
        })
    }
}

pub fn maxpool2d_bwd(g: &PoolGeom, dy: &Tensor, argmax: &Tensor, dx: &Tensor) -> Result<()> {
    let kernel = Kernel::MaxPool2dBwd;
    let dtype = check_tensors(kernel, &[dy, dx])?;
    let (n_in, n_out) = (g.planes * g.h * g.w, g.planes * g.ho * g.wo);
    check_len(kernel, "dy", dy, n_out)?;
    check_len(kernel, "dx", dx, n_in)?;
    check_argmax(kernel, argmax, dx, n_out)?;
    check_distinct(kernel, dx, &[dy, argmax])?;
    if n_in == 0 {
        return Ok(());
    }
    let cuda = cuda_of(dx)?;
    let func = cuda.function(kernel, dtype)?;
    let dims = PoolDims::of(g);
    let (dyg, ag, mut dxg) = (dy.storage(), argmax.storage(), dx.storage_mut());
    // SAFETY: maxpool2d_bwd_T(const T* dy, const long long* argmax, T* dx, PoolDims g); dy and
    // argmax hold planes·ho·wo elements, dx planes·h·w (checked above); each thread reads only the
    // outputs of its own plane whose window covers its element (oy < ho, ox < wo).
    unsafe {
        launch(cuda, &func, grid_1d(cuda, n_in), |args| {
            args.arg(dyg.cuda_slice()?).arg(ag.cuda_slice()?).arg(dxg.cuda_slice_mut()?).arg(&dims);
            Ok(())
        })
    }
}
