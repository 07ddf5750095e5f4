//! Training: the step and everything around it.
//!
//! - `step.rs` — one training step, batch → encoder → head → loss → backward → optimizer;
//! - `spec.rs` — `StepSpec`, the one description of a step (also run on Meta for memory);
//! - `model.rs` — the TAL head and ACP classifier around the encoder, and their weight files;
//! - `optim.rs` (SGD, Adam), `optimizer.rs` (parameter groups), `schedule.rs` (rate schedules);
//! - `config.rs` — stage configurations (TOML over defaults, flags over both);
//! - `checkpoint.rs`, `metrics.rs`, `observer.rs`, `runner.rs` — exact resume, logs, progress,
//!   the loop every stage shares;
//! - `stages/` — `acp` and `head`; `extract.rs`, `infer.rs` — features in, detections out;
//! - `presets.rs` — encoder and head presets, fidelities.

pub mod bench;
pub mod budget;
pub mod checkpoint;
pub mod config;
pub mod cost;
pub mod extract;
pub mod fit;
pub mod infer;
pub mod lofi;
pub mod metrics;
pub mod model;
pub mod observer;
pub mod optim;
pub mod optimizer;
pub mod presets;
pub mod rates;
pub mod runner;
pub mod schedule;
pub mod spec;
pub mod stages;
pub mod step;

pub use optim::{Adam, Sgd};
