//! `acp-plus`: the ACP baseline's stronger sibling (paper Table 1) — the ACP encoder and its
//! classifier fine-tuned for classification on snippets cut from inside the ground-truth segments
//! of the target training videos (`data::segment_windows`), no localisation loss. The same
//! augmentations as ACP apply; `acp.source_mix` replaces that fraction of each batch with clips of
//! the ACP clip set (`DATA/clips`), which keeps the encoder from forgetting the source task on
//! only a few hundred target segments. `final.safetensors` is the encoder with its classifier.

use std::collections::BTreeMap;

use crate::data::clips::{sample_clip, ClipSet};
use crate::data::sampler::{Mode, SamplerConfig};
use crate::data::segment_windows::SegmentSet;
use crate::data::stream_rng::stream_rng;
use crate::fidelity::Fidelity;
use crate::nn::Module;
use crate::rng::Seeds;
use crate::tensor::{Device, Tensor};
use crate::train::config::TrainConfig;
use crate::train::model::{self, file_classes, Head};
use crate::train::observer::Observer;
use crate::train::presets;
use crate::train::runner::{self, BatchSource, RunSummary};
use crate::train::spec::{HeadSpec, StepSpec};
use crate::train::stages::head::load_annotations;
use crate::train::stages::{choose_execution, prepare_run_dir, run_options, write_summary, StageInputs, FINAL_FILE};
use crate::train::step::{StepBatch, StepInput, StepTargets};
use crate::{Error, Result};

#[derive(Debug, Clone, serde::Serialize)]
pub struct AcpPlusReport {
    pub run: RunSummary,
    pub segments: usize,
    /// Segments too short for one snippet.
    pub too_short: usize,
    /// Source clips per batch.
    pub source_per_batch: usize,
    /// Whether the ACP classifier was kept (same classes) or a new one trained.
    pub classifier_from_acp: bool,
}

struct SegmentBatches {
    segments: SegmentSet,
    clips: Option<ClipSet>,
    target_per_batch: usize,
    source_per_batch: usize,
    sampler: SamplerConfig,
    permute: bool,
    seed: u64,
}

impl BatchSource for SegmentBatches {
    fn steps_per_epoch(&self) -> u64 {
        (self.segments.windows.len() / self.target_per_batch.max(1)).max(1) as u64
    }

    fn batch(&mut self, epoch: u64, index: u64) -> Result<StepBatch> {
        let n = self.segments.windows.len();
        let mut order: Vec<usize> = (0..n).collect();
        stream_rng(self.seed, "acp-plus/order", epoch).shuffle(&mut order);
        let f = self.sampler.fidelity;
        let per = self.sampler.snippet.frames * f.height * f.width * 3;
        let total = self.target_per_batch + self.source_per_batch;
        let mut frames = vec![0u8; total * per];
        let mut classes = Vec::with_capacity(total);
        let stream = format!("acp-plus/augment/{epoch}");
        for slot in 0..self.target_per_batch {
            let w = order[(index as usize * self.target_per_batch + slot) % n];
            let mut rng = stream_rng(self.seed, &stream, w as u64);
            classes.push(self.segments.sample(
                w,
                &self.sampler,
                self.permute,
                &mut rng,
                &mut frames[slot * per..(slot + 1) * per],
            )?);
        }
        if let Some(clips) = &self.clips {
            let mut reader = clips.reader()?;
            let mut scratch = Vec::new();
            let step = epoch * self.steps_per_epoch() + index;
            let mut pick = stream_rng(self.seed, "acp-plus/source", step);
            for slot in self.target_per_batch..total {
                let clip = pick.below(clips.len() as u64) as usize;
                let mut rng = pick.child(slot as u64);
                let out = &mut frames[slot * per..(slot + 1) * per];
                classes.push(sample_clip(
                    &mut reader,
                    clip,
                    &self.sampler,
                    Mode::Train,
                    self.permute,
                    &mut rng,
                    &mut scratch,
                    out,
                )?);
            }
        }
        let input =
            Tensor::from_vec(frames, [total * self.sampler.snippet.frames, f.height, f.width, 3], &Device::cpu())?;
        Ok(StepBatch {
            input: StepInput::Frames(input),
            targets: StepTargets::Classes(classes),
            samples: total,
            snippets: 1,
            fidelity: Some(f),
        })
    }

