//! Data pipeline: the frame store (JPEG folders or `.npy` arrays) and its `ffmpeg` front end, the
//! snippet sampler that cuts a video into L snippets at any fidelity, G-TAD training targets, the
//! synthetic benchmark, and the prefetching loader that feeds training.
//!
//! Nothing here touches a device: frames leave as u8 plus the encoder preset's normalisation.

pub mod annotations;
pub mod atomic;
pub mod clips;
pub mod disk;
pub mod features;
pub mod frames;
pub mod labels;
pub mod loader;
pub mod npy;
pub mod prepare;
pub mod resize;
pub mod sampler;
pub mod segment_windows;
pub mod stream_rng;
pub mod synth;
