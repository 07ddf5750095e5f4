//! Training losses: G-TAD's boundary and proposal losses (`gtad`, SPEC §d) and the softmax
//! cross-entropy of the ACP classification stage (`classification`). Targets arrive as host data
//! (the loader builds them on the CPU); predictions stay on their device.

pub mod classification;
pub mod gtad;

pub use classification::classification_loss;
pub use gtad::{gtad_loss, GtadLoss, GtadTargets, RegDraws};

use crate::tensor::{DType, Shape, Tensor};
use crate::Result;

/// Host values as a constant tensor of `like`'s dtype on its device (on Meta: accounted only).
fn constant(values: &[f32], shape: impl Into<Shape>, like: &Tensor) -> Result<Tensor> {
    let t = Tensor::from_slice(values, shape, like.device())?;
    if like.dtype() == DType::F32 {
        Ok(t)
    } else {
        crate::ops::shape::cast_fwd(&t, like.dtype())
    }
}
