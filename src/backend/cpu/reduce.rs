//! CPU reductions and broadcasts over the middle axis of a [outer, axis, inner] view. Sums
//! accumulate in f64 in a fixed order, so results do not depend on the thread count.

use rayon::prelude::*;

use crate::tensor::{Float, Tensor};
use crate::Result;

pub fn sum_axis<T: Float>(x: &Tensor, y: &Tensor, _outer: usize, axis: usize, inner: usize, alpha: f64) -> Result<()> {
    let x = x.cpu::<T>()?;
    let mut y = y.cpu_mut::<T>()?;
    let inner = inner.max(1);
    if inner == 1 {
        // Contiguous rows (a bias gradient's per-channel sums): eight running sums in a fixed
        // pattern, so the adds vectorise instead of waiting on one another.
        y.par_iter_mut().zip(x.par_chunks(axis.max(1))).for_each(|(yv, xr)| {
            *yv = T::of(sum_contiguous(&xr[..axis.min(xr.len())]) * alpha);
        });
        return Ok(());
    }
    y.par_chunks_mut(inner).zip(x.par_chunks((axis * inner).max(1))).for_each(|(yr, xr)| {
        for (i, yv) in yr.iter_mut().enumerate() {
            let mut acc = 0.0f64;
            for a in 0..axis {
                acc += xr[a * inner + i].as_f64();
            }
            *yv = T::of(acc * alpha);
        }
    });
    Ok(())
}

/// Σ xs in f64 in eight lanes (`add_to_lanes`, `sum_lanes`): the order depends only on the
/// length, never on the thread count.
fn sum_contiguous<T: Float>(xs: &[T]) -> f64 {
    let mut lanes = [0.0f64; 8];
    add_to_lanes(&mut lanes, xs, xs, |x, _| x);
    sum_lanes(&lanes)
}

/// Adds f(a[i], b[i]) for a pair of equal-length slices to eight running sums, element i to lane
/// i mod 8 (counted from the slice's start): fixed-size chunks, so the adds vectorise instead of
/// waiting on one another.
pub(super) fn add_to_lanes<T: Float>(lanes: &mut [f64; 8], a: &[T], b: &[T], f: impl Fn(f64, f64) -> f64) {
    let (mut ca, mut cb) = (a.chunks_exact(8), b.chunks_exact(8));
    for (xa, xb) in (&mut ca).zip(&mut cb) {
        for l in 0..8 {
            lanes[l] += f(xa[l].as_f64(), xb[l].as_f64());
        }
    }
    for (l, (xa, xb)) in ca.remainder().iter().zip(cb.remainder()).enumerate() {
        lanes[l] += f(xa.as_f64(), xb.as_f64());
    }
}

/// The eight lanes added pairwise.
pub(super) fn sum_lanes(lanes: &[f64; 8]) -> f64 {
    ((lanes[0] + lanes[4]) + (lanes[2] + lanes[6])) + ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7]))
}

pub fn broadcast_axis<T: Float>(
    x: &Tensor,
    y: &Tensor,
    _outer: usize,
    axis: usize,
    inner: usize,
    alpha: f64,
) -> Result<()> {
    let x = x.cpu::<T>()?;
    let mut y = y.cpu_mut::<T>()?;
    let inner = inner.max(1);
    let alpha = T::of(alpha);
    y.par_chunks_mut((axis * inner).max(1)).zip(x.par_chunks(inner)).for_each(|(yr, xr)| {
        for a in 0..axis {
            for i in 0..inner {
                yr[a * inner + i] = alpha * xr[i];
            }
        }
    });
    Ok(())
}
