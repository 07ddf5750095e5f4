//! Align1D (G-TAD's RoIAlign-1D, SPEC §b.5): features x [B, C, L] sampled over rois [R, 3] =
//! (batch, start, end) in feature-index coordinates (feature i sits at coordinate i) into
//! y [R, C, bins], with adaptive sampling (grid = ceil(roi length / bins), the reference's ratio 0).
//! The rois are data (not differentiable); backward needs only them and the input shape, so the
//! large output is never saved. Kernel semantics and reference quirks: `backend/cpu/align.rs`.

use super::{check_same, empty_like};
use crate::autograd::{record, Var};
use crate::backend::launch;
use crate::tensor::{Shape, Tensor};
use crate::{Error, Result};

fn check(x: &Tensor, rois: &Tensor, bins: usize) -> Result<usize> {
    check_same("align1d", &[x, rois])?;
    let [_, _, l] = x.shape().dims_n::<3>("align1d")?;
    let [r, three] = rois.shape().dims_n::<2>("align1d")?;
    if three != 3 {
        return Err(Error::shape("align1d", format!("rois {} must be [R, 3] (batch, start, end)", rois.shape())));
    }
    if l == 0 || bins == 0 {
        return Err(Error::shape("align1d", format!("{bins} bins over features {}", x.shape())));
    }
    Ok(r)
}

pub fn align1d_fwd(x: &Tensor, rois: &Tensor, bins: usize) -> Result<Tensor> {
    let r = check(x, rois, bins)?;
    let y = empty_like(x, [r, x.dims()[1], bins], x.dtype())?;
    launch(x.device(), |be| be.align1d_fwd(x, rois, &y, bins))?;
    Ok(y)
}

pub fn align1d_bwd(dy: &Tensor, rois: &Tensor, x_shape: &Shape, bins: usize) -> Result<Tensor> {
    let dx = empty_like(dy, x_shape.clone(), dy.dtype())?;
    launch(dy.device(), |be| be.align1d_bwd(dy, rois, &dx, bins))?;
    Ok(dx)
}

/// Align1D of x over `rois` (same dtype and device as x) into `bins` bins.
pub fn align1d(x: &Var, rois: &Tensor, bins: usize) -> Result<Var> {
    let y = align1d_fwd(x.tensor(), rois, bins)?;
    let (x_shape, rois) = (x.tensor().shape().clone(), rois.clone());
    Ok(record("align1d", &[x], y, move |dy| Ok(vec![Some(align1d_bwd(dy, &rois, &x_shape, bins)?)])))
}