    fn rng_streams(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("acp-plus/order".into(), "stream_rng(seed, \"acp-plus/order\", epoch): the epoch's segment order".into()),
            (
                "acp-plus/augment".into(),
                "stream_rng(seed, \"acp-plus/augment/<epoch>\", segment): position, crop, colours".into(),
            ),
            ("acp-plus/source".into(), "stream_rng(seed, \"acp-plus/source\", step): the step's source clips".into()),
        ])
    }
}

pub fn run(cfg: &TrainConfig, inputs: &StageInputs, observer: &mut dyn Observer) -> Result<AcpPlusReport> {
    let mut cfg = cfg.clone();
    let cfg = &mut cfg;
    let encoder_file = inputs.encoder.as_deref().ok_or_else(|| Error::Config {
        flag: "--encoder".into(),
        msg: "the acp-plus stage starts from the ACP encoder (--encoder FILE)".into(),
    })?;
    let data = inputs.data_dir()?;
    let ann = load_annotations(data)?;
    let train: Vec<_> = ann.subset("training").cloned().collect();
    if train.is_empty() {
        return Err(Error::data("annotations", "the training split is empty"));
    }
    let (init, preset) = model::load_encoder(encoder_file, &Device::cpu(), None)?;
    let full = presets::full_fidelity(&preset);
    let sampler = presets::sampler(&preset, Fidelity::new(1, full.height, full.width));
    let span = sampler.snippet.stride * sampler.snippet.frames.saturating_sub(1) + 1;
    let segments = SegmentSet::open(&data.join("frames"), &train, span)?;
    let source_per_batch = (cfg.acp.source_mix * cfg.data.batch as f64).round() as usize;
    let clips = if source_per_batch > 0 {
        let dir = inputs.clips.clone().unwrap_or_else(|| data.join("clips"));
        let set = ClipSet::open(&dir)?;
        if set.classes != ann.classes {
            return Err(Error::data(
                format!("clip set {}", dir.display()),
                "its classes are not the annotations' classes",
            ));
        }
        Some(set)
    } else {
        None
    };
    let spec = StepSpec {
        encoder: Some(preset.clone()),
        head: HeadSpec::Classifier { classes: ann.classes.clone() },
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
    let (Some(encoder), Head::Classifier(classifier)) = (&model.encoder, &model.head) else {
        return Err(Error::invalid("acp-plus", "the model is not an encoder with a classifier"));
    };
    for (dst, src) in encoder.params().iter().zip(init.params()) {
        dst.set(src.value().to_device(&inputs.device)?)?;
    }
    // The ACP classifier carries over when it was trained on the same classes.
    let classifier_from_acp = file_classes(encoder_file)?.as_deref() == Some(&ann.classes[..]);
    if classifier_from_acp {
        crate::nn::weights::load(encoder_file, &classifier.params(), crate::nn::weights::LoadPolicy::Partial)?;
    }
    prepare_run_dir(&inputs.out, cfg, inputs.resume)?;
    let n_segments = segments.windows.len();
    let too_short = segments.too_short;
    let mut source = SegmentBatches {
        segments,
        clips,
        target_per_batch: cfg.data.batch.saturating_sub(source_per_batch).max(1),
        source_per_batch,
        sampler,
        permute: cfg.acp.colour_permutation,
        seed: cfg.seed,
    };
    let opts = run_options(cfg, inputs, seeds, source.steps_per_epoch(), 0.0, predicted_peak);
    let mut opt = spec.build_optimizer(&model)?;
    let run = runner::run(&spec, &model, &mut opt, &mut source, &opts, observer)?;
    model::save_encoder(&inputs.out.join(FINAL_FILE), encoder, &preset, Some((classifier, &ann.classes)))?;
    let report = AcpPlusReport { run, segments: n_segments, too_short, source_per_batch, classifier_from_acp };
    write_summary(&inputs.out, &serde_json::to_value(&report).map_err(|e| Error::data("summary", e.to_string()))?)?;
    Ok(report)
}
