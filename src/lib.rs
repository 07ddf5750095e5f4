//! lofi: temporal action localization with low-fidelity end-to-end encoder training.
//! See docs/architecture.md for the layer map; a layer uses only the layers below it.

pub mod autograd;
pub mod backend;
pub mod data;
pub mod error;
pub mod eval;
pub mod fidelity;
pub mod jsonio;
pub mod loss;
pub mod memory;
pub mod nn;
pub mod normalization;
pub mod ops;
pub mod pipeline;
pub mod plan;
pub mod post;
pub mod rng;
pub mod tensor;
pub mod train;

pub use error::{Error, Result};
pub use tensor::{DType, Device, DeviceKind, Shape, Tensor};
