//! Selftest case of the Adam update (`kernels/optim.cu`) against the CPU twin.

use super::{cuda, random_pair, scaled_error, uniform_pair, Case};
use crate::backend::cpu::CpuBackend;
use crate::backend::cuda::kernels::Kernel;
use crate::backend::{AdamStep, Backend};
use crate::rng::Rng as LofiRng;
use crate::tensor::{DType, Device};
use crate::Result;

/// The cases for `dtype`.
pub(super) fn cases(dtype: DType) -> Vec<Case> {
    vec![Case::new(Kernel::AdamUpdate, dtype, adam)]
}

fn adam(dev: &Device, dt: DType, rng: &mut LofiRng) -> Result<f64> {
    let n = 100_003;
    let o = AdamStep { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 1e-4, step: 7 };
    let (p, pc) = random_pair(&[n], dt, dev, rng)?;
    let (g, gc) = random_pair(&[n], dt, dev, rng)?;
    let (m, mc) = random_pair(&[n], dt, dev, rng)?;
    // The second moment is non-negative.
    let (v, vc) = uniform_pair(&[n], 0.0, 1.0, dt, dev, rng)?;
    cuda().adam_step(&p, &g, &m, &v, &o)?;
    CpuBackend.adam_step(&pc, &gc, &mc, &vc, &o)?;
    Ok(scaled_error(&p, &pc)?.max(scaled_error(&m, &mc)?).max(scaled_error(&v, &vc)?))
}
