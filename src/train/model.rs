//! The models the stages train, and their weight files.
//!
//! - The **TAL head**: the G-TAD network plus a snippet classifier — a 1×1 Conv1d on G-TAD's
//!   `base` features giving class logits per snippet, whose mean over a video is the head's own
//!   video-level class score (no external classifier) — behind a fixed per-channel
//!   standardisation of the input features (the training split's mean and std, a depthwise 1×1
//!   conv with constant weights, so gradients still reach an encoder in end-to-end training).
//! - The **ACP classifier**: `nn::Classifier` on pooled snippet features.
//! - Weight files: the encoder (torchvision names, plus the classifier as `fc.*` after ACP) and the
//!   head (G-TAD names, `snippet_classifier.*`, `feature_norm.scale/shift`), each a safetensors file
//!   whose `__metadata__` records the preset, the feature width and the class names, so
//!   `extract` and `infer` rebuild the right architecture from the file alone.

use std::collections::BTreeMap;
use std::path::Path;

use crate::autograd::Var;
use crate::loss::{gtad_loss, GtadTargets, RegDraws};
use crate::nn::gtad::{Gtad, GtadOutput};
use crate::nn::weights::{self, LoadPolicy};
use crate::nn::{Builder, Classifier, Conv1d, Module, Param, ParamKind, ResNetTsm};
use crate::ops::{conv, loss, shape};
use crate::rng::Seeds;
use crate::tensor::{DType, Device, Tensor};
use crate::train::presets;
use crate::{Error, Result};

/// Per-channel `x·scale + shift` = (x − mean)/std of features [B, C, L].
#[derive(Clone)]
pub struct FeatureNorm {
    pub scale: Param,
    pub shift: Param,
}

impl FeatureNorm {
    /// The identity, until `set_stats` gives it the training split's statistics.
    pub fn new(b: &Builder, channels: usize) -> Result<FeatureNorm> {
        let b = b.pp("feature_norm");
        Ok(FeatureNorm { scale: b.buffer("scale", &[channels], 1.0)?, shift: b.buffer("shift", &[channels], 0.0)? })
    }

    /// Sets the affine from per-channel means and standard deviations (a deviation below 1e-6 is
    /// taken as 1e-6: a constant channel then stays finite).
    pub fn set_stats(&self, mean: &[f64], std: &[f64]) -> Result<()> {
        let c = self.scale.value().numel();
        if mean.len() != c || std.len() != c {
            return Err(Error::shape(
                "feature_norm",
                format!("{} means, {} deviations for {c} channels", mean.len(), std.len()),
            ));
        }
        let scale: Vec<f32> = std.iter().map(|s| (1.0 / s.max(1e-6)) as f32).collect();
        let shift: Vec<f32> = mean.iter().zip(&scale).map(|(m, s)| (-m * *s as f64) as f32).collect();
        let dev = self.scale.value().device().clone();
        self.scale.set(Tensor::from_vec(scale, [c], &dev)?)?;
        self.shift.set(Tensor::from_vec(shift, [c], &dev)?)
    }

    pub fn forward(&self, x: &Var) -> Result<Var> {
        let scale = self.scale.value();
        let c = scale.numel();
        let w = Var::constant(scale.reshape([c, 1, 1])?);
        conv::conv1d(x, &w, Some(&Var::constant(self.shift.value())), 1, 0, c)
    }
}

impl Module for FeatureNorm {
    fn params(&self) -> Vec<Param> {
        vec![self.scale.clone(), self.shift.clone()]
    }
}

/// G-TAD + snippet classifier + input standardisation.
#[derive(Clone)]
pub struct TalHead {
    pub preset: String,
    pub classes: Vec<String>,
    pub in_channels: usize,
    pub norm: FeatureNorm,
    pub gtad: Gtad,
    pub snippet_classifier: Conv1d,
}

/// What the TAL head produces for a batch.
pub struct TalOutput {
    pub gtad: GtadOutput,
    /// [B, K, L].
    pub snippet_logits: Var,
}

impl TalHead {
    pub fn new(b: &Builder, preset: &str, in_channels: usize, classes: Vec<String>) -> Result<TalHead> {
        if classes.is_empty() {
            return Err(Error::Config { flag: "classes".into(), msg: "the head needs at least one class".into() });
        }
        let cfg = presets::head_config(preset, in_channels)?;
        let gtad = Gtad::new(b, &cfg)?;
        let snippet_classifier =
            Conv1d::new(&b.pp("snippet_classifier"), cfg.h_dim_1d, classes.len(), 1, 1, 0, 1, true)?;
        Ok(TalHead {
            preset: preset.to_string(),
            classes,
            in_channels,
            norm: FeatureNorm::new(b, in_channels)?,
            gtad,
            snippet_classifier,
        })
    }

