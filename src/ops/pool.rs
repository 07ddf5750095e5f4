//! Pooling: max pool 2-D (gradient to the first maximum) and global average pool to 1×1.

use super::empty_like;
use crate::autograd::{record, Var};
use crate::backend::{launch, PoolGeom};
use crate::tensor::{DType, Tensor};
use crate::Result;

/// Max pool with a k×k window; returns y and the i64 argmax (flat h·W + w in each input plane).
pub fn maxpool2d_fwd(x: &Tensor, k: usize, stride: usize, pad: usize) -> Result<(Tensor, Tensor, PoolGeom)> {
    let [n, c, h, w] = x.shape().dims_n::<4>("maxpool2d")?;
    let g = PoolGeom::new(n * c, h, w, k, stride, pad)?;
    let y = empty_like(x, [n, c, g.ho, g.wo], x.dtype())?;
    let argmax = empty_like(x, [n, c, g.ho, g.wo], DType::I64)?;
    launch(x.device(), |be| be.maxpool2d_fwd(&g, x, &y, &argmax))?;
    Ok((y, argmax, g))
}

pub fn maxpool2d(x: &Var, k: usize, stride: usize, pad: usize) -> Result<Var> {
    let (y, argmax, g) = maxpool2d_fwd(x.tensor(), k, stride, pad)?;
    let in_shape = x.tensor().shape().clone();
    Ok(record("maxpool2d", &[x], y, move |dy| {
        let dx = empty_like(dy, in_shape, dy.dtype())?;
        launch(dy.device(), |be| be.maxpool2d_bwd(&g, dy, &argmax, &dx))?;
        Ok(vec![Some(dx)])
    }))
}

/// AdaptiveAvgPool2d(1) + flatten: [N, C, H, W] → [N, C].
pub fn global_avg_pool(x: &Var) -> Result<Var> {
    let [n, c, h, w] = x.tensor().shape().dims_n::<4>("global_avg_pool")?;
    let flat = super::shape::reshape(x, [n, c, h * w])?;
    super::shape::mean_axis(&flat, 2)
}
