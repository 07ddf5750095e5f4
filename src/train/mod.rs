//! Training: optimizers (later: schedules, checkpoints, the LoFi stages).

pub mod optim;

pub use optim::{Adam, Sgd};
