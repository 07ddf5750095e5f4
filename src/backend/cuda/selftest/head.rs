//! Selftest cases of the G-TAD head and loss kernels (graph, align, loss, layout gathers): the
//! same protocol as the parent module (inputs rounded to the dtype on both sides, NaN-poisoned
//! outputs, the CPU twin in f32). Index outputs (i64) are compared exactly: a single wrong index
//! makes the scaled error at least 1/(n − 1), far above every tolerance.

use rand::Rng as _;

use super::compare::index_error;
use super::{cuda, poisoned_pair, random_pair, scaled_error, Case};
use crate::backend::cpu::CpuBackend;
use crate::backend::cuda::align::bwd_kernel_for;
use crate::backend::cuda::kernels::Kernel;
use crate::backend::Backend;
use crate::rng::Rng as LofiRng;
use crate::tensor::{DType, Device, Tensor};
use crate::{Error, Result};

/// The cases of this module for one dtype, appended in registry order.
pub(super) fn push_cases(v: &mut Vec<Case>, dtype: DType) {
    v.push(Case::new(Kernel::KnnScoreFwd, dtype, knn_score));
    v.push(Case::new(Kernel::KnnTopkFwd, dtype, knn_topk));
    v.push(Case::new(Kernel::GraphGatherFwd, dtype, |d, t, r| graph_gather(d, t, r, true)));
    v.push(Case::new(Kernel::GraphGatherBwd, dtype, |d, t, r| graph_gather(d, t, r, false)));
    v.push(Case::new(Kernel::MaxLastdimFwd, dtype, max_lastdim_fwd));
    v.push(Case::new(Kernel::MaxLastdimBwd, dtype, max_lastdim_bwd));
    v.push(Case::new(Kernel::Align1dFwd, dtype, |d, t, r| align1d(d, t, r, None)));
    v.push(Case::new(Kernel::Align1dBwd, dtype, |d, t, r| align1d(d, t, r, Some(Kernel::Align1dBwd))));
    v.push(Case::new(Kernel::Align1dLongBwd, dtype, |d, t, r| align1d(d, t, r, Some(Kernel::Align1dLongBwd))));
    v.push(Case::new(Kernel::SoftmaxXentFwd, dtype, softmax_xent_fwd));
    v.push(Case::new(Kernel::SoftmaxXentBwd, dtype, softmax_xent_bwd));
    v.push(Case::new(Kernel::WeightedBceFwd, dtype, weighted_bce_fwd));
    v.push(Case::new(Kernel::WeightedBceBwd, dtype, weighted_bce_bwd));
    v.push(Case::new(Kernel::GatherAxisFwd, dtype, |d, t, r| gather_axis(d, t, r, true)));
    v.push(Case::covering(
        &format!("scatter_add_axis_fwd_{}", dtype.name()),
        &[Kernel::ScatterPlanFwd, Kernel::ScatterAddAxisFwd],
        dtype,
        |d, t, r| gather_axis(d, t, r, false),
    ));
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
        worst = worst.max(index_error(&i, &ic)?);
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
    Ok(scaled_error(&y, &yc)?.max(index_error(&a, &ac)?))
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

/// Rois for a feature of length `l` in `batch` samples: G-TAD anchors (b, s, s + d) with the
/// [b, 0, 0] rows of the official table, plus the golden README's edge cases (rois beyond both
/// ends, reversed and empty rois, a roi entirely outside, samples exactly on −1 and L, len/P = 2)
/// and random rois.
fn rois(batch: usize, l: usize, bins: usize, rng: &mut LofiRng) -> Vec<f32> {
    let lf = l as f32;
    let p = bins as f32;
    let mut v = Vec::new();
    for b in 0..batch {
        let bf = b as f32;
        for s in (0..l).step_by(l.div_ceil(9)) {
            for d in [1, 2, l / 3, l] {
                let (s, e) = if s + d < l { (s as f32, (s + d) as f32) } else { (0.0, 0.0) };
                v.extend([bf, s, e]);
            }
        }
        v.extend([bf, -3.5, lf + 2.25]); // beyond both ends
        v.extend([bf, 4.0, 2.0]); // reversed: length forced to 1
        v.extend([bf, lf + 5.0, lf + 9.0]); // entirely outside
        v.extend([bf, -1.0 - 0.5 / p, lf - 1.0 - 0.5 / p]); // len = L: samples exactly on −1 and L
        v.extend([bf, 1.0, 1.0 + 2.0 * p]); // len/P exactly 2
        for _ in 0..8 {
            let s = rng.random_range(-2.0f32..lf);
            let e = s + rng.random_range(0.0f32..lf / 2.0);
            v.extend([bf, s, e]);
        }
    }
    v
}

/// (batch, c, l, bins) of the Align1D cases: G-TAD's P = 32 inner and 4 context bins, and one with
/// more (batch, channel) rows than the grid has blocks (`MAX_GRID_BLOCKS`), so the shared-memory
/// backward's block loop runs twice and the forward's grid-stride loop too (rois·c·bins outputs).
pub(super) const ALIGN_SHAPES: &[(usize, usize, usize, usize)] =
    &[(3, 7, 100, 32), (2, 5, 17, 4), (2, 3, 300, 32), (3, 900, 100, 32)];
/// A feature long enough for `align1d_long_bwd`.
const ALIGN_LONG_SHAPES: &[(usize, usize, usize, usize)] = &[(2, 5, 500, 32)];

/// Align1D forward (`bwd` None) or the backward kernel `bwd` names. In bf16 the rois round like
/// every input (both sides see the rounded values), so some edge cases move off their edge.
fn align1d(dev: &Device, dt: DType, rng: &mut LofiRng, bwd: Option<Kernel>) -> Result<f64> {
    let mut worst = 0.0f64;
    let shapes = match bwd {
        Some(Kernel::Align1dLongBwd) => ALIGN_LONG_SHAPES,
        _ => ALIGN_SHAPES,
    };
    for &(batch, c, l, bins) in shapes {
        if let Some(k) = bwd {
            if bwd_kernel_for(l) != k {
                return Err(Error::invalid("selftest", format!("L = {l} does not select {}", k.stem())));
            }
        }
        let values = rois(batch, l, bins, rng);
        let r = values.len() / 3;
        let (ro, roc) = super::pair_of(&values, &[r, 3], dt, dev)?;
        if bwd.is_none() {
            let (x, xc) = random_pair(&[batch, c, l], dt, dev, rng)?;
            let (y, yc) = poisoned_pair(&[r, c, bins], dt, dev)?;
            cuda().align1d_fwd(&x, &ro, &y, bins)?;
            CpuBackend.align1d_fwd(&xc, &roc, &yc, bins)?;
            worst = worst.max(scaled_error(&y, &yc)?);
        } else {
            let (dy, dyc) = random_pair(&[r, c, bins], dt, dev, rng)?;
            let (dx, dxc) = poisoned_pair(&[batch, c, l], dt, dev)?;
            cuda().align1d_bwd(&dy, &ro, &dx, bins)?;
            CpuBackend.align1d_bwd(&dyc, &roc, &dxc, bins)?;
            worst = worst.max(scaled_error(&dx, &dxc)?);
        }
    }
    Ok(worst)
}

fn softmax_xent_fwd(dev: &Device, dt: DType, rng: &mut LofiRng) -> Result<f64> {
    let mut worst = 0.0f64;
    // k below, at and above a warp; logits spread over [−8, 8].
    for (n, k) in [(1003, 201), (37, 2), (5, 32)] {
        let values: Vec<f32> = (0..n * k).map(|_| rng.random_range(-8.0f32..8.0)).collect();
        let (l, lc) = super::pair_of(&values, &[n, k], dt, dev)?;
        let (t, tc) = index_pair(&[n], k, dev, rng)?;
        let (loss, lossc) = poisoned_pair(&[1], dt, dev)?;
        let (p, pc) = poisoned_pair(&[n, k], dt, dev)?;
        cuda().softmax_xent_fwd(&l, &t, &loss, &p)?;
        CpuBackend.softmax_xent_fwd(&lc, &tc, &lossc, &pc)?;
        worst = worst.max(scaled_error(&loss, &lossc)?).max(scaled_error(&p, &pc)?);
    }
    Ok(worst)
}

fn softmax_xent_bwd(dev: &Device, dt: DType, rng: &mut LofiRng) -> Result<f64> {
    let (n, k) = (1003, 201);
    let values: Vec<f32> = (0..n * k).map(|_| rng.random_range(0.0f32..1.0)).collect();
    let (p, pc) = super::pair_of(&values, &[n, k], dt, dev)?;
    let (t, tc) = index_pair(&[n], k, dev, rng)?;
    let (g, gc) = random_pair(&[1], dt, dev, rng)?;
    let (d, dc) = poisoned_pair(&[n, k], dt, dev)?;
    cuda().softmax_xent_bwd(&p, &t, &g, &d)?;
    CpuBackend.softmax_xent_bwd(&pc, &tc, &gc, &dc)?;
    scaled_error(&d, &dc)
}

/// G-TAD-like weights (positives rare) and a small eps.
const BCE: (f64, f64, f64) = (4.3, 0.57, 1e-6);

/// Probabilities in [0.001, 0.999] and {0, 1} targets, `n` of each.
fn bce_inputs(n: usize, dt: DType, dev: &Device, rng: &mut LofiRng) -> Result<[(Tensor, Tensor); 2]> {
    let p: Vec<f32> = (0..n).map(|_| rng.random_range(0.001f32..0.999)).collect();
    let t: Vec<f32> = (0..n).map(|_| if rng.random_range(0.0f32..1.0) < 0.2 { 1.0 } else { 0.0 }).collect();
    Ok([super::pair_of(&p, &[n], dt, dev)?, super::pair_of(&t, &[n], dt, dev)?])
}

fn weighted_bce_fwd(dev: &Device, dt: DType, rng: &mut LofiRng) -> Result<f64> {
    let (w1, w0, eps) = BCE;
    let mut worst = 0.0f64;
    // A G-TAD map (B·D·L) and a length below one block.
    for n in [16 * 100 * 100 + 17, 200] {
        let [(p, pc), (t, tc)] = bce_inputs(n, dt, dev, rng)?;
        let (loss, lossc) = poisoned_pair(&[1], dt, dev)?;
        cuda().weighted_bce_fwd(&p, &t, &loss, w1, w0, eps)?;
        CpuBackend.weighted_bce_fwd(&pc, &tc, &lossc, w1, w0, eps)?;
        worst = worst.max(scaled_error(&loss, &lossc)?);
    }
    Ok(worst)
}

fn weighted_bce_bwd(dev: &Device, dt: DType, rng: &mut LofiRng) -> Result<f64> {
    let (w1, w0, eps) = BCE;
    let n = 100_003;
    let [(p, pc), (t, tc)] = bce_inputs(n, dt, dev, rng)?;
    let (g, gc) = random_pair(&[1], dt, dev, rng)?;
    let (d, dc) = poisoned_pair(&[n], dt, dev)?;
    cuda().weighted_bce_bwd(&p, &t, &g, &d, w1, w0, eps)?;
    CpuBackend.weighted_bce_bwd(&pc, &tc, &gc, &dc, w1, w0, eps)?;
    scaled_error(&d, &dc)
}

fn gather_axis(dev: &Device, dt: DType, rng: &mut LofiRng, forward: bool) -> Result<f64> {
    let mut worst = 0.0f64;
    // (outer, n, m, inner): repeated indices (m > n), a row gather (inner = 1), a wide inner.
    // And the PEM loss's shape (B·D·L regression targets gathered from a [B·D·L] map) at B = 4,
    // L = 100: m = n = 40,000, which the former O(n·m) scatter took 1.6e9 steps for.
    for (outer, n, m, inner) in [(3, 17, 40, 33), (5, 1000, 301, 1), (1, 9, 4, 1025), (1, 40_000, 40_000, 1)] {
        let (idx, idxc) = index_pair(&[m], n, dev, rng)?;
        if forward {
            let (x, xc) = random_pair(&[outer, n, inner], dt, dev, rng)?;
            let (y, yc) = poisoned_pair(&[outer, m, inner], dt, dev)?;
            cuda().gather_axis(&x, &idx, &y, outer, inner)?;
            CpuBackend.gather_axis(&xc, &idxc, &yc, outer, inner)?;
            worst = worst.max(scaled_error(&y, &yc)?);
        } else {
            let (dy, dyc) = random_pair(&[outer, m, inner], dt, dev, rng)?;
            let (dx, dxc) = poisoned_pair(&[outer, n, inner], dt, dev)?;
            let len = crate::backend::scatter_workspace_len(n, m)?;
            let work = Tensor::zeros([len], DType::I64, dev)?;
            let workc = Tensor::zeros([len], DType::I64, &Device::cpu())?;
            cuda().scatter_add_axis(&dy, &idx, &dx, &work, outer, inner)?;
            CpuBackend.scatter_add_axis(&dyc, &idxc, &dxc, &workc, outer, inner)?;
            worst = worst.max(scaled_error(&dx, &dxc)?);
        }
    }
    Ok(worst)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Align1D cases' rois are valid for the CPU twin (which would otherwise fail the case on a
    /// GPU for a reason unrelated to the kernel), in both dtypes' rounding.
    #[test]
    fn align_case_rois_are_accepted_by_the_cpu_twin() {
        let cpu = Device::cpu();
        let mut rng = LofiRng::seeded(3);
        for dt in [DType::F32, DType::BF16] {
            for &(batch, c, l, bins) in ALIGN_SHAPES.iter().chain(ALIGN_LONG_SHAPES) {
                let values = rois(batch, l, bins, &mut rng);
                let r = values.len() / 3;
                let (_, roc) = super::super::pair_of(&values, &[r, 3], dt, &cpu).unwrap();
                let (_, xc) = random_pair(&[batch, c, l], dt, &cpu, &mut rng).unwrap();
                let yc = Tensor::zeros([r, c, bins], DType::F32, &cpu).unwrap();
                CpuBackend.align1d_fwd(&xc, &roc, &yc, bins).unwrap();
                assert!(yc.to_f64_vec().unwrap().iter().all(|v| v.is_finite()));
            }
        }
        assert!(ALIGN_SHAPES.iter().all(|s| bwd_kernel_for(s.2) == Kernel::Align1dBwd));
        assert!(ALIGN_LONG_SHAPES.iter().all(|s| bwd_kernel_for(s.2) == Kernel::Align1dLongBwd));
    }
}
