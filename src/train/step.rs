//! One training step, the same code on every device (CPU, CUDA, and Meta for the memory dry run):
//!
//! batch → frames to the device → encoder (in chunks of snippets, optionally recomputed) → snippet
//! features → head → loss → backward → optimizer → metrics.
//!
//! The step calls ops and modules only, never a backend. A stage supplies the batch (frames of
//! clips or videos, or precomputed features) and its targets; `StepSpec` (spec.rs) describes the
//! step so that the planner can build and run exactly this step on the Meta device.

use std::time::Instant;

use crate::autograd::{no_grad, Var};
use crate::loss::{classification_loss, RegDraws};
use crate::nn::precision::with_weight_copies;
use crate::nn::Module;
use crate::ops::shape;
use crate::rng::Seeds;
use crate::tensor::{DType, Device, Tensor};
use crate::train::model::{tal_loss, Head, LossTerms, Model, TalTargets};
use crate::train::optimizer::Optimizer;
use crate::{Error, Result};

/// What enters the model.
pub enum StepInput {
    /// u8 frames [samples · snippets · T, H, W, 3] (host or device).
    Frames(Tensor),
    /// f32 snippet features [samples, C, L].
    Features(Tensor),
}

/// What the loss compares against.
pub enum StepTargets {
    /// One class per sample (ACP).
    Classes(Vec<usize>),
    Tal(TalTargets),
}

pub struct StepBatch {
    pub input: StepInput,
    pub targets: StepTargets,
    /// Samples (clips or videos) in the batch.
    pub samples: usize,
    /// Snippets per sample (1 for a clip).
    pub snippets: usize,
    /// The fidelity the frames were sampled at (`None` for features).
    pub fidelity: Option<crate::fidelity::Fidelity>,
}

/// Where a step sits in its run.
pub struct StepContext<'a> {
    pub stage: &'a str,
    /// Global optimizer step (0-based).
    pub step: u64,
    pub seeds: Seeds,
    /// Schedule factor of every group's base rate.
    pub lr_factor: f64,
    /// Weight of the snippet-class term of the TAL loss.
    pub snippet_weight: f64,
    /// Snippets per encoder call, and which activations are rebuilt in backward.
    pub snippets_per_call: usize,
    pub recompute: crate::nn::Recompute,
    /// fp32, or the bf16 policy for the encoder (`spec::Precision`).
    pub precision: crate::train::spec::Precision,
    pub device: &'a Device,
}

/// What one step measured.
#[derive(Debug, Clone)]
pub struct StepMetrics {
    /// (term, value), `total` first; empty on Meta.
    pub losses: Vec<(&'static str, f64)>,
    pub samples: usize,
    /// Frames through the encoder (0 for a head-only step).
    pub frames: usize,
    pub seconds: f64,
    /// The device pool's high-water mark during the step.
    pub peak_bytes: usize,
}

/// Runs one step: forward, loss, backward, update.
pub fn train_step(model: &Model, opt: &mut Optimizer, batch: &StepBatch, ctx: &StepContext) -> Result<StepMetrics> {
    let started = Instant::now();
    ctx.device.pool().reset_peak();
    let (features, frames) = snippet_features(model, &batch.input, ctx)?;
    let loss = match (&model.head, &batch.targets) {
        (Head::Classifier(c), StepTargets::Classes(ids)) => {
            let ce = classification_loss(&c.forward(&features)?, ids)?;
            LossTerms { total: ce.clone(), terms: vec![("total", ce)] }
        }
        (Head::Tal(h), StepTargets::Tal(t)) => {
            let x = video_major(&features, batch.samples, batch.snippets)?;
            let draws = RegDraws::sample(&mut ctx.seeds.stream("loss").child(ctx.step), t.gtad.iou_map.len());
            tal_loss(&h.forward(&x)?, t, &draws, ctx.snippet_weight)?
        }
        _ => return Err(Error::invalid("train_step", "the batch's targets do not fit the model's head")),
    };
    // A non-finite loss stops the run before it can reach the weights.
    let losses = if ctx.device.is_meta() { Vec::new() } else { finite_losses(&loss, ctx)? };
    let grads = loss.total.backward()?;
    opt.step(&grads, ctx.lr_factor)?;
    Ok(StepMetrics {
        losses,
        samples: batch.samples,
        frames,
        seconds: started.elapsed().as_secs_f64(),
        peak_bytes: ctx.device.pool().peak(),
    })
}

/// Snippet features [samples · snippets, C] of frames (through the encoder), or the given
/// features [samples, C, L] as a constant; also the number of frames encoded.
fn snippet_features(model: &Model, input: &StepInput, ctx: &StepContext) -> Result<(Var, usize)> {
    match input {
        StepInput::Frames(frames) => {
            let encoder =
                model.encoder.as_ref().ok_or_else(|| Error::invalid("train_step", "frames but no encoder"))?;
            let dtype = ctx.precision.activation_dtype();
            let x = encoder.prepare_frames(&frames.to_device(ctx.device)?, dtype)?;
            let n = frames.dims().first().copied().unwrap_or(0);
            let features = with_weight_copies(&encoder.params(), dtype, || {
                encoder.forward_chunked(&x, ctx.snippets_per_call, ctx.recompute)
            })?;
            // The heads run in f32 (spec::Precision); the cast's gradient brings dL/dfeatures back
            // to the encoder's dtype.
            Ok((shape::cast(&features, DType::F32)?, n))
        }
        StepInput::Features(f) => Ok((Var::constant(f.to_device(ctx.device)?), 0)),
    }
}

/// Encoder output [B·L, C] → the head's [B, C, L]; features already [B, C, L] pass through.
pub fn video_major(features: &Var, samples: usize, snippets: usize) -> Result<Var> {
    match features.dims() {
        [_, _, _] => Ok(features.clone()),
        &[n, c] if n == samples * snippets => {
            shape::permute(&shape::reshape(features, [samples, snippets, c])?, &[0, 2, 1])
        }
        other => {
            Err(Error::shape("train_step", format!("features {other:?} for {samples} samples × {snippets} snippets")))
        }
    }
}

/// The loss terms as numbers, or an error naming the stage, step and the first non-finite term.
fn finite_losses(loss: &LossTerms, ctx: &StepContext) -> Result<Vec<(&'static str, f64)>> {
    let mut out = Vec::with_capacity(loss.terms.len());
    for (name, v) in &loss.terms {
        let value = no_grad(|| v.tensor().to_f64_vec())?.first().copied().unwrap_or(f64::NAN);
        if !value.is_finite() {
            return Err(Error::data(
                format!("stage {}, step {}", ctx.stage, ctx.step),
                format!("loss term {name} is {value}; stopping (the last checkpoint is intact)"),
            ));
        }
        out.push((*name, value));
    }
    Ok(out)
}
