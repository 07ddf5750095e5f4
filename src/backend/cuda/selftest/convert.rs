//! Selftest cases of the conversions (`kernels/convert.cu`): casts and frame normalisation.

use rand::Rng as _;

use super::{cuda, poisoned_pair, scaled_error, Case};
use crate::backend::cpu::CpuBackend;
use crate::backend::cuda::kernels::Kernel;
use crate::backend::Backend;
use crate::normalization::Normalization;
use crate::rng::Rng as LofiRng;
use crate::tensor::{DType, Device, Tensor};
use crate::Result;

/// The cases for `dtype`.
pub(super) fn cases(dtype: DType) -> Vec<Case> {
    vec![
        Case::new(Kernel::CastFromU8, dtype, |d, t, r| cast(d, t, r, DType::U8)),
        Case::new(Kernel::CastFromF32, dtype, |d, t, r| cast(d, t, r, DType::F32)),
        Case::new(Kernel::CastFromBf16, dtype, |d, t, r| cast(d, t, r, DType::BF16)),
        Case::new(Kernel::NormalizeFrames, dtype, normalize_frames),
    ]
}

/// `src` → `dt` (the entry's suffix is the destination), both sides holding the same source values.
fn cast(dev: &Device, dt: DType, rng: &mut LofiRng, src: DType) -> Result<f64> {
    let n = 100_003;
    let cpu = Device::cpu();
    let (x, xc) = match src {
        DType::U8 => {
            let v: Vec<u8> = (0..n).map(|_| rng.random_range(0..=255u8)).collect();
            (Tensor::from_slice(&v, [n], dev)?, Tensor::from_slice(&v, [n], &cpu)?)
        }
        // f32 values with more mantissa than bf16 holds, so the narrowing rounds.
        DType::F32 => {
            let v: Vec<f32> = (0..n).map(|_| rng.random_range(-3.0f32..3.0)).collect();
            (Tensor::from_slice(&v, [n], dev)?, Tensor::from_slice(&v, [n], &cpu)?)
        }
        _ => {
            let v: Vec<half::bf16> = (0..n).map(|_| half::bf16::from_f32(rng.random_range(-3.0f32..3.0))).collect();
            (Tensor::from_slice(&v, [n], dev)?, Tensor::from_slice(&v, [n], &cpu)?)
        }
    };
    let (y, _) = poisoned_pair(&[n], dt, dev)?;
    let yc = Tensor::zeros([n], dt, &cpu)?;
    cuda().cast(&x, &y)?;
    CpuBackend.cast(&xc, &yc)?;
    scaled_error(&y, &yc)
}

fn normalize_frames(dev: &Device, dt: DType, rng: &mut LofiRng) -> Result<f64> {
    let (frames, h, w) = (5, 17, 23);
    let v: Vec<u8> = (0..frames * h * w * 3).map(|_| rng.random_range(0..=255u8)).collect();
    let x = Tensor::from_slice(&v, [frames, h, w, 3], dev)?;
    let xc = Tensor::from_slice(&v, [frames, h, w, 3], &Device::cpu())?;
    let (y, yc) = poisoned_pair(&[frames, 3, h, w], dt, dev)?;
    cuda().normalize_frames(&x, &y, &Normalization::IMAGENET)?;
    CpuBackend.normalize_frames(&xc, &yc, &Normalization::IMAGENET)?;
    scaled_error(&y, &yc)
}
