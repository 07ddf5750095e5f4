//! Selftest cases of batch norm (`kernels/norm.cu`): forward, backward, running statistics.

use super::{cuda, poisoned_pair, random_pair, scaled_error, uniform_pair, Case};
use crate::backend::cpu::CpuBackend;
use crate::backend::cuda::kernels::Kernel;
use crate::backend::Backend;
use crate::rng::Rng as LofiRng;
use crate::tensor::{DType, Device};
use crate::Result;

/// The cases for `dtype`.
pub(super) fn cases(dtype: DType) -> Vec<Case> {
    vec![
        Case::new(Kernel::BnFwdTrain, dtype, bn_fwd_train),
        Case::new(Kernel::BnFwdStats, dtype, bn_fwd_stats),
        Case::new(Kernel::BnBwdTrain, dtype, |d, t, r| bn_bwd(d, t, r, true)),
        Case::new(Kernel::BnBwdStats, dtype, |d, t, r| bn_bwd(d, t, r, false)),
        Case::new(Kernel::BnUpdateRunning, dtype, bn_update_running),
    ]
}

/// γ, β and the statistics are f32 whatever the activations' dtype (the bf16 policy).
const PARAM: DType = DType::F32;

/// (n, c, hw): a ResNet stage shape, more channels than one block's reach, hw = 1, and more
/// channels than the grid has blocks (`MAX_GRID_BLOCKS`), so the kernels' channel loop runs twice.
pub(super) const BN_SHAPES: [(usize, usize, usize); 4] = [(6, 37, 399), (2, 301, 49), (33, 8, 1), (2, 2600, 3)];
const BN: [(usize, usize, usize); 4] = BN_SHAPES;
const BN_EPS: f64 = 1e-5;

fn bn_fwd_train(dev: &Device, dt: DType, rng: &mut LofiRng) -> Result<f64> {
    let mut worst = 0.0f64;
    for (n, c, hw) in BN {
        // An offset mean, so the two-pass variance is exercised.
        let (x, xc) = uniform_pair(&[n, c, hw], 0.5, 2.5, dt, dev, rng)?;
        let (gm, gmc) = random_pair(&[c], PARAM, dev, rng)?;
        let (bt, btc) = random_pair(&[c], PARAM, dev, rng)?;
        let (y, yc) = poisoned_pair(&[n, c, hw], dt, dev)?;
        let (m, mc) = poisoned_pair(&[c], PARAM, dev)?;
        let (v, vc) = poisoned_pair(&[c], PARAM, dev)?;
        cuda().bn_fwd_train(&x, &gm, &bt, &y, &m, &v, n, c, hw, BN_EPS)?;
        CpuBackend.bn_fwd_train(&xc, &gmc, &btc, &yc, &mc, &vc, n, c, hw, BN_EPS)?;
        worst = worst.max(scaled_error(&y, &yc)?).max(scaled_error(&m, &mc)?).max(scaled_error(&v, &vc)?);
    }
    Ok(worst)
}

fn bn_fwd_stats(dev: &Device, dt: DType, rng: &mut LofiRng) -> Result<f64> {
    let mut worst = 0.0f64;
    for (n, c, hw) in BN {
        let (x, xc) = random_pair(&[n, c, hw], dt, dev, rng)?;
        let (gm, gmc) = random_pair(&[c], PARAM, dev, rng)?;
        let (bt, btc) = random_pair(&[c], PARAM, dev, rng)?;
        let (m, mc) = random_pair(&[c], PARAM, dev, rng)?;
        let (v, vc) = uniform_pair(&[c], 0.1, 2.0, PARAM, dev, rng)?;
        let (y, yc) = poisoned_pair(&[n, c, hw], dt, dev)?;
        cuda().bn_fwd_stats(&x, &gm, &bt, &y, &m, &v, n, c, hw, BN_EPS)?;
        CpuBackend.bn_fwd_stats(&xc, &gmc, &btc, &yc, &mc, &vc, n, c, hw, BN_EPS)?;
        worst = worst.max(scaled_error(&y, &yc)?);
    }
    Ok(worst)
}

fn bn_bwd(dev: &Device, dt: DType, rng: &mut LofiRng, train: bool) -> Result<f64> {
    let mut worst = 0.0f64;
    for (n, c, hw) in BN {
        let (x, xc) = random_pair(&[n, c, hw], dt, dev, rng)?;
        let (dy, dyc) = random_pair(&[n, c, hw], dt, dev, rng)?;
        let (gm, gmc) = random_pair(&[c], PARAM, dev, rng)?;
        // Statistics near x's own (uniform on [−1, 1): mean 0, variance 1/3).
        let (m, mc) = uniform_pair(&[c], -0.1, 0.1, PARAM, dev, rng)?;
        let (v, vc) = uniform_pair(&[c], 0.2, 0.5, PARAM, dev, rng)?;
        let (dx, dxc) = poisoned_pair(&[n, c, hw], dt, dev)?;
        let (dg, dgc) = poisoned_pair(&[c], PARAM, dev)?;
        let (db, dbc) = poisoned_pair(&[c], PARAM, dev)?;
        if train {
            cuda().bn_bwd_train(&x, &dy, &gm, &m, &v, &dx, &dg, &db, n, c, hw, BN_EPS)?;
            CpuBackend.bn_bwd_train(&xc, &dyc, &gmc, &mc, &vc, &dxc, &dgc, &dbc, n, c, hw, BN_EPS)?;
        } else {
            cuda().bn_bwd_stats(&x, &dy, &gm, &m, &v, &dx, &dg, &db, n, c, hw, BN_EPS)?;
            CpuBackend.bn_bwd_stats(&xc, &dyc, &gmc, &mc, &vc, &dxc, &dgc, &dbc, n, c, hw, BN_EPS)?;
        }
        worst = worst.max(scaled_error(&dx, &dxc)?).max(scaled_error(&dg, &dgc)?).max(scaled_error(&db, &dbc)?);
    }
    Ok(worst)
}

fn bn_update_running(dev: &Device, dt: DType, rng: &mut LofiRng) -> Result<f64> {
    let c = 1031;
    let (m, mc) = random_pair(&[c], dt, dev, rng)?;
    let (v, vc) = uniform_pair(&[c], 0.0, 2.0, dt, dev, rng)?;
    let (rm, rmc) = random_pair(&[c], dt, dev, rng)?;
    let (rv, rvc) = uniform_pair(&[c], 0.0, 2.0, dt, dev, rng)?;
    cuda().bn_update_running(&m, &v, &rm, &rv, 6 * 399, 0.1)?;
    CpuBackend.bn_update_running(&mc, &vc, &rmc, &rvc, 6 * 399, 0.1)?;
    Ok(scaled_error(&rm, &rmc)?.max(scaled_error(&rv, &rvc)?))
}
