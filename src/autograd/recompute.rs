//! Recompute segments (activation checkpointing): run a closure without saving its activations and
//! run it again during backward to get them back. Trades one extra forward for the memory of every
//! activation inside the segment; TSM shifts never cross snippets, so a snippet chunk of the encoder
//! is an exact segment.
//!
//! The closure must be deterministic (the CPU backend is) and own what it uses (`'static`): modules
//! are cheap `Arc` handles, so clone them into it. Side effects that must happen once per step (BN
//! running statistics) check `is_recomputing()` and are skipped in the second run.

use super::tape::{self, NodeGrads, VarId};
use super::var::Var;
use crate::Result;

/// Runs `f(inputs)` as a recompute segment and returns its output.
pub fn recompute(inputs: &[Var], f: impl Fn(&[Var]) -> Result<Var> + 'static) -> Result<Var> {
    let detached: Vec<Var> = inputs.iter().map(Var::detach).collect();
    let out = tape::no_grad(|| f(&detached))?;
    if !tape::grad_enabled() {
        return Ok(out);
    }
    let wants: Vec<bool> = inputs.iter().map(Var::requires_grad).collect();
    let saved: Vec<_> = inputs.iter().map(|v| v.tensor().clone()).collect();
    let out_id = VarId::fresh();
    let backward = move |g: &crate::Tensor| -> Result<NodeGrads> {
        tape::push_frame(true);
        let result = tape::with_grad_mode(true, || -> Result<NodeGrads> {
            let fresh: Vec<Var> = saved
                .iter()
                .zip(&wants)
                .map(|(t, &w)| if w { Var::leaf(t.clone()) } else { Var::constant(t.clone()) })
                .collect();
            let y = f(&fresh)?;
            let mut grads = match y.id() {
                Some(id) => tape::backward_seeded(vec![(id, g.clone())])?.into_map(),
                None => Default::default(),
            };
            let input_grads = fresh.iter().map(|v| v.id().and_then(|id| grads.remove(&id))).collect();
            let mut leaves: Vec<(VarId, crate::Tensor)> = grads.into_iter().collect();
            // A fixed order keeps the outer accumulation order independent of hash-map iteration.
            leaves.sort_by_key(|(id, _)| *id);
            Ok(NodeGrads { inputs: input_grads, leaves })
        });
        tape::pop_frame();
        result
    };
    tape::push_node("recompute", inputs.iter().map(Var::id).collect(), out_id, Box::new(backward));
    Ok(Var::with_id(out.into_tensor(), out_id))
}
