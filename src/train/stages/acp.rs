//! `acp`: action-classification pre-training of the encoder plus a linear classifier on a trimmed
//! clip set (the synthetic benchmark's "Kinetics", `DATA/clips`). Each sample is one snippet of a
//! clip with the clip-set augmentations (`data::clips`); the last `acp.holdout` of the clips are
//! kept out and the stage reports the clip accuracy on them with the encoder's BN in eval mode.
//! `final.safetensors` holds the encoder (torchvision names) and the classifier (`fc.*`).

use std::collections::BTreeMap;

use crate::autograd::no_grad;
use crate::data::clips::{sample_clip, ClipSet};
use crate::data::sampler::{Mode, SamplerConfig};
use crate::data::stream_rng::stream_rng;
use crate::fidelity::Fidelity;
use crate::nn::Module;
use crate::ops::norm::BnMode;
use crate::rng::Seeds;
use crate::tensor::{DType, Device, Tensor};
use crate::train::config::TrainConfig;
use crate::train::model::{self, Head, Model};
use crate::train::observer::Observer;
use crate::train::presets;
use crate::train::runner::{self, BatchSource, RunSummary};
use crate::train::spec::{HeadSpec, StepSpec};
use crate::train::stages::{choose_execution, prepare_run_dir, run_options, write_summary, StageInputs, FINAL_FILE};
use crate::train::step::{StepBatch, StepInput, StepTargets};
use crate::{Error, Result};

/// What the stage reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AcpReport {
    pub run: RunSummary,
    pub train_clips: usize,
    pub heldout_clips: usize,
    /// Accuracy on the held-out clips (None without a held-out slice).
    pub heldout_accuracy: Option<f64>,
}

struct ClipBatches {
    set: ClipSet,
    train: Vec<usize>,
    batch: usize,
    sampler: SamplerConfig,
    permute: bool,
    seed: u64,
}

impl BatchSource for ClipBatches {
    fn steps_per_epoch(&self) -> u64 {
        (self.train.len() / self.batch).max(1) as u64
    }

    fn batch(&mut self, epoch: u64, index: u64) -> Result<StepBatch> {
        let mut order = self.train.clone();
        stream_rng(self.seed, "acp/order", epoch).shuffle(&mut order);
        let start = (index as usize * self.batch).min(order.len());
        let members = &order[start..(start + self.batch).min(order.len())];
        let stream = format!("acp/augment/{epoch}");
        let mut rngs = members.iter().map(|&c| stream_rng(self.seed, &stream, c as u64));
        clip_batch(&self.set, members, &self.sampler, Mode::Train, self.permute, &mut || rngs.next())
    }

    fn rng_streams(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("acp/order".into(), "stream_rng(seed, \"acp/order\", epoch): the epoch's clip order".into()),
            ("acp/augment".into(), "stream_rng(seed, \"acp/augment/<epoch>\", clip): offset, crop, colours".into()),
        ])
    }
}

/// Frames [n·T, H, W, 3] and classes of `members`, each sampled with the next generator.
fn clip_batch(
    set: &ClipSet,
    members: &[usize],
    sampler: &SamplerConfig,
    mode: Mode,
    permute: bool,
    next_rng: &mut dyn FnMut() -> Option<crate::rng::Rng>,
) -> Result<StepBatch> {
    let f = sampler.fidelity;
    let per = sampler.snippet.frames * f.height * f.width * 3;
    let mut frames = vec![0u8; members.len() * per];
    let mut classes = Vec::with_capacity(members.len());
    let mut reader = set.reader()?;
    let mut scratch = Vec::new();
    for (slot, &clip) in members.iter().enumerate() {
        let mut rng = next_rng().ok_or_else(|| Error::invalid("acp", "one generator per clip"))?;
        let out = &mut frames[slot * per..(slot + 1) * per];
        classes.push(sample_clip(&mut reader, clip, sampler, mode, permute, &mut rng, &mut scratch, out)?);
    }
    let n = members.len() * sampler.snippet.frames;
    let input = Tensor::from_vec(frames, [n, f.height, f.width, 3], &Device::cpu())?;
    Ok(StepBatch {
        input: StepInput::Frames(input),
        targets: StepTargets::Classes(classes),
        samples: members.len(),
        snippets: 1,
        fidelity: Some(f),
    })
}

