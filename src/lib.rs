//! lofi: temporal action localization with low-fidelity end-to-end encoder training.
//! See docs/architecture.md for the layer map; a layer uses only the layers below it.

pub mod data;
pub mod error;
pub mod fidelity;
pub mod nn;

pub use error::{Error, Result};
