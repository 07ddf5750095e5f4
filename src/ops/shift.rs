//! TSM temporal shift (SPEC §a): x is (N·T, C, H, W); fold = C // 8 channels read the next frame,
//! the next fold the previous one, zero padding at the snippet ends. Shifts never cross snippets.

use super::empty_like;
use crate::autograd::{record, Var};
use crate::backend::{launch, ShiftGeom};
use crate::tensor::Tensor;
use crate::Result;

pub fn temporal_shift_fwd(x: &Tensor, frames: usize) -> Result<Tensor> {
    let g = ShiftGeom::new(x.shape().dims_n::<4>("temporal_shift")?, frames)?;
    let y = empty_like(x, x.shape().clone(), x.dtype())?;
    launch(x.device(), |be| be.shift_fwd(&g, x, &y))?;
    Ok(y)
}

pub fn temporal_shift_bwd(dy: &Tensor, frames: usize) -> Result<Tensor> {
    let g = ShiftGeom::new(dy.shape().dims_n::<4>("temporal_shift")?, frames)?;
    let dx = empty_like(dy, dy.shape().clone(), dy.dtype())?;
    launch(dy.device(), |be| be.shift_bwd(&g, dy, &dx))?;
    Ok(dx)
}

pub fn temporal_shift(x: &Var, frames: usize) -> Result<Var> {
    let y = temporal_shift_fwd(x.tensor(), frames)?;
    Ok(record("temporal_shift", &[x], y, move |dy| Ok(vec![Some(temporal_shift_bwd(dy, frames)?)])))
}
