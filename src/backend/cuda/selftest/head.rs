//! Selftest cases of the G-TAD head and loss kernels (graph, align, loss, layout gathers): the
//! same protocol as the parent module (inputs rounded to the dtype on both sides, NaN-poisoned
//! outputs, the CPU twin in f32). Index outputs (i64) are compared exactly: a single wrong index
//! makes the scaled error at least 1/(n − 1), far above every tolerance.

use rand::Rng as _;

use super::{cuda, poisoned_pair, random_pair, scaled_error, Case};
use crate::backend::cpu::CpuBackend;
use crate::backend::cuda::kernels::Kernel;
use crate::backend::Backend;
use crate::rng::Rng as LofiRng;
use crate::tensor::{DType, Device, Tensor};
use crate::Result;

/// The cases of this module for one dtype, appended in registry order.
pub(super) fn push_cases(v: &mut Vec<Case>, dtype: DType) {
    v.push(Case::new(Kernel::KnnScoreFwd, dtype, knn_score));
    v.push(Case::new(Kernel::KnnTopkFwd, dtype, knn_topk));
    v.push(Case::new(Kernel::GraphGatherFwd, dtype, |d, t, r| graph_gather(d, t, r, true)));
    v.push(Case::new(Kernel::GraphGatherBwd, dtype, |d, t, r| graph_gather(d, t, r, false)));
    v.push(Case::new(Kernel::MaxLastdimFwd, dtype, max_lastdim_fwd));
    v.push(Case::new(Kernel::MaxLastdimBwd, dtype, max_lastdim_bwd));
}

/// Random i64 indices in 0..n on `dev` and the same on the CPU.
fn index_pair(dims: &[usize], n: usize, dev: &Device, rng: &mut LofiRng) -> Result<(Tensor, Tensor)> {
    let len: usize = dims.iter().product();
    let ids: Vec<i64> = (0..len).map(|_| rng.random_range(0..n as i64)).collect();
    Ok((Tensor::from_slice(&ids, dims, dev)?, Tensor::from_slice(&ids, dims, &Device::cpu())?))
}

/// Random values on a grid of 1/8 in [−1, 1] (exact in bf16): many exact ties, and −0 beside +0.
fn tied_pair(dims: &[usize], dtype: DType, dev: &Device, rng: &mut LofiRng) -> Result<(Tensor, Tensor)> {
    let n: usize = dims.iter().product();
    let values: Vec<f32> = (0..n).map(|_| (rng.random_range(-1.0f32..1.0) * 8.0).round() / 8.0).collect();
    super::pair_of(&values, dims, dtype, dev)
}

/// An i64 output on `dev` filled with −7 (never a valid index), and a CPU twin.
fn poisoned_index(dims: &[usize], dev: &Device) -> Result<(Tensor, Tensor)> {
    Ok((Tensor::full(-7i64, dims, dev)?, Tensor::full(0i64, dims, &Device::cpu())?))
}

fn knn_score(dev: &Device, dt: DType, rng: &mut LofiRng) -> Result<f64> {
    let mut worst = 0.0f64;
    for (b, c, l) in [(3, 37, 67), (2, 256, 100)] {
        let (x, xc) = random_pair(&[b, c, l], dt, dev, rng)?;
        let (g, gc) = random_pair(&[b, l, l], dt, dev, rng)?;
        let (s, sc) = poisoned_pair(&[b, l, l], dt, dev)?;
        cuda().knn_score(&x, &g, &s)?;
        CpuBackend.knn_score(&xc, &gc, &sc)?;
        worst = worst.max(scaled_error(&s, &sc)?);
    }
    Ok(worst)
}

fn knn_topk(dev: &Device, dt: DType, rng: &mut LofiRng) -> Result<f64> {
    let mut worst = 0.0f64;
    // Tied scores on a coarse grid, and k = L (the whole row sorted).
    for (b, l, k) in [(3, 67, 3), (2, 100, 7), (1, 17, 17)] {
        let (s, sc) = tied_pair(&[b, l, l], dt, dev, rng)?;
        let (i, ic) = poisoned_index(&[b, l, k], dev)?;
        cuda().knn_topk(&s, &i, k)?;
        CpuBackend.knn_topk(&sc, &ic, k)?;
        worst = worst.max(scaled_error(&i, &ic)?);
    }
    Ok(worst)
}

fn graph_gather(dev: &Device, dt: DType, rng: &mut LofiRng, forward: bool) -> Result<f64> {
    let mut worst = 0.0f64;
    let (b, c, l, k) = (3, 37, 67, 5);
    for with_self in [true, false] {
        let c_out = if with_self { 2 * c } else { c };
        // Random neighbours repeat often, so the backward sums several terms per element.
        let (idx, idxc) = index_pair(&[b, l, k], l, dev, rng)?;
        if forward {
            let (x, xc) = random_pair(&[b, c, l], dt, dev, rng)?;
            let (y, yc) = poisoned_pair(&[b, c_out, l, k], dt, dev)?;
            cuda().graph_gather_fwd(&x, &idx, &y, with_self)?;
            CpuBackend.graph_gather_fwd(&xc, &idxc, &yc, with_self)?;
            worst = worst.max(scaled_error(&y, &yc)?);
        } else {
            let (dy, dyc) = random_pair(&[b, c_out, l, k], dt, dev, rng)?;
            let (dx, dxc) = poisoned_pair(&[b, c, l], dt, dev)?;
            cuda().graph_gather_bwd(&dy, &idx, &dx, with_self)?;
            CpuBackend.graph_gather_bwd(&dyc, &idxc, &dxc, with_self)?;
            worst = worst.max(scaled_error(&dx, &dxc)?);
        }
    }
    Ok(worst)
}

fn max_lastdim_fwd(dev: &Device, dt: DType, rng: &mut LofiRng) -> Result<f64> {
    let (rows, k) = (10_007, 7);
    // Tied values: the first maximum must win on both sides.
    let (x, xc) = tied_pair(&[rows, k], dt, dev, rng)?;
    let (y, yc) = poisoned_pair(&[rows], dt, dev)?;
    let (a, ac) = poisoned_index(&[rows], dev)?;
    cuda().max_lastdim_fwd(&x, &y, &a, k)?;
    CpuBackend.max_lastdim_fwd(&xc, &yc, &ac, k)?;
    Ok(scaled_error(&y, &yc)?.max(scaled_error(&a, &ac)?))
}

fn max_lastdim_bwd(dev: &Device, dt: DType, rng: &mut LofiRng) -> Result<f64> {
    let (rows, k) = (10_007, 7);
    let (dy, dyc) = random_pair(&[rows], dt, dev, rng)?;
    let (a, ac) = index_pair(&[rows], k, dev, rng)?;
    let (dx, dxc) = poisoned_pair(&[rows, k], dt, dev)?;
    cuda().max_lastdim_bwd(&dy, &a, &dx, k)?;
    CpuBackend.max_lastdim_bwd(&dyc, &ac, &dxc, k)?;
    scaled_error(&dx, &dxc)
}
