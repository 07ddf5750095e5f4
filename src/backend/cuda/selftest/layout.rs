//! Selftest cases of the layout kernels (`kernels/layout.cu`): permute and the axis copies.

use super::{cuda, poisoned_pair, random_pair, scaled_error, Case};
use crate::backend::cpu::CpuBackend;
use crate::backend::cuda::kernels::Kernel;
use crate::backend::Backend;
use crate::rng::Rng as LofiRng;
use crate::tensor::{DType, Device};
use crate::Result;

/// The cases for `dtype`.
pub(super) fn cases(dtype: DType) -> Vec<Case> {
    vec![
        Case::new(Kernel::Permute, dtype, permute),
        Case::new(Kernel::CopyIntoAxis, dtype, |d, t, r| copy_axis(d, t, r, true)),
        Case::new(Kernel::CopyFromAxis, dtype, |d, t, r| copy_axis(d, t, r, false)),
    ]
}

fn permute(dev: &Device, dt: DType, rng: &mut LofiRng) -> Result<f64> {
    let mut worst = 0.0f64;
    let cases: [(&[usize], &[usize]); 3] =
        [(&[3, 5, 7, 2], &[2, 0, 3, 1]), (&[2, 3, 1, 5, 4, 3], &[5, 3, 0, 4, 2, 1]), (&[33, 65], &[1, 0])];
    for (dims, perm) in cases {
        let y_dims: Vec<usize> = perm.iter().map(|&p| dims[p]).collect();
        let (x, xc) = random_pair(dims, dt, dev, rng)?;
        let (y, yc) = poisoned_pair(&y_dims, dt, dev)?;
        cuda().permute(&x, perm, &y)?;
        CpuBackend.permute(&xc, perm, &yc)?;
        worst = worst.max(scaled_error(&y, &yc)?);
    }
    Ok(worst)
}

fn copy_axis(dev: &Device, dt: DType, rng: &mut LofiRng, into: bool) -> Result<f64> {
    // [outer, mid, inner] pieces of 5 rows inside 13, at offset 4 (and a flat one, outer 1).
    let mut worst = 0.0f64;
    for (outer, piece, whole, inner, offset) in [(6, 5, 13, 37, 4), (1, 3, 8, 1001, 5)] {
        let (small, big) = ([outer, piece, inner], [outer, whole, inner]);
        if into {
            let (x, xc) = random_pair(&small, dt, dev, rng)?;
            // y keeps what is outside the piece: it starts from equal random values.
            let (y, yc) = random_pair(&big, dt, dev, rng)?;
            cuda().copy_into_axis(&x, &y, outer, inner, offset)?;
            CpuBackend.copy_into_axis(&xc, &yc, outer, inner, offset)?;
            worst = worst.max(scaled_error(&y, &yc)?);
        } else {
            let (x, xc) = random_pair(&big, dt, dev, rng)?;
            let (y, yc) = poisoned_pair(&small, dt, dev)?;
            cuda().copy_from_axis(&x, &y, outer, inner, offset)?;
            CpuBackend.copy_from_axis(&xc, &yc, outer, inner, offset)?;
            worst = worst.max(scaled_error(&y, &yc)?);
        }
    }
    Ok(worst)
}
