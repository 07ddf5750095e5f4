//! CPU twin of Align1D (future `kernels/align.cu`): G-TAD's RoIAlign-1D with adaptive sampling
//! (`Align1D_cuda_kernal.cu`, spatial scale 1, sampling ratio 0), SPEC §b.5 and golden README item 2.
//!
//! For a roi (b, s, e): len = max(e − s, 1), bin = len/P, grid = ceil(len/P), and output bin p is
//! the sum over it < grid of interp(t) divided by grid, with t = (s + p·bin) + ((it + 0.5)·bin)/grid
//! evaluated in the tensor dtype in exactly that order (Rust never contracts to FMA).
//! Reference quirks, kept: a sample with t < −1 or t > L contributes 0 but still counts in the
//! divisor; t ≤ 0 reads x[0]; ⌊t⌋ ≥ L − 1 reads x[L − 1].
//! Backward scatters dy·w/grid to both taps, in a fixed roi/bin/sample order per (b, c) row (the
//! reference uses atomicAdd), so it is deterministic.
//!
//! Two paths. `align1d_fwd_reference` / `align1d_bwd_reference` follow the reference sample by
//! sample, per channel. The kernels the backend runs (`align1d_fwd` / `align1d_bwd`) do the same
//! sums with the sampling geometry computed once per roi instead of once per roi *and channel*:
//! each bin becomes a short list of (position, weight) with the weights of samples that share a
//! position added up and the 1/grid folded in — at G-TAD's 64+ channels that is most of the work.
//! The two differ only by float rounding (tests compare them and gradcheck the fast one).

use rayon::prelude::*;

use crate::tensor::{Float, Tensor};
use crate::{Error, Result};

/// Samples per bin beyond which a roi is refused: such a roi is a bug upstream, not a proposal.
const MAX_GRID: f64 = (1u64 << 24) as f64;

/// One roi's sampling geometry in the tensor dtype.
struct Roi<T> {
    batch: usize,
    start: T,
    bin: T,
    grid: usize,
}

fn rois_of<T: Float>(rois: &Tensor, batch: usize, bins: usize) -> Result<Vec<Roi<T>>> {
    let rv = rois.cpu::<T>()?;
    let p = T::of(bins as f64);
    rv.chunks_exact(3)
        .enumerate()
        .map(|(r, row)| {
            let (b, s, e) = (row[0], row[1], row[2]);
            if !(b.is_finite() && s.is_finite() && e.is_finite()) {
                return Err(Error::invalid("align1d", format!("roi {r} is not finite")));
            }
            // The reference truncates the batch entry to int; lofi insists on an exact index.
            let bf = b.as_f64();
            if bf < 0.0 || bf.fract() != 0.0 || bf as usize >= batch {
                return Err(Error::invalid("align1d", format!("roi {r}: batch index {bf} not in 0..{batch}")));
            }
            let len = (e - s).max(T::one());
            let bin = len / p;
            let grid = (len / p).ceil().as_f64();
            if grid > MAX_GRID {
                return Err(Error::invalid(
                    "align1d",
                    format!("roi {r} of length {} needs {grid} samples per bin", len.as_f64()),
                ));
            }
            Ok(Roi { batch: bf as usize, start: s, bin, grid: grid as usize })
        })
        .collect()
}

/// The taps and weights of sample `t` on a feature of length `l`, or None outside [−1, L].
fn taps<T: Float>(t: T, l: usize) -> Option<(usize, usize, T, T)> {
    if t < -T::one() || t > T::of(l as f64) {
        return None;
    }
    let t = if t <= T::zero() { T::zero() } else { t };
    let low = t.as_f64() as usize;
    let (low, high, t) = if low + 1 >= l { (l - 1, l - 1, T::of((l - 1) as f64)) } else { (low, low + 1, t) };
    let lt = t - T::of(low as f64);
    Some((low, high, T::one() - lt, lt))
}

/// Sample positions of output bin `p` of roi `r`, in the reference's evaluation order.
fn sample<T: Float>(r: &Roi<T>, p: usize, it: usize) -> T {
    let half = T::of(it as f64 + 0.5);
    (r.start + T::of(p as f64) * r.bin) + (half * r.bin) / T::of(r.grid as f64)
}

pub fn align1d_fwd_reference<T: Float>(x: &Tensor, rois: &Tensor, y: &Tensor, bins: usize) -> Result<()> {
    let [batch, c, l] = x.shape().dims_n::<3>("align1d")?;
    let geo = rois_of::<T>(rois, batch, bins)?;
    let xv = x.cpu::<T>()?;
    let mut yv = y.cpu_mut::<T>()?;
    yv.par_chunks_mut(bins.max(1)).enumerate().for_each(|(row, out)| {
        let (r, ch) = (row / c.max(1), row % c.max(1));
        let roi = &geo[r];
        let xr = &xv[(roi.batch * c + ch) * l..(roi.batch * c + ch + 1) * l];
        for (p, o) in out.iter_mut().enumerate() {
            let mut acc = T::zero();
            for it in 0..roi.grid {
                if let Some((lo, hi, w1, w2)) = taps(sample(roi, p, it), l) {
                    acc += w1 * xr[lo] + w2 * xr[hi];
                }
            }
            *o = acc / T::of(roi.grid as f64);
        }
    });
    Ok(())
}

