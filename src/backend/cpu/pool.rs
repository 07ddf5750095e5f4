//! CPU max pooling (first maximum wins, −∞ padding) and its gradient routing.

use rayon::prelude::*;

use crate::backend::PoolGeom;
use crate::tensor::{Float, Tensor};
use crate::Result;

pub fn maxpool2d_fwd<T: Float>(g: &PoolGeom, x: &Tensor, y: &Tensor, argmax: &Tensor) -> Result<()> {
    let xv = x.cpu::<T>()?;
    let mut yv = y.cpu_mut::<T>()?;
    let mut av = argmax.cpu_mut::<i64>()?;
    let (hw_in, hw_out) = (g.h * g.w, g.ho * g.wo);
    yv.par_chunks_mut(hw_out).zip(av.par_chunks_mut(hw_out)).enumerate().for_each(|(p, (yp, ap))| {
        let plane = &xv[p * hw_in..(p + 1) * hw_in];
        for oy in 0..g.ho {
            for ox in 0..g.wo {
                let mut best = T::neg_infinity();
                let mut at = -1i64;
                for ky in 0..g.k {
                    let iy = (oy * g.stride + ky) as isize - g.pad as isize;
                    if iy < 0 || iy >= g.h as isize {
                        continue;
                    }
                    for kx in 0..g.k {
                        let ix = (ox * g.stride + kx) as isize - g.pad as isize;
                        if ix < 0 || ix >= g.w as isize {
                            continue;
                        }
                        let idx = iy as usize * g.w + ix as usize;
                        // strict '>' keeps the first maximum (and lets NaN never win, as PyTorch does not
                        // guarantee either way; inputs are finite in practice)
                        if plane[idx] > best || at < 0 {
                            best = plane[idx];
                            at = idx as i64;
                        }
                    }
                }
                yp[oy * g.wo + ox] = best;
                ap[oy * g.wo + ox] = at;
            }
        }
    });
    Ok(())
}

pub fn maxpool2d_bwd<T: Float>(g: &PoolGeom, dy: &Tensor, argmax: &Tensor, dx: &Tensor) -> Result<()> {
    let dyv = dy.cpu::<T>()?;
    let av = argmax.cpu::<i64>()?;
    let mut dxv = dx.cpu_mut::<T>()?;
    let (hw_in, hw_out) = (g.h * g.w, g.ho * g.wo);
    dxv.par_chunks_mut(hw_in).enumerate().for_each(|(p, dxp)| {
        dxp.iter_mut().for_each(|v| *v = T::zero());
        for o in 0..hw_out {
            let at = av[p * hw_out + o];
            if at >= 0 && (at as usize) < hw_in {
                dxp[at as usize] += dyv[p * hw_out + o];
            }
        }
    });
    Ok(())
}
