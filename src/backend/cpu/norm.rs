//! CPU batch norm over (N, H, W) per channel; x viewed [n, c, hw]. Statistics and gradient sums
//! accumulate in f64, one channel per task, in a fixed order: eight running sums (element i of a
//! plane goes to lane i mod 8, plane after plane in batch order) added pairwise at the end, so
//! the adds vectorise and the result depends on the shape only, never on the thread count.

use rayon::prelude::*;

use super::reduce::{add_to_lanes, sum_lanes};
use crate::tensor::{Float, Tensor};
use crate::Result;

/// Σ over the planes of channel `ch` (in [n, c, hw] buffers `a` and `b`) of f(a[i], b[i]) — see
/// the module comment for the order.
fn channel_sum<T: Float>(
    a: &[T],
    b: &[T],
    n: usize,
    c: usize,
    hw: usize,
    ch: usize,
    f: impl Fn(f64, f64) -> f64,
) -> f64 {
    let mut lanes = [0.0f64; 8];
    for i in 0..n {
        let at = (i * c + ch) * hw;
        add_to_lanes(&mut lanes, &a[at..at + hw], &b[at..at + hw], &f);
    }
    sum_lanes(&lanes)
}

#[allow(clippy::too_many_arguments)]
pub fn bn_fwd_train<T: Float>(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    y: &Tensor,
    mean: &Tensor,
    var: &Tensor,
    n: usize,
    c: usize,
    hw: usize,
    eps: f64,
) -> Result<()> {
    let xv = x.cpu::<T>()?;
    let m = (n * hw) as f64;
    let stats: Vec<(f64, f64)> = (0..c)
        .into_par_iter()
        .map(|ch| {
            let mu = channel_sum(&xv, &xv, n, c, hw, ch, |x, _| x) / m;
            let var = channel_sum(&xv, &xv, n, c, hw, ch, |x, _| (x - mu) * (x - mu)) / m;
            (mu, var)
        })
        .collect();
    {
        let mut mv = mean.cpu_mut::<T>()?;
        let mut vv = var.cpu_mut::<T>()?;
        for (ch, &(mu, s2)) in stats.iter().enumerate() {
            mv[ch] = T::of(mu);
            vv[ch] = T::of(s2);
        }
    }
    apply(&xv, gamma, beta, y, &stats, n, c, hw, eps)
}

#[allow(clippy::too_many_arguments)]
fn apply<T: Float>(
    xv: &[T],
    gamma: &Tensor,
    beta: &Tensor,
    y: &Tensor,
    stats: &[(f64, f64)],
    _n: usize,
    c: usize,
    hw: usize,
    eps: f64,
) -> Result<()> {
    let gv = gamma.cpu::<T>()?;
    let bv = beta.cpu::<T>()?;
    let mut yv = y.cpu_mut::<T>()?;
    yv.par_chunks_mut(hw.max(1)).zip(xv.par_chunks(hw.max(1))).enumerate().for_each(|(row, (yr, xr))| {
        let ch = row % c;
        let (mu, s2) = stats[ch];
        let k = gv[ch].as_f64() / (s2 + eps).sqrt();
        let b = bv[ch].as_f64();
        yr.iter_mut().zip(xr).for_each(|(y, &x)| *y = T::of((x.as_f64() - mu) * k + b));
    });
    Ok(())
}

fn read_stats<T: Float>(mean: &Tensor, var: &Tensor) -> Result<Vec<(f64, f64)>> {
    let mv = mean.cpu::<T>()?;
    let vv = var.cpu::<T>()?;
    Ok(mv.iter().zip(vv.iter()).map(|(m, v)| (m.as_f64(), v.as_f64())).collect())
}

#[allow(clippy::too_many_arguments)]
pub fn bn_fwd_stats<T: Float>(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    y: &Tensor,
    mean: &Tensor,
    var: &Tensor,
    n: usize,
    c: usize,
    hw: usize,
    eps: f64,
) -> Result<()> {
    let stats = read_stats::<T>(mean, var)?;
    let xv = x.cpu::<T>()?;
    apply(&xv, gamma, beta, y, &stats, n, c, hw, eps)
}

