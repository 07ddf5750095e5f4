//! Differentiable ops. Each family file has tensor-level `*_fwd` / `*_bwd` functions (allocate the
//! outputs and workspaces through the pool, then launch the backend kernel — skipped on Meta) and a
//! `Var`-level function that records its backward on the tape, saving only what backward needs.
//! Files mirror `kernels/*.cu` and `backend/cpu/*.rs`.

pub mod align;
pub mod conv;
pub mod cost;
pub mod elementwise;
pub mod graph;
pub mod loss;
pub mod matmul;
pub mod norm;
pub mod pool;
pub mod shape;
pub mod shift;

use crate::tensor::{DType, Shape, Tensor};
use crate::{Error, Result};

/// A new tensor on `like`'s device for a kernel to overwrite entirely (`Tensor::empty`).
pub(crate) fn empty_like(like: &Tensor, shape: impl Into<Shape>, dtype: DType) -> Result<Tensor> {
    Tensor::empty(shape, dtype, like.device())
}

/// Errors unless all tensors share device (and pool); dtypes may differ (the bf16 policy's
/// mixed ops: bf16 activations with f32 parameters and statistics).
pub(crate) fn check_device(op: &'static str, ts: &[&Tensor]) -> Result<()> {
    if let Some((first, rest)) = ts.split_first() {
        if let Some(t) = rest.iter().find(|t| t.device() != first.device()) {
            return Err(Error::DeviceMismatch {
                op,
                a: format!("{:?}", first.device()),
                b: format!("{:?}", t.device()),
            });
        }
    }
    Ok(())
}

/// Errors unless all tensors share device (and pool) and dtype.
pub(crate) fn check_same(op: &'static str, ts: &[&Tensor]) -> Result<()> {
    if let Some((first, rest)) = ts.split_first() {
        for t in rest {
            if t.device() != first.device() {
                return Err(Error::DeviceMismatch {
                    op,
                    a: format!("{:?}", first.device()),
                    b: format!("{:?}", t.device()),
                });
            }
            if t.dtype() != first.dtype() {
                return Err(Error::DType { op, got: t.dtype().to_string(), expected: first.dtype().to_string() });
            }
        }
    }
    Ok(())
}
