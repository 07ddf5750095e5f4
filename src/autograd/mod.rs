//! Reverse-mode automatic differentiation: the tape, values (`Var`), recompute segments and the
//! f64 gradient checker used by the op tests.

pub mod gradcheck;
mod primitives;
mod recompute;
mod tape;
mod var;

pub use recompute::recompute;
pub use tape::{
    backward_seeded, clear_tape, grad_enabled, is_recomputing, no_grad, tape_len, with_grad_mode, Gradients, NodeGrads,
    VarId,
};
pub use var::{backward_many, record, Var};
