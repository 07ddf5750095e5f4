//! lofi: temporal action localization with low-fidelity end-to-end encoder training.
//! See docs/architecture.md for the layer map; a layer uses only the layers below it.

pub mod data;
pub mod error;
pub mod eval;
pub mod fidelity;
pub mod jsonio;
pub mod nn;
pub mod post;

pub use error::{Error, Result};
