//! CPU reductions and broadcasts over the middle axis of a [outer, axis, inner] view. Sums
//! accumulate in f64 in a fixed order, so results do not depend on the thread count.

use rayon::prelude::*;

use crate::tensor::{Float, Tensor};
use crate::Result;

pub fn sum_axis<T: Float>(x: &Tensor, y: &Tensor, _outer: usize, axis: usize, inner: usize, alpha: f64) -> Result<()> {
    let x = x.cpu::<T>()?;
    let mut y = y.cpu_mut::<T>()?;
    let inner = inner.max(1);
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
