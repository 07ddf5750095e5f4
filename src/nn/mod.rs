//! Models: parameters, modules, the TSM-ResNet encoder, later the G-TAD head.

pub mod normalization;

pub use normalization::Normalization;
