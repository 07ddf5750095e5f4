//! The classification head of the ACP stage (action-classification pre-training of the encoder):
//! a pooled snippet feature [N, C] → Linear → class logits [N, K], trained with the softmax
//! cross-entropy of `loss::classification`. The same head gives video-level class scores — the
//! softmax of the mean of a video's snippet logits — which `post::classifier` writes in the CUHK /
//! G-TAD layout for the detection fusion.
//!
//! The caller picks the parameter prefix (`fc` for torchvision, as the checkpoint converter maps
//! TSM's `new_fc`). PyTorch's default Linear initialisation.

use super::builder::Builder;
use super::layers::{Linear, Module};
use super::param::Param;
use crate::autograd::Var;
use crate::tensor::Tensor;
use crate::{Error, Result};

#[derive(Clone)]
pub struct Classifier {
    fc: Linear,
    classes: usize,
}

impl Classifier {
    pub fn new(b: &Builder, in_features: usize, classes: usize) -> Result<Classifier> {
        if in_features == 0 || classes == 0 {
            return Err(Error::Config {
                flag: "classifier".into(),
                msg: format!("{in_features} features and {classes} classes must be positive"),
            });
        }
        Ok(Classifier { fc: Linear::new(b, in_features, classes, true)?, classes })
    }

    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Class logits [N, K] of pooled snippet features [N, C].
    pub fn forward(&self, features: &Var) -> Result<Var> {
        self.fc.forward(features)
    }
}

impl Module for Classifier {
    fn params(&self) -> Vec<Param> {
        self.fc.params()
    }
}

/// Video-level class scores from one video's snippet logits [S, K]: softmax of the mean over the
/// S snippets (computed in f64 on the host; a video's logits are a few KiB).
pub fn video_scores(snippet_logits: &Tensor) -> Result<Vec<f64>> {
    let [s, k] = snippet_logits.shape().dims_n::<2>("video_scores")?;
    if s == 0 || k == 0 {
        return Err(Error::shape("video_scores", format!("logits {} of an empty video", snippet_logits.shape())));
    }
    let v = snippet_logits.to_f64_vec()?;
    let mean: Vec<f64> = (0..k).map(|c| (0..s).map(|i| v[i * k + c]).sum::<f64>() / s as f64).collect();
    let max = mean.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exp: Vec<f64> = mean.iter().map(|m| (m - max).exp()).collect();
    let total: f64 = exp.iter().sum();
    if !total.is_finite() || total <= 0.0 {
        return Err(Error::data("video_scores", "non-finite logits"));
    }
    Ok(exp.into_iter().map(|e| e / total).collect())
}
