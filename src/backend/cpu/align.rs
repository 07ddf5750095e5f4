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
//! sample, per channel. The kernels the backend runs (`align1d_fwd` / `align1d_bwd`) compute the
//! sampling geometry once per roi instead of once per roi *and channel* — each bin becomes a short
//! list of (position, weight), the weights of samples that share a position added up and 1/grid
//! folded in — lay those weights out as dense matrices for blocks of rois and let GEMM apply them
//! to every channel. The two differ only by float rounding (tests compare them and gradcheck the
//! fast one).

use rayon::prelude::*;

use super::matmul::{gemm_strided_on, Mat, Threads};
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

/// The (position, weight) pairs of output bin `p` of `roi`, appended to `list` in ascending
/// position order of the samples, 1/grid folded in; the weights of consecutive pairs at one
/// position are added up (clamped samples may still repeat a position: sum, do not assign).
fn push_bin_taps<T: Float>(roi: &Roi<T>, p: usize, l: usize, list: &mut Vec<(usize, T)>) {
    let count = T::of(roi.grid as f64);
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
}

/// Rois per dense block: the block's sampling matrices are `bins × L × ROI_BLOCK` values of
/// kernel scratch (160 KiB at the synthetic head's L = 32, 10 bins; 1.8 MiB at L = 100, 36 bins).
const ROI_BLOCK: usize = 128;

/// Consecutive rois of one video, at most `ROI_BLOCK` of them: `rois[start..end]` of batch `batch`.
#[derive(Clone, Copy)]
struct Block {
    batch: usize,
    start: usize,
    end: usize,
}

fn blocks_of<T>(geo: &[Roi<T>]) -> Vec<Block> {
    let mut out: Vec<Block> = Vec::new();
    for (r, roi) in geo.iter().enumerate() {
        match out.last_mut() {
            Some(b) if b.batch == roi.batch && b.end == r && b.end - b.start < ROI_BLOCK => b.end = r + 1,
            _ => out.push(Block { batch: roi.batch, start: r, end: r + 1 }),
        }
    }
    out
}

/// The block's sampling matrices: `m[(p·L + pos)·n + j]` = weight of position `pos` in bin `p` of
/// the block's roi j (n rois), zero where the bin does not sample.
fn sampling_matrices<T: Float>(geo: &[Roi<T>], blk: Block, bins: usize, l: usize, m: &mut Vec<T>) {
    let n = blk.end - blk.start;
    m.clear();
    m.resize(bins * l * n, T::zero());
    let mut list = Vec::new();
    for (j, roi) in geo[blk.start..blk.end].iter().enumerate() {
        for p in 0..bins {
            list.clear();
            push_bin_taps(roi, p, l, &mut list);
            for &(pos, w) in &list {
                m[(p * l + pos) * n + j] += w;
            }
        }
    }
}

// The kernels the backend runs. Align1D is linear in x: for a block of consecutive rois of one
// video, output bin p of every roi and channel is one matrix product, Y_p[C × n] = X_b[C × L] ·
// M_p[L × n], with M_p the block's sampling weights (`sampling_matrices`); the backward is
// dX_b[C × L] += DY_p[C × n] · M_pᵀ. A GEMM does in a few microseconds what the per-tap loops did
// in tens (the synthetic head's two Align1D calls: 57 → 1x ms a step, docs/perf-cpu.md).

pub fn align1d_fwd<T: Float>(x: &Tensor, rois: &Tensor, y: &Tensor, bins: usize) -> Result<()> {
    let [batch, c, l] = x.shape().dims_n::<3>("align1d")?;
    let geo = rois_of::<T>(rois, batch, bins)?;
    let blocks = blocks_of(&geo);
    let xv = x.cpu::<T>()?;
    let mut yv = y.cpu_mut::<T>()?;
    if c == 0 || bins == 0 || l == 0 {
        yv.fill(T::zero());
        return Ok(());
    }
    let row = c * bins;
    if yv.len() < geo.len() * row {
        return Err(Error::shape("align1d", format!("output of {} values for {} rois", yv.len(), geo.len())));
    }
    // Split y at block boundaries so that each task owns its rois' outputs.
    let mut parts = Vec::with_capacity(blocks.len());
    let mut rest: &mut [T] = &mut yv[..geo.len() * row];
    for blk in &blocks {
        let (mine, tail) = rest.split_at_mut((blk.end - blk.start) * row);
        parts.push((*blk, mine));
        rest = tail;
    }
    parts.into_par_iter().for_each_init(Vec::new, |m, (blk, out)| {
        sampling_matrices(&geo, blk, bins, l, m);
        let n = blk.end - blk.start;
        let xb = &xv[blk.batch * c * l..(blk.batch + 1) * c * l];
        for p in 0..bins {
            // SAFETY: out holds n rois × [C, bins]: element (ch, j) of Y_p at j·C·bins + ch·bins + p,
            // inside `out`; xb is C×L and m's slab p is L×n, both read-only and disjoint from out.
            unsafe {
                gemm_strided_on(
                    Threads::Caller,
                    c,
                    n,
                    l,
                    Mat { ptr: out.as_mut_ptr().add(p), rs: bins as isize, cs: row as isize },
                    Mat { ptr: xb.as_ptr(), rs: l as isize, cs: 1 },
                    Mat { ptr: m.as_ptr().add(p * l * n), rs: n as isize, cs: 1 },
                    false,
                );
            }
        }
    });
    Ok(())
}

pub fn align1d_bwd<T: Float>(dy: &Tensor, rois: &Tensor, dx: &Tensor, bins: usize) -> Result<()> {
    let [batch, c, l] = dx.shape().dims_n::<3>("align1d")?;
    let geo = rois_of::<T>(rois, batch, bins)?;
    let blocks = blocks_of(&geo);
    let dyv = dy.cpu::<T>()?;
    let mut dxv = dx.cpu_mut::<T>()?;
    let row = c * bins;
    if dyv.len() < geo.len() * row {
        return Err(Error::shape("align1d", format!("gradient of {} values for {} rois", dyv.len(), geo.len())));
    }
    // One video per task, its blocks in roi order: deterministic for any thread count.
    dxv.par_chunks_mut((c * l).max(1)).enumerate().for_each_init(Vec::new, |m, (b, dxb)| {
        dxb.fill(T::zero());
        for blk in blocks.iter().filter(|blk| blk.batch == b) {
            sampling_matrices(&geo, *blk, bins, l, m);
            let n = blk.end - blk.start;
            let g = &dyv[blk.start * row..blk.end * row];
            for p in 0..bins {
                // SAFETY: dxb is C×L; DY_p element (ch, j) at j·C·bins + ch·bins + p inside g;
                // M_pᵀ element (j, pos) at pos·n + j inside m's slab p; dxb disjoint from both.
                unsafe {
                    gemm_strided_on(
                        Threads::Caller,
                        c,
                        l,
                        n,
                        Mat { ptr: dxb.as_mut_ptr(), rs: l as isize, cs: 1 },
                        Mat { ptr: g.as_ptr().add(p), rs: bins as isize, cs: row as isize },
                        Mat { ptr: m.as_ptr().add(p * l * n), rs: 1, cs: n as isize },
                        true,
                    );
                }
            }
        }
    });
    Ok(())
}
