//! Post-processing of the G-TAD head's outputs into detections (SPEC §f).
//!
//! Relies on nothing but the standard library and serde.

pub mod detections;