/// Both BN backward kernels: per channel Σdy and Σdy·x̂ (dγ, dβ), then dx — through the batch
/// statistics when `batch_stats` (train mode), else through the fixed ones (eval/frozen).
#[allow(clippy::too_many_arguments)]
pub fn bn_bwd<T: Float>(
    x: &Tensor,
    dy: &Tensor,
    gamma: &Tensor,
    mean: &Tensor,
    var: &Tensor,
    dx: &Tensor,
    dgamma: &Tensor,
    dbeta: &Tensor,
    n: usize,
    c: usize,
    hw: usize,
    eps: f64,
    batch_stats: bool,
) -> Result<()> {
    let stats = read_stats::<T>(mean, var)?;
    let xv = x.cpu::<T>()?;
    let dyv = dy.cpu::<T>()?;
    let gv = gamma.cpu::<T>()?;
    let sums: Vec<(f64, f64)> = (0..c)
        .into_par_iter()
        .map(|ch| {
            let (mu, s2) = stats[ch];
            let inv = 1.0 / (s2 + eps).sqrt();
            let sdy = channel_sum(&dyv, &dyv, n, c, hw, ch, |g, _| g);
            let sdyx = channel_sum(&dyv, &xv, n, c, hw, ch, |g, x| g * (x - mu)) * inv;
            (sdy, sdyx)
        })
        .collect();
    {
        let mut dg = dgamma.cpu_mut::<T>()?;
        let mut db = dbeta.cpu_mut::<T>()?;
        for (ch, &(sdy, sdyx)) in sums.iter().enumerate() {
            dg[ch] = T::of(sdyx);
            db[ch] = T::of(sdy);
        }
    }
    let m = (n * hw) as f64;
    let mut dxv = dx.cpu_mut::<T>()?;
    dxv.par_chunks_mut(hw.max(1)).enumerate().for_each(|(row, dxr)| {
        let ch = row % c;
        let (mu, s2) = stats[ch];
        let inv = 1.0 / (s2 + eps).sqrt();
        let k = gv[ch].as_f64() * inv;
        let (sdy, sdyx) = sums[ch];
        let base = row * hw;
        let (dyr, xr) = (&dyv[base..base + dxr.len()], &xv[base..base + dxr.len()]);
        if batch_stats {
            for ((d, &g), &x) in dxr.iter_mut().zip(dyr).zip(xr) {
                let xhat = (x.as_f64() - mu) * inv;
                *d = T::of(k * (g.as_f64() - sdy / m - xhat * sdyx / m));
            }
        } else {
            for (d, &g) in dxr.iter_mut().zip(dyr) {
                *d = T::of(k * g.as_f64());
            }
        }
    });
    Ok(())
}

/// PyTorch: running ← (1 − momentum)·running + momentum·batch, with the unbiased batch variance.
pub fn bn_update_running<T: Float>(
    mean: &Tensor,
    var: &Tensor,
    running_mean: &Tensor,
    running_var: &Tensor,
    count: usize,
    momentum: f64,
) -> Result<()> {
    let mv = mean.cpu::<T>()?;
    let vv = var.cpu::<T>()?;
    let mut rm = running_mean.cpu_mut::<T>()?;
    let mut rv = running_var.cpu_mut::<T>()?;
    let unbias = if count > 1 { count as f64 / (count as f64 - 1.0) } else { 1.0 };
    for ch in 0..mv.len() {
        rm[ch] = T::of((1.0 - momentum) * rm[ch].as_f64() + momentum * mv[ch].as_f64());
        rv[ch] = T::of((1.0 - momentum) * rv[ch].as_f64() + momentum * vv[ch].as_f64() * unbias);
    }
    Ok(())
}
