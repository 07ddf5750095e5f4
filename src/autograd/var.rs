//! `Var`: a tensor that may take part in differentiation, and `record`, the one function every
//! differentiable op calls to put itself on the tape.

use super::tape::{self, BackwardFn, Gradients, VarId};
use crate::tensor::Tensor;
use crate::{Error, Result};

#[derive(Clone, Debug)]
pub struct Var {
    tensor: Tensor,
    id: Option<VarId>,
}

impl Var {
    /// A value gradients are not wanted for.
    pub fn constant(tensor: Tensor) -> Var {
        Var { tensor, id: None }
    }
    /// A fresh leaf whose gradient `backward` will report.
    pub fn leaf(tensor: Tensor) -> Var {
        Var { tensor, id: Some(VarId::fresh()) }
    }
    /// A leaf with a stable id (a parameter: the same id every step).
    pub fn with_id(tensor: Tensor, id: VarId) -> Var {
        Var { tensor, id: Some(id) }
    }

    pub fn tensor(&self) -> &Tensor {
        &self.tensor
    }
    pub fn into_tensor(self) -> Tensor {
        self.tensor
    }
    pub fn id(&self) -> Option<VarId> {
        self.id
    }
    pub fn requires_grad(&self) -> bool {
        self.id.is_some()
    }
    pub fn dims(&self) -> &[usize] {
        self.tensor.dims()
    }
    /// The same value, cut off from the tape.
    pub fn detach(&self) -> Var {
        Var::constant(self.tensor.clone())
    }

    /// Back-propagates d(self)/d(leaves) for a single-element `self` (a loss).
    pub fn backward(&self) -> Result<Gradients> {
        if self.tensor.numel() != 1 {
            return Err(Error::Autograd(format!("backward() needs a scalar, got shape {}", self.tensor.shape())));
        }
        let seed = super::primitives::ones_like(&self.tensor)?;
        self.backward_with(seed)
    }

    /// Back-propagates with an explicit upstream gradient: the gradients of Σ self·upstream.
    pub fn backward_with(&self, upstream: Tensor) -> Result<Gradients> {
        backward_many(vec![(self.clone(), upstream)])
    }
}

/// Gradients of Σ_k sum(out_k · upstream_k) — how the golden cases define their `grad.*`.
pub fn backward_many(seeds: Vec<(Var, Tensor)>) -> Result<Gradients> {
    let mut ids = Vec::with_capacity(seeds.len());
    for (v, g) in seeds {
        if v.tensor.shape() != g.shape() {
            return Err(Error::Autograd(format!("upstream {} for a value of shape {}", g.shape(), v.tensor.shape())));
        }
        if let Some(id) = v.id {
            ids.push((id, g));
        }
    }
    tape::backward_seeded(ids)
}

/// Records `output` as the result of `op` on `inputs`. The node is kept only when gradients are
/// enabled and at least one input needs one; otherwise `backward` (and everything it captured) is
/// dropped immediately, so ops can always pass their closure.
pub fn record(
    op: &'static str,
    inputs: &[&Var],
    output: Tensor,
    backward: impl FnOnce(&Tensor) -> Result<Vec<Option<Tensor>>> + 'static,
) -> Var {
    if !tape::grad_enabled() || inputs.iter().all(|v| !v.requires_grad()) {
        return Var::constant(output);
    }
    let id = VarId::fresh();
    let ids = inputs.iter().map(|v| v.id).collect();
    let bw: BackwardFn = Box::new(move |g| backward(g).map(tape::NodeGrads::inputs));
    tape::push_node(op, ids, id, bw);
    Var { tensor: output, id: Some(id) }
}
