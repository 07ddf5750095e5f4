//! Launchers of `kernels/convert.cu`: dtype casts (u8, f32 or bf16 into f32 or bf16) and the u8
//! frame normalisation. CPU twins: `cast` and `normalize_frames` in `backend/cpu/elementwise.rs`.

use cudarc::driver::{DeviceRepr, PushKernelArg};

use super::device::CudaKernels;
use super::kernels::{Kernel, KERNEL_DTYPES};
use super::launch::{check_distinct, check_len, cuda_of, grid_1d, launch};
use crate::normalization::Normalization;
use crate::tensor::{DType, Tensor};
use crate::{Error, Result};

/// `FrameNorm` of convert.cu, passed by value.
#[repr(C)]
#[derive(Clone, Copy)]
struct FrameNorm {
    mean: [f32; 3],
    std: [f32; 3],
}

// SAFETY: a #[repr(C)] struct of two f32 arrays, laid out as convert.cu's struct of floats.
unsafe impl DeviceRepr for FrameNorm {}

/// Checks a source of dtype `src` and a float destination on one CUDA device; returns the
/// destination dtype (the entry's suffix).
fn check_pair(kernel: Kernel, x: &Tensor, src: DType, y: &Tensor) -> Result<DType> {
    if x.dtype() != src {
        return Err(Error::DType { op: kernel.stem(), got: x.dtype().to_string(), expected: src.to_string() });
    }
    if !KERNEL_DTYPES.contains(&y.dtype()) {
        return Err(Error::DType { op: kernel.stem(), got: y.dtype().to_string(), expected: "f32 or bf16".into() });
    }
    if x.device() != y.device() {
        return Err(Error::DeviceMismatch {
            op: kernel.stem(),
            a: format!("{:?}", x.device()),
            b: format!("{:?}", y.device()),
        });
    }
    check_len(kernel, "the output", y, x.numel())?;
    check_distinct(kernel, y, &[x])?;
    cuda_of(y)?;
    Ok(y.dtype())
}

pub fn cast(x: &Tensor, y: &Tensor) -> Result<()> {
    let kernel = match x.dtype() {
        DType::U8 => Kernel::CastFromU8,
        DType::F32 => Kernel::CastFromF32,
        DType::BF16 => Kernel::CastFromBf16,
        other => {
            return Err(Error::DType { op: "cast", got: other.to_string(), expected: "u8, f32 or bf16 (CUDA)".into() })
        }
    };
    let dtype = check_pair(kernel, x, x.dtype(), y)?;
    let n = y.numel();
    if n == 0 {
        return Ok(());
    }
    let cuda = cuda_of(y)?;
    let func = cuda.function(kernel, dtype)?;
    let (xg, mut yg) = (x.storage(), y.storage_mut());
    // SAFETY: cast_<src>_to_<dst>(const SRC* x, DST* y, size_t n); the kernel was chosen by x's
    // dtype and the entry by y's, both hold n elements (checked above), and y aliases no input.
    unsafe {
        launch(cuda, &func, grid_1d(cuda, n), |args| {
            args.arg(xg.cuda_slice()?).arg(yg.cuda_slice_mut()?).arg(&n);
            Ok(())
        })
    }
}

pub fn normalize_frames(x: &Tensor, y: &Tensor, norm: &Normalization) -> Result<()> {
    let kernel = Kernel::NormalizeFrames;
    let [_, h, w, c] = x.shape().dims_n::<4>(kernel.stem())?;
    if c != 3 {
        return Err(Error::shape(kernel.stem(), format!("frames {} are not RGB", x.shape())));
    }
    let dtype = check_pair(kernel, x, DType::U8, y)?;
    let (n, hw) = (y.numel(), h * w);
    if n == 0 {
        return Ok(());
    }
    let cuda = cuda_of(y)?;
    let func = cuda.function(kernel, dtype)?;
    let nm = FrameNorm { mean: norm.mean, std: norm.std };
    let (xg, mut yg) = (x.storage(), y.storage_mut());
    // SAFETY: normalize_frames_T(const unsigned char* x, T* y, size_t n, size_t hw, FrameNorm nm);
    // x holds n = frames·h·w·3 u8 and y n elements of T (checked above), hw = h·w > 0 since n > 0,
    // and y aliases no input.
    unsafe {
        launch(cuda, &func, grid_1d(cuda, n), |args| {
            args.arg(xg.cuda_slice()?).arg(yg.cuda_slice_mut()?).arg(&n).arg(&hw).arg(&nm);
            Ok(())
        })
    }
}
