//! Post-processing of the G-TAD head's outputs into ActivityNet detections (SPEC §f), one step
//! per file: `boundary` (candidate starts and ends), `proposals` (from candidates and the D×L
//! map), `soft_nms` (Gaussian soft-NMS), `classifier` (video-level class scores, CUHK layout),
//! `fusion` (top-k class fusion, seconds) and `detections` (the result file).
//!
//! Reference quirks are kept by default and marked where implemented; the OpenTAD proposal variant
//! and the soft-NMS fix are options. Plain Rust over slices: it relies on no tensor code and does
//! not run the network.

pub mod boundary;
pub mod classifier;
pub mod detections;
pub mod fusion;
pub mod proposals;
pub mod soft_nms;

pub use boundary::ProposalStyle;
pub use proposals::{generate_proposals, Proposal, Proposals};
pub use soft_nms::{Pick, SoftNms};