/// Runs the stage.
pub fn run(cfg: &TrainConfig, inputs: &StageInputs, observer: &mut dyn Observer) -> Result<AcpReport> {
    let mut cfg = cfg.clone();
    let cfg = &mut cfg;
    let clips_dir = match &inputs.clips {
        Some(d) => d.clone(),
        None => inputs.data_dir()?.join("clips"),
    };
    let set = ClipSet::open(&clips_dir)?;
    let held = (set.len() as f64 * cfg.acp.holdout).round() as usize;
    let train: Vec<usize> = (0..set.len() - held.min(set.len())).collect();
    if train.is_empty() {
        return Err(Error::data(
            format!("clip set {}", clips_dir.display()),
            "no training clips left after the held-out slice",
        ));
    }
    let preset = cfg.model.encoder.clone();
    let full = presets::full_fidelity(&preset);
    let sampler = presets::sampler(&preset, Fidelity::new(1, full.height, full.width));
    let spec = StepSpec {
        encoder: Some(preset.clone()),
        head: HeadSpec::Classifier { classes: set.classes.clone() },
        fidelity: sampler.fidelity,
        batch: cfg.data.batch,
        snippets_per_call: cfg.model.snippets_per_call,
        recompute: crate::nn::Recompute::None,
        precision: cfg.model.precision,
        optim: cfg.optim.clone(),
    };
    spec.validate()?;
    let mut specs = [spec];
    let predicted = choose_execution(cfg, &mut specs, inputs.memory_budget, &inputs.device)?;
    let [spec] = specs;
    let predicted_peak = inputs.memory_budget.and(predicted.first().copied());
    let seeds = Seeds::new(cfg.seed);
    let model = spec.build_model(&inputs.device, &seeds)?;
    if let (Some(path), Some(encoder)) = (&inputs.encoder, &model.encoder) {
        let (init, _) = model::load_encoder(path, &inputs.device, Some(&preset))?;
        for (dst, src) in encoder.params().iter().zip(init.params()) {
            dst.set(src.value())?;
        }
    }
    prepare_run_dir(&inputs.out, cfg, inputs.resume)?;
    let mut source = ClipBatches {
        set: set.clone(),
        train: train.clone(),
        batch: cfg.data.batch,
        sampler,
        permute: cfg.acp.colour_permutation,
        seed: cfg.seed,
    };
    let opts = run_options(cfg, inputs, seeds, source.steps_per_epoch(), 0.0, predicted_peak);
    let mut opt = spec.build_optimizer(&model)?;
    let summary = runner::run(&spec, &model, &mut opt, &mut source, &opts, observer)?;
    let heldout: Vec<usize> = (train.len()..set.len()).collect();
    let accuracy =
        if heldout.is_empty() { None } else { Some(accuracy(&model, &set, &heldout, &sampler, &inputs.device)?) };
    let (Some(encoder), Head::Classifier(classifier)) = (&model.encoder, &model.head) else {
        return Err(Error::invalid("acp", "the model is not an encoder with a classifier"));
    };
    model::save_encoder(&inputs.out.join(FINAL_FILE), encoder, &preset, Some((classifier, &set.classes)))?;
    let report =
        AcpReport { run: summary, train_clips: train.len(), heldout_clips: heldout.len(), heldout_accuracy: accuracy };
    write_summary(&inputs.out, &serde_json::to_value(&report).map_err(|e| Error::data("summary", e.to_string()))?)?;
    Ok(report)
}

/// Top-1 accuracy on `clips` (centred snippet, no augmentation, BN with running statistics).
fn accuracy(model: &Model, set: &ClipSet, clips: &[usize], sampler: &SamplerConfig, device: &Device) -> Result<f64> {
    let (Some(encoder), Head::Classifier(classifier)) = (&model.encoder, &model.head) else {
        return Err(Error::invalid("acp", "the model is not an encoder with a classifier"));
    };
    let mut encoder = encoder.clone();
    encoder.set_bn_mode(BnMode::Eval);
    let mut correct = 0usize;
    for chunk in clips.chunks(256) {
        // Evaluation draws nothing (centred snippet, centre crop); the generators only fill the slot.
        let mut rngs = chunk.iter().map(|&c| Seeds::new(0).stream("acp/eval").child(c as u64));
        let batch = clip_batch(set, chunk, sampler, Mode::Eval, false, &mut || rngs.next())?;
        let StepInput::Frames(frames) = &batch.input else { continue };
        let logits = no_grad(|| -> Result<Vec<f32>> {
            let x = encoder.prepare_frames(&frames.to_device(device)?, DType::F32)?;
            classifier.forward(&encoder.forward(&x)?)?.tensor().to_vec::<f32>()
        })?;
        let k = set.classes.len();
        for (i, &clip) in chunk.iter().enumerate() {
            let row = &logits[i * k..(i + 1) * k];
            let best = row.iter().enumerate().fold(0, |b, (j, v)| if *v > row[b] { j } else { b });
            correct += usize::from(best == set.labels[clip]);
        }
    }
    Ok(correct as f64 / clips.len() as f64)
}
