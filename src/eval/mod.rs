//! ActivityNet detection evaluation (mAP at tIoU thresholds), one job per file: `tiou` (segment
//! overlap), `matching` (greedy ranked matching), `average_precision` (VOC interpolation),
//! `thresholds` (defaults and `--tiou` syntax) and `activitynet` (subset classes, prediction
//! screening, the whole evaluation). See docs/eval.md for the semantics.
//!
//! Relies on `data::annotations` (ground truth) and `post::detections` (result files). It does not
//! read files or print; the CLI does.

pub mod activitynet;
pub mod average_precision;
pub mod matching;
pub mod thresholds;
pub mod tiou;

pub use activitynet::{evaluate, Evaluation, PredictionCounts};
pub use thresholds::{default_thresholds, parse_thresholds};