    /// The head on raw snippet features x [B, C, L].
    pub fn forward(&self, x: &Var) -> Result<TalOutput> {
        let gtad = self.gtad.forward(&self.norm.forward(x)?)?;
        let snippet_logits = self.snippet_classifier.forward(&gtad.base)?;
        Ok(TalOutput { gtad, snippet_logits })
    }
}

impl Module for TalHead {
    fn params(&self) -> Vec<Param> {
        let mut p = self.gtad.params();
        p.extend(self.snippet_classifier.params());
        p.extend(self.norm.params());
        p
    }
}

/// Targets of a TAL batch: G-TAD's, and the class of every snippet cell covered more than half by
/// a ground-truth segment (`None` elsewhere), indexed b·L + s.
pub struct TalTargets {
    pub gtad: GtadTargets,
    pub snippet_classes: Vec<Option<usize>>,
}

/// Named loss terms of one step; `total` is what backward starts from.
pub struct LossTerms {
    pub total: Var,
    pub terms: Vec<(&'static str, Var)>,
}

/// G-TAD's loss + `snippet_weight` × the mean cross-entropy of the covered snippets' classes (the
/// term is left out when no snippet of the batch is covered, or when the weight is 0).
pub fn tal_loss(out: &TalOutput, t: &TalTargets, draws: &RegDraws, snippet_weight: f64) -> Result<LossTerms> {
    let g = gtad_loss(&out.gtad.confidence_map, &out.gtad.start, &out.gtad.end, &t.gtad, draws)?;
    let mut terms = vec![("tem", g.tem), ("pem_reg", g.reg), ("pem_cls", g.cls)];
    let mut total = g.total;
    let covered: Vec<(i64, i64)> =
        t.snippet_classes.iter().enumerate().filter_map(|(i, c)| c.map(|c| (i as i64, c as i64))).collect();
    if snippet_weight != 0.0 && !covered.is_empty() {
        let [b, k, l] = out.snippet_logits.tensor().shape().dims_n::<3>("tal_loss")?;
        if t.snippet_classes.len() != b * l {
            return Err(Error::shape(
                "tal_loss",
                format!("{} snippet targets for B = {b}, L = {l}", t.snippet_classes.len()),
            ));
        }
        let dev = out.snippet_logits.tensor().device();
        let rows = Tensor::from_vec(covered.iter().map(|c| c.0).collect::<Vec<_>>(), [covered.len()], dev)?;
        let ids = Tensor::from_vec(covered.iter().map(|c| c.1).collect::<Vec<_>>(), [covered.len()], dev)?;
        let per_snippet = shape::reshape(&shape::permute(&out.snippet_logits, &[0, 2, 1])?, [b * l, k])?;
        let ce = loss::cross_entropy(&shape::gather(&per_snippet, 0, &rows)?, &ids)?;
        total = crate::ops::elementwise::add(&total, &crate::ops::elementwise::scale(&ce, snippet_weight)?)?;
        terms.push(("snippet_cls", ce));
    }
    terms.insert(0, ("total", total.clone()));
    Ok(LossTerms { total, terms })
}

/// The two kinds of head a stage trains.
#[derive(Clone)]
pub enum Head {
    /// ACP: class logits of pooled snippet features.
    Classifier(Classifier),
    Tal(Box<TalHead>),
}

/// An optional encoder and a head: what one training step updates.
#[derive(Clone)]
pub struct Model {
    pub encoder: Option<ResNetTsm>,
    pub encoder_preset: Option<String>,
    pub head: Head,
}

impl Model {
    /// Parameters (and buffers) of the encoder, then of the head.
    pub fn params(&self) -> Vec<Param> {
        let mut p = self.encoder_params();
        p.extend(self.head_params());
        p
    }
    pub fn encoder_params(&self) -> Vec<Param> {
        self.encoder.as_ref().map(Module::params).unwrap_or_default()
    }
    pub fn head_params(&self) -> Vec<Param> {
        match &self.head {
            Head::Classifier(c) => c.params(),
            Head::Tal(h) => h.params(),
        }
    }
}

/// A builder for new parameters on `device` from the run's seed (every parameter draws from its own
/// stream keyed by its name, so two runs with one seed start identical).
pub fn builder(device: &Device, seeds: &Seeds) -> Builder {
    Builder::new(device, DType::F32, seeds.stream("init"))
}

// ---- weight files ----------------------------------------------------------------------------

const KIND: &str = "lofi.kind";
const ENCODER: &str = "lofi.encoder";
const HEAD: &str = "lofi.head";
const IN_CHANNELS: &str = "lofi.in_channels";
const CLASSES: &str = "lofi.classes";

/// Saves an encoder (and, after ACP, its classifier as `fc.*`) with its preset and classes.
pub fn save_encoder(
    path: &Path,
    encoder: &ResNetTsm,
    preset: &str,
    classifier: Option<(&Classifier, &[String])>,
) -> Result<()> {
    let mut params = encoder.params();
    let mut meta =
        BTreeMap::from([(KIND.to_string(), "encoder".to_string()), (ENCODER.to_string(), preset.to_string())]);
    if let Some((c, classes)) = classifier {
        params.extend(c.params());
        meta.insert(CLASSES.into(), json_list(classes)?);
    }
    weights::save_with_metadata(path, &params, &meta)
}

/// Loads an encoder file. The preset comes from the file's metadata, or from `preset` for files
/// without it (converted PyTorch checkpoints); extra tensors (a classifier) are ignored, a missing
/// or mis-shaped encoder tensor is an error naming it.
pub fn load_encoder(path: &Path, device: &Device, preset: Option<&str>) -> Result<(ResNetTsm, String)> {
    let meta = weights::read_metadata(path)?;
    let name = match (meta.get(ENCODER), preset) {
        (Some(m), Some(p)) if m != p => {
            return Err(Error::data(path.display().to_string(), format!("holds a {m} encoder, not {p}")));
        }
        (Some(m), _) => m.clone(),
        (None, Some(p)) => p.to_string(),
        (None, None) => {
            return Err(Error::data(
                path.display().to_string(),
                "no lofi.encoder metadata: name the architecture with --encoder-preset".to_string(),
            ))
        }
    };
    let cfg = presets::encoder_config(&name)?;
    let encoder = ResNetTsm::new(&builder(device, &Seeds::new(0)), &cfg)?;
    let report = weights::load(path, &encoder.params(), LoadPolicy::Partial)?;
    if !report.missing.is_empty() {
        return Err(Error::data(
            path.display().to_string(),
            format!("not a {name} encoder: missing {}", report.missing.join(", ")),
        ));
    }
    Ok((encoder, name))
}

/// Saves the TAL head with its preset, feature width and classes.
pub fn save_head(path: &Path, head: &TalHead) -> Result<()> {
    let meta = BTreeMap::from([
        (KIND.to_string(), "head".to_string()),
        (HEAD.to_string(), head.preset.clone()),
        (IN_CHANNELS.to_string(), head.in_channels.to_string()),
        (CLASSES.to_string(), json_list(&head.classes)?),
    ]);
    weights::save_with_metadata(path, &head.params(), &meta)
}

/// Loads a head file written by `save_head` (strictly: every tensor present, nothing extra).
pub fn load_head(path: &Path, device: &Device) -> Result<TalHead> {
    let meta = weights::read_metadata(path)?;
    let field = |key: &str| {
        meta.get(key).ok_or_else(|| {
            Error::data(
                path.display().to_string(),
                format!("no {key} metadata: not a head written by `lofi train --stage head`"),
            )
        })
    };
    let preset = field(HEAD)?;
    let in_channels: usize = field(IN_CHANNELS)?
        .parse()
        .map_err(|_| Error::data(path.display().to_string(), format!("{IN_CHANNELS} is not a number")))?;
    let classes: Vec<String> = serde_json::from_str(field(CLASSES)?)
        .map_err(|e| Error::data(path.display().to_string(), format!("{CLASSES}: {e}")))?;
    let head = TalHead::new(&builder(device, &Seeds::new(0)), preset, in_channels, classes)?;
    weights::load(path, &head.params(), LoadPolicy::Strict)?;
    Ok(head)
}

/// The class names an encoder file's ACP classifier was trained on, if it has one.
pub fn file_classes(path: &Path) -> Result<Option<Vec<String>>> {
    let meta = weights::read_metadata(path)?;
    meta.get(CLASSES)
        .map(|c| {
            serde_json::from_str(c).map_err(|e| Error::data(path.display().to_string(), format!("{CLASSES}: {e}")))
        })
        .transpose()
}

fn json_list(items: &[String]) -> Result<String> {
    serde_json::to_string(items).map_err(|e| Error::data("weight metadata", e.to_string()))
}

/// Marks every parameter of `params` as a fixed buffer or trainable weight (freezing an encoder).
pub fn set_trainable(params: &[Param], on: bool) {
    for p in params.iter().filter(|p| p.kind() == ParamKind::Weight) {
        p.set_trainable(on);
    }
}
