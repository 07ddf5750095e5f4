//! The tape: every differentiable op run with gradients enabled appends a `Node` holding its
//! backward closure (which owns exactly the tensors that backward needs). `backward` walks the nodes
//! once in reverse, accumulating gradients of reused values with `+`, and drops each node — and so
//! each saved tensor — right after its backward has run.
//!
//! The tape is thread-local and a stack of frames: a recompute segment runs its backward on a fresh
//! frame (see `recompute.rs`). Parameters are leaves: their ids are never the output of a node, so
//! their gradients are what is left in the map at the end.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::tensor::Tensor;
use crate::{Error, Result};

/// Identity of a value that takes part in differentiation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VarId(u64);

impl VarId {
    pub fn fresh() -> VarId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        VarId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// What a backward closure returns: one optional gradient per recorded input, plus gradients of
/// leaves that were not inputs (a recompute segment's parameters).
#[derive(Default)]
pub struct NodeGrads {
    pub inputs: Vec<Option<Tensor>>,
    pub leaves: Vec<(VarId, Tensor)>,
}

impl NodeGrads {
    pub fn inputs(grads: Vec<Option<Tensor>>) -> NodeGrads {
        NodeGrads { inputs: grads, leaves: Vec::new() }
    }
}

pub type BackwardFn = Box<dyn FnOnce(&Tensor) -> Result<NodeGrads>>;

struct Node {
    op: &'static str,
    inputs: Vec<Option<VarId>>,
    output: VarId,
    backward: BackwardFn,
}

#[derive(Default)]
struct Frame {
    nodes: Vec<Node>,
    recomputing: bool,
}

thread_local! {
    static FRAMES: RefCell<Vec<Frame>> = RefCell::new(vec![Frame::default()]);
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
}

pub fn grad_enabled() -> bool {
    GRAD_ENABLED.with(|g| g.get())
}

/// Runs `f` with gradient recording switched to `enabled`, restoring the previous mode afterwards
/// (also when `f` returns early with an error).
pub fn with_grad_mode<R>(enabled: bool, f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            GRAD_ENABLED.with(|g| g.set(self.0));
        }
    }
    let _restore = Restore(GRAD_ENABLED.with(|g| g.replace(enabled)));
    f()
}

/// Runs `f` without recording anything: no node, no saved tensor.
pub fn no_grad<R>(f: impl FnOnce() -> R) -> R {
    with_grad_mode(false, f)
}

/// True while a recompute segment is re-running its forward inside backward. Ops with side effects
/// (BN running statistics) skip them then, so each happens exactly once per step.
pub fn is_recomputing() -> bool {
    FRAMES.with(|f| f.borrow().last().is_some_and(|fr| fr.recomputing))
}

/// Number of nodes on the current frame (for tests and memory reports).
pub fn tape_len() -> usize {
    FRAMES.with(|f| f.borrow().last().map_or(0, |fr| fr.nodes.len()))
}

/// Drops every recorded node of the current frame (e.g. after an evaluation forward).
pub fn clear_tape() {
    let nodes = FRAMES.with(|f| f.borrow_mut().last_mut().map(|fr| std::mem::take(&mut fr.nodes)));
    drop(nodes);
}

pub(crate) fn push_node(op: &'static str, inputs: Vec<Option<VarId>>, output: VarId, backward: BackwardFn) {
    FRAMES.with(|f| {
        if let Some(fr) = f.borrow_mut().last_mut() {
            fr.nodes.push(Node { op, inputs, output, backward });
        }
    });
}

pub(crate) fn push_frame(recomputing: bool) {
    FRAMES.with(|f| f.borrow_mut().push(Frame { nodes: Vec::new(), recomputing }));
}

pub(crate) fn pop_frame() {
    let frame = FRAMES.with(|f| {
        let mut frames = f.borrow_mut();
        // The base frame stays; popping it would leave the thread without a tape.
        if frames.len() > 1 {
            frames.pop()
        } else {
            None
        }
    });
    drop(frame);
}

/// Gradients by value id: the result of `backward`.
#[derive(Default)]
pub struct Gradients(HashMap<VarId, Tensor>);

impl Gradients {
    pub fn get(&self, id: VarId) -> Option<&Tensor> {
        self.0.get(&id)
    }
    pub fn remove(&mut self, id: VarId) -> Option<Tensor> {
        self.0.remove(&id)
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub(crate) fn into_map(self) -> HashMap<VarId, Tensor> {
        self.0
    }

    fn accumulate(&mut self, op: &'static str, id: VarId, grad: Tensor) -> Result<()> {
        match self.0.remove(&id) {
            None => {
                self.0.insert(id, grad);
            }
            Some(prev) => {
                if prev.shape() != grad.shape() {
                    return Err(Error::Autograd(format!(
                        "{op}: gradient of shape {} added to one of shape {}",
                        grad.shape(),
                        prev.shape()
                    )));
                }
                self.0.insert(id, super::primitives::add(&prev, &grad)?);
            }
        }
        Ok(())
    }
}

/// Back-propagates from `seeds` (value id, gradient of that value) through the current frame,
/// consuming it. Every node is visited once, in reverse order of recording.
pub fn backward_seeded(seeds: Vec<(VarId, Tensor)>) -> Result<Gradients> {
    let nodes = FRAMES.with(|f| f.borrow_mut().last_mut().map(|fr| std::mem::take(&mut fr.nodes)).unwrap_or_default());
    let mut grads = Gradients::default();
    for (id, g) in seeds {
        grads.accumulate("seed", id, g)?;
    }
    for node in nodes.into_iter().rev() {
        let Node { op, inputs, output, backward } = node;
        let Some(g) = grads.remove(output) else { continue };
        let node_grads = backward(&g)?;
        if node_grads.inputs.len() != inputs.len() {
            return Err(Error::Autograd(format!(
                "{op}: backward returned {} gradients for {} inputs",
                node_grads.inputs.len(),
                inputs.len()
            )));
        }
        for (id, gi) in inputs.into_iter().zip(node_grads.inputs) {
            if let (Some(id), Some(gi)) = (id, gi) {
                grads.accumulate(op, id, gi)?;
            }
        }
        for (id, gi) in node_grads.leaves {
            grads.accumulate(op, id, gi)?;
        }
    }
    Ok(grads)
}
