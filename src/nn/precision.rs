//! Weights in the activations' precision (the bf16 policy). Parameters stay f32 — the master
//! copy the optimizer updates, so an update smaller than half a bf16 ulp still moves the weight —
//! and a GEMM-fed weight (a conv or linear weight: rank ≥ 2) enters a bf16 op as a bf16 copy made
//! by a differentiable `cast`, whose gradient comes back in f32 (weight gradients accumulate in
//! f32, `DType::weight_grad`).
//!
//! A step makes each copy once (`with_weight_copies`), before its encoder calls: with k snippets
//! per call an encoder runs many calls per step, and a copy per call would keep one bf16 copy of
//! every weight alive per call until backward. BN's γ, β and statistics are never copied: the
//! policy keeps them f32 and the BN kernels take bf16 x with f32 parameters.

use std::cell::RefCell;
use std::collections::HashMap;

use super::param::Param;
use crate::autograd::{Var, VarId};
use crate::ops::shape;
use crate::tensor::DType;
use crate::Result;

thread_local! {
    /// The current step's copies: (dtype, parameter id → copy).
    static COPIES: RefCell<Option<(DType, HashMap<VarId, Var>)>> = const { RefCell::new(None) };
}

/// Whether `p` is a weight a GEMM consumes (conv and linear weights), the ones the policy copies.
fn is_gemm_weight(p: &Param) -> bool {
    p.kind() == super::param::ParamKind::Weight && p.value().rank() >= 2
}

/// Runs `f` with `dtype` copies of the GEMM weights among `params` made once, up front, for
/// every `weight_as` inside `f`. With `dtype` the parameters' own, `f` just runs.
pub fn with_weight_copies<R>(params: &[Param], dtype: DType, f: impl FnOnce() -> Result<R>) -> Result<R> {
    let mut copies = HashMap::new();
    for p in params.iter().filter(|p| is_gemm_weight(p) && p.value().dtype() != dtype) {
        copies.insert(p.id(), shape::cast(&p.var(), dtype)?);
    }
    if copies.is_empty() {
        return f();
    }
    let previous = COPIES.with(|c| c.borrow_mut().replace((dtype, copies)));
    // Restored whatever `f` returns, so an error cannot leave stale copies for the next step.
    struct Restore(Option<(DType, HashMap<VarId, Var>)>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            COPIES.with(|c| *c.borrow_mut() = previous);
        }
    }
    let _restore = Restore(previous);
    f()
}

/// The weight `p` as a Var of `dtype`: its own Var when the dtypes match, the step's copy when
/// `with_weight_copies` made one, else a fresh differentiable cast (inference, and a recompute
/// segment re-running in backward, after the step's copies are gone — the gradient then reaches
/// the parameter directly, the same sum).
pub fn weight_as(p: &Param, dtype: DType) -> Result<Var> {
    let v = p.var();
    if v.tensor().dtype() == dtype {
        return Ok(v);
    }
    let cached =
        COPIES.with(|c| c.borrow().as_ref().filter(|(d, _)| *d == dtype).and_then(|(_, m)| m.get(&p.id()).cloned()));
    match cached {
        Some(copy) => Ok(copy),
        None => shape::cast(&v, dtype),
    }
}
