//! CPU temporal shift (TSM, SPEC §a). Within each snippet of T frames: channels [0, fold) read frame
//! t+1, channels [fold, 2·fold) read frame t−1, zero at the snippet ends; the rest are copied.
//! Backward is the adjoint: gradients move the other way, again with zeros at the ends.

use rayon::prelude::*;

use crate::backend::ShiftGeom;
use crate::tensor::{Float, Tensor};
use crate::Result;

/// Source frame offset of channel `c` in the forward direction (+1 = the next frame).
fn forward_offset(g: &ShiftGeom, c: usize) -> isize {
    if c < g.fold {
        1
    } else if c < 2 * g.fold {
        -1
    } else {
        0
    }
}

/// y[frame t, channel c] = x[frame t + dir·offset(c)] or 0 outside the snippet.
fn shift<T: Float>(g: &ShiftGeom, src: &Tensor, dst: &Tensor, dir: isize) -> Result<()> {
    let sv = src.cpu::<T>()?;
    let mut dv = dst.cpu_mut::<T>()?;
    let plane = g.hw.max(1);
    let frame_len = g.channels * plane;
    dv.par_chunks_mut(frame_len.max(1)).enumerate().for_each(|(row, out)| {
        let (snip, t) = (row / g.frames, row % g.frames);
        for c in 0..g.channels {
            let from = t as isize + dir * forward_offset(g, c);
            let dstp = &mut out[c * plane..(c + 1) * plane];
            if from < 0 || from >= g.frames as isize {
                dstp.iter_mut().for_each(|v| *v = T::zero());
            } else {
                let base = ((snip * g.frames + from as usize) * g.channels + c) * plane;
                dstp.copy_from_slice(&sv[base..base + plane]);
            }
        }
    });
    Ok(())
}

pub fn shift_fwd<T: Float>(g: &ShiftGeom, x: &Tensor, y: &Tensor) -> Result<()> {
    shift::<T>(g, x, y, 1)
}

pub fn shift_bwd<T: Float>(g: &ShiftGeom, dy: &Tensor, dx: &Tensor) -> Result<()> {
    shift::<T>(g, dy, dx, -1)
}
