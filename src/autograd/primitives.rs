//! The two tensor primitives the tape itself needs: the sum that accumulates the gradients of a
//! reused value, and the ones that seed `backward`. They allocate through the device's pool and run
//! the backend kernel directly (skipped on Meta), so autograd does not depend on the ops layer built
//! on top of it; the kernels are the ones `ops::elementwise` uses, so results are bit-identical.

use crate::backend::{launch, Binary};
use crate::tensor::Tensor;
use crate::{Error, Result};

/// a + b of two gradients of one value (same shape, device and dtype).
pub(crate) fn add(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    if a.shape() != b.shape() || a.dtype() != b.dtype() || a.device() != b.device() {
        return Err(Error::Autograd(format!(
            "gradients {} {} on {:?} and {} {} on {:?} cannot be added",
            a.shape(),
            a.dtype(),
            a.device(),
            b.shape(),
            b.dtype(),
            b.device()
        )));
    }
    let y = Tensor::empty(a.shape().clone(), a.dtype(), a.device())?;
    launch(a.device(), |be| be.binary_fwd(Binary::Add, a, b, &y))?;
    Ok(y)
}

/// A tensor of ones shaped like `t`.
pub(crate) fn ones_like(t: &Tensor) -> Result<Tensor> {
    let y = Tensor::empty(t.shape().clone(), t.dtype(), t.device())?;
    launch(t.device(), |be| be.fill(&y, 1.0))?;
    Ok(y)
}
