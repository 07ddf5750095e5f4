//! Selftest cases of max pooling (`kernels/pool.cu`): values to tolerance, argmax exactly.

use super::{cuda, poisoned_pair, random_pair, scaled_error, Case};
use crate::backend::cpu::CpuBackend;
use crate::backend::cuda::kernels::Kernel;
use crate::backend::{Backend, PoolGeom};
use crate::rng::Rng as LofiRng;
use crate::tensor::{DType, Device, Tensor};
use crate::Result;

/// The cases for `dtype`.
pub(super) fn cases(dtype: DType) -> Vec<Case> {
    vec![Case::new(Kernel::MaxPool2dFwd, dtype, maxpool_fwd), Case::new(Kernel::MaxPool2dBwd, dtype, maxpool_bwd)]
}

/// 0 when the two tensors hold identical values, else NaN (a failure): for indices, where a
/// relative error would hide an off-by-one.
fn exact(gpu: &Tensor, cpu: &Tensor) -> Result<f64> {
    Ok(if gpu.to_f64_vec()? == cpu.to_f64_vec()? { 0.0 } else { f64::NAN })
}

/// (planes, h, w, k, stride, pad): ResNet's stem pool, an odd plane, and non-overlapping windows.
const POOLS: [(usize, usize, usize, usize, usize, usize); 3] =
    [(37, 56, 56, 3, 2, 1), (5, 13, 9, 3, 2, 1), (7, 8, 10, 2, 2, 0)];

fn maxpool_fwd(dev: &Device, dt: DType, rng: &mut LofiRng) -> Result<f64> {
    let mut worst = 0.0f64;
    for (planes, h, w, k, s, pad) in POOLS {
        let g = PoolGeom::new(planes, h, w, k, s, pad)?;
        let (x, xc) = random_pair(&[planes, h, w], dt, dev, rng)?;
        let (y, yc) = poisoned_pair(&[planes, g.ho, g.wo], dt, dev)?;
        let a = Tensor::full(-7i64, [planes, g.ho, g.wo], dev)?;
        let ac = Tensor::zeros([planes, g.ho, g.wo], DType::I64, &Device::cpu())?;
        cuda().maxpool2d_fwd(&g, &x, &y, &a)?;
        CpuBackend.maxpool2d_fwd(&g, &xc, &yc, &ac)?;
        worst = worst.max(scaled_error(&y, &yc)?).max(exact(&a, &ac)?);
    }
    Ok(worst)
}

fn maxpool_bwd(dev: &Device, dt: DType, rng: &mut LofiRng) -> Result<f64> {
    let mut worst = 0.0f64;
    for (planes, h, w, k, s, pad) in POOLS {
        let g = PoolGeom::new(planes, h, w, k, s, pad)?;
        // Argmax from the CPU forward, given to both sides (overlapping windows share inputs).
        let (_, xc) = random_pair(&[planes, h, w], dt, dev, rng)?;
        let yc = Tensor::zeros([planes, g.ho, g.wo], DType::F32, &Device::cpu())?;
        let ac = Tensor::zeros([planes, g.ho, g.wo], DType::I64, &Device::cpu())?;
        CpuBackend.maxpool2d_fwd(&g, &xc, &yc, &ac)?;
        let a = Tensor::from_vec(ac.to_vec::<i64>()?, [planes, g.ho, g.wo], dev)?;
        let (dy, dyc) = random_pair(&[planes, g.ho, g.wo], dt, dev, rng)?;
        let (dx, dxc) = poisoned_pair(&[planes, h, w], dt, dev)?;
        cuda().maxpool2d_bwd(&g, &dy, &a, &dx)?;
        CpuBackend.maxpool2d_bwd(&g, &dyc, &ac, &dxc)?;
        worst = worst.max(scaled_error(&dx, &dxc)?);
    }
    Ok(worst)
}