pub fn align1d_bwd_reference<T: Float>(dy: &Tensor, rois: &Tensor, dx: &Tensor, bins: usize) -> Result<()> {
    let [batch, c, l] = dx.shape().dims_n::<3>("align1d")?;
    let geo = rois_of::<T>(rois, batch, bins)?;
    let mut by_batch: Vec<Vec<usize>> = vec![Vec::new(); batch];
    for (r, roi) in geo.iter().enumerate() {
        by_batch[roi.batch].push(r);
    }
    let dyv = dy.cpu::<T>()?;
    let mut dxv = dx.cpu_mut::<T>()?;
    dxv.par_chunks_mut(l.max(1)).enumerate().for_each(|(row, dxr)| {
        let (b, ch) = (row / c.max(1), row % c.max(1));
        dxr.iter_mut().for_each(|v| *v = T::zero());
        for &r in &by_batch[b] {
            let roi = &geo[r];
            let count = T::of(roi.grid as f64);
            let g = &dyv[(r * c + ch) * bins..(r * c + ch + 1) * bins];
            for (p, &gp) in g.iter().enumerate() {
                for it in 0..roi.grid {
                    if let Some((lo, hi, w1, w2)) = taps(sample(roi, p, it), l) {
                        dxr[lo] += gp * w1 / count;
                        dxr[hi] += gp * w2 / count;
                    }
                }
            }
        }
    });
    Ok(())
}

/// The combined taps of every (roi, bin): `taps[spans[r·P + p]]` are the (position, weight) pairs of
/// output bin p of roi r, in ascending position.
struct BinTaps<T> {
    spans: Vec<std::ops::Range<usize>>,
    taps: Vec<(usize, T)>,
}

fn bin_taps<T: Float>(geo: &[Roi<T>], bins: usize, l: usize) -> BinTaps<T> {
    let mut spans = Vec::with_capacity(geo.len() * bins);
    let mut list: Vec<(usize, T)> = Vec::new();
    for roi in geo {
        let count = T::of(roi.grid as f64);
        for p in 0..bins {
            let begin = list.len();
            for it in 0..roi.grid {
                if let Some((lo, hi, w1, w2)) = taps(sample(roi, p, it), l) {
                    for (pos, w) in [(lo, w1 / count), (hi, w2 / count)] {
                        // Samples move forward, so a shared position is always the last one added.
                        match list[begin..].last_mut() {
                            Some(last) if last.0 == pos => last.1 += w,
                            _ => list.push((pos, w)),
                        }
                    }
                }
            }
            spans.push(begin..list.len());
        }
    }
    BinTaps { spans, taps: list }
}

pub fn align1d_fwd<T: Float>(x: &Tensor, rois: &Tensor, y: &Tensor, bins: usize) -> Result<()> {
    let [batch, c, l] = x.shape().dims_n::<3>("align1d")?;
    let geo = rois_of::<T>(rois, batch, bins)?;
    let bt = bin_taps(&geo, bins, l);
    let xv = x.cpu::<T>()?;
    let mut yv = y.cpu_mut::<T>()?;
    // One roi's output [C, bins] per task: its taps serve every channel.
    yv.par_chunks_mut((c * bins).max(1)).enumerate().for_each(|(r, out)| {
        let base = geo[r].batch * c * l;
        for ch in 0..c {
            let xr = &xv[base + ch * l..base + (ch + 1) * l];
            for p in 0..bins {
                let span = bt.spans[r * bins + p].clone();
                out[ch * bins + p] = bt.taps[span].iter().fold(T::zero(), |acc, &(pos, w)| acc + w * xr[pos]);
            }
        }
    });
    Ok(())
}

pub fn align1d_bwd<T: Float>(dy: &Tensor, rois: &Tensor, dx: &Tensor, bins: usize) -> Result<()> {
    let [batch, c, l] = dx.shape().dims_n::<3>("align1d")?;
    let geo = rois_of::<T>(rois, batch, bins)?;
    let bt = bin_taps(&geo, bins, l);
    let mut by_batch: Vec<Vec<usize>> = vec![Vec::new(); batch];
    for (r, roi) in geo.iter().enumerate() {
        by_batch[roi.batch].push(r);
    }
    let dyv = dy.cpu::<T>()?;
    let mut dxv = dx.cpu_mut::<T>()?;
    // One (b, c) row per task, rois in a fixed order: deterministic for any thread count.
    dxv.par_chunks_mut(l.max(1)).enumerate().for_each(|(row, dxr)| {
        let (b, ch) = (row / c.max(1), row % c.max(1));
        dxr.iter_mut().for_each(|v| *v = T::zero());
        for &r in &by_batch[b] {
            let g = &dyv[(r * c + ch) * bins..(r * c + ch + 1) * bins];
            for (p, &gp) in g.iter().enumerate() {
                for &(pos, w) in &bt.taps[bt.spans[r * bins + p].clone()] {
                    dxr[pos] += gp * w;
                }
            }
        }
    });
    Ok(())
}
