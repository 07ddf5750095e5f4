//! `lofi` and `e2e-full`: the encoder and the TAL head trained end to end under the head stage's
//! loss (G-TAD + the snippet-class term), the encoder's BN in train mode. Both start from the
//! ACP stage: the encoder from `--encoder` (ACP's `final.safetensors`), the head — with its
//! feature standardisation — from `--head` (the head stage trained on ACP features). `lofi`
//! trains at a reduced fidelity (`lofi::FidelityPlan`: S, T, ST or a C-LoFi cycle), `e2e-full`
//! at the full one with the same epochs and batch; the snippets per encoder call are a config
//! value, and each call may run as a recompute segment.
//!
//! Writes `final.safetensors` (the encoder, torchvision names: what `lofi extract` reads for the
//! paper's stage 3) and `head.safetensors` (the jointly trained head); the summary lists every
//! fidelity used with its measured pool peak.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::data::loader::{Batch, Dataset, Loader, LoaderOptions};
use crate::data::sampler::Mode;
use crate::fidelity::Fidelity;
use crate::loss::GtadTargets;
use crate::nn::{Module, Param};
use crate::rng::Seeds;
use crate::tensor::{Device, Tensor};
use crate::train::config::{Stage, TrainConfig};
use crate::train::lofi::FidelityPlan;
use crate::train::model::{self, Head, TalHead, TalTargets};
use crate::train::observer::Observer;
use crate::train::presets::{self, fidelity_name};
use crate::train::runner::{self, BatchSource, RunSummary};
use crate::train::spec::{HeadSpec, StepSpec};
use crate::train::stages::head::{load_annotations, snippet_classes};
use crate::train::stages::{choose_execution, prepare_run_dir, run_options, write_summary, StageInputs, FINAL_FILE};
use crate::train::step::{StepBatch, StepInput, StepTargets};
use crate::{Error, Result};

/// The jointly trained head, beside the encoder.
pub const HEAD_FILE: &str = "head.safetensors";

/// One fidelity of the run and what it cost.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FidelityUse {
    pub fidelity: String,
    pub steps: u64,
    /// The largest pool peak measured at this fidelity.
    pub peak_bytes: usize,
    /// The Meta dry run's prediction for one step at this fidelity.
    pub predicted_peak_bytes: usize,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct E2eReport {
    pub run: RunSummary,
    pub configuration: String,
    pub videos: usize,
    pub fidelities: Vec<FidelityUse>,
}

/// Training videos through the threaded loader at each step's fidelity. A loader serves one
/// (epoch, fidelity) stretch; a change of either starts a new one at the right batch, and a batch
/// is a pure function of (seed, epoch, index), so restarts and resumes see the same data.
struct VideoFrameBatches {
    dataset: Arc<Dataset>,
    plan: FidelityPlan,
    preset: String,
    batch: usize,
    seed: u64,
    threads: usize,
    current: Option<(u64, Fidelity, u64, Loader)>,
}

impl VideoFrameBatches {
    fn loader(&self, epoch: u64, fidelity: Fidelity, first: u64) -> Result<Loader> {
        let opts = LoaderOptions {
            sampler: presets::sampler(&self.preset, fidelity),
            mode: Mode::Train,
            batch_size: self.batch,
            shuffle: true,
            drop_last: true,
            seed: self.seed,
            epoch,
            threads: self.threads,
            prefetch: 2,
            skip_bad_videos: false,
        };
        Loader::start_at(Arc::clone(&self.dataset), opts, first as usize)
    }
}

impl BatchSource for VideoFrameBatches {
    fn steps_per_epoch(&self) -> u64 {
        (self.dataset.len() / self.batch).max(1) as u64
    }

    fn batch(&mut self, epoch: u64, index: u64) -> Result<StepBatch> {
        let fidelity = self.plan.at(epoch, epoch * self.steps_per_epoch() + index);
        let reusable =
            matches!(&self.current, Some((e, f, next, _)) if *e == epoch && *f == fidelity && *next == index);
        if !reusable {
            self.current = Some((epoch, fidelity, index, self.loader(epoch, fidelity, index)?));
        }
        let Some((_, _, next, loader)) = self.current.as_mut() else {
            return Err(Error::invalid("e2e", "no loader"));
        };
        *next += 1;
        let batch =
            loader.next().ok_or_else(|| Error::data("loader", format!("epoch {epoch} has no batch {index}")))??;
        to_step_batch(batch, fidelity)
    }

    fn rng_streams(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("loader/order".into(), "stream_rng(seed, \"loader/order\", epoch): the epoch's video order".into()),
            ("loader/augment".into(), "stream_rng(seed, \"loader/augment/<epoch>\", video): crop and flip".into()),
        ])
    }
}

/// A loader batch as a step batch: frames [B·L·T, H, W, 3] and the TAL targets at L.
fn to_step_batch(batch: Batch, f: Fidelity) -> Result<StepBatch> {
    let b = batch.videos.len();
    let l = f.snippets;
    let frames_per_video = batch.sampler.frames_per_video();
    let frames = Tensor::from_vec(batch.frames, [b * frames_per_video, f.height, f.width, 3], &Device::cpu())?;
    let cat = |pick: &dyn Fn(&crate::data::labels::GtadLabels) -> &Vec<f32>| -> Vec<f32> {
        batch.videos.iter().flat_map(|v| pick(&v.labels).iter().copied()).collect()
    };
    let gtad = GtadTargets::new(b, l, cat(&|x| &x.iou_map), cat(&|x| &x.start), cat(&|x| &x.end))?;
    let snippet_classes = batch.videos.iter().flat_map(|v| snippet_classes(&v.segments, &v.classes, l)).collect();
    Ok(StepBatch {
        input: StepInput::Frames(frames),
        targets: StepTargets::Tal(TalTargets { gtad, snippet_classes }),
        samples: b,
        snippets: l,
        fidelity: Some(f),
    })
}

/// Copies `src`'s values into `dst` by name; every destination parameter must be found.
fn copy_by_name(dst: &[Param], src: &[Param], what: &str) -> Result<()> {
    let by_name: BTreeMap<&str, &Param> = src.iter().map(|p| (p.name(), p)).collect();
    for p in dst {
        let s = by_name.get(p.name()).ok_or_else(|| Error::data(what.to_string(), format!("has no {}", p.name())))?;
        p.set(s.value().to_device(p.value().device())?)?;
    }
    Ok(())
}

/// Runs `lofi` or `e2e-full`.
pub fn run(cfg: &TrainConfig, inputs: &StageInputs, observer: &mut dyn Observer) -> Result<E2eReport> {
    let mut cfg = cfg.clone();
    let cfg = &mut cfg;
    let need = |flag: &str, what: &str| Error::Config {
        flag: flag.into(),
        msg: format!("the {} stage starts from {what}", cfg.stage.name()),
    };
    let encoder_file =
        inputs.encoder.as_deref().ok_or_else(|| need("--encoder", "the ACP encoder (--encoder FILE)"))?;
    let head_file =
        inputs.head.as_deref().ok_or_else(|| need("--head", "the head trained on ACP features (--head FILE)"))?;
    let (init_encoder, preset) = model::load_encoder(encoder_file, &Device::cpu(), None)?;
    let init_head: TalHead = model::load_head(head_file, &Device::cpu())?;
    let dim = init_encoder.config().feature_dim();
    if init_head.in_channels != dim {
        return Err(Error::data(
            head_file.display().to_string(),
            format!(
                "a head for {}-wide features cannot sit on the {preset} encoder ({dim} wide)",
                init_head.in_channels
            ),
        ));
    }
    let plan = FidelityPlan::resolve(cfg.stage, &cfg.lofi, &preset)?;
    let ann = load_annotations(inputs.data_dir()?)?;
    let train: Vec<_> = ann.subset("training").cloned().collect();
    if train.is_empty() {
        return Err(Error::data("annotations", "the training split is empty"));
    }
    let dataset = Arc::new(Dataset::open(&inputs.data_dir()?.join("frames"), train, false)?);
    let spec_at = |fidelity: Fidelity| StepSpec {
        encoder: Some(preset.clone()),
        head: HeadSpec::Tal { preset: init_head.preset.clone(), in_channels: dim, classes: init_head.classes.clone() },
        fidelity,
        batch: cfg.data.batch,
        snippets_per_call: cfg.model.snippets_per_call,
        recompute: crate::nn::Recompute::None,
        precision: cfg.model.precision,
        optim: cfg.optim.clone(),
    };
    let fidelities = plan.fidelities();
    let mut specs: Vec<StepSpec> = fidelities.iter().map(|f| spec_at(*f)).collect();
    for s in &specs {
        s.validate()?;
    }
    let mut predicted = choose_execution(cfg, &mut specs, inputs.memory_budget, &inputs.device)?;
    if inputs.memory_budget.is_none() {
        predicted = specs.iter().map(StepSpec::dry_run_peak).collect::<Result<_>>()?;
    }
    let spec = &specs[0];
    let seeds = Seeds::new(cfg.seed);
    let model = spec.build_model(&inputs.device, &seeds)?;
    let (Some(encoder), Head::Tal(head)) = (&model.encoder, &model.head) else {
        return Err(Error::invalid("e2e", "the model is not an encoder with a TAL head"));
    };
    copy_by_name(&encoder.params(), &init_encoder.params(), &encoder_file.display().to_string())?;
    copy_by_name(&head.params(), &init_head.params(), &head_file.display().to_string())?;
    prepare_run_dir(&inputs.out, cfg, inputs.resume)?;
    let videos = dataset.len();
    let mut source = VideoFrameBatches {
        dataset,
        plan: plan.clone(),
        preset: preset.clone(),
        batch: cfg.data.batch,
        seed: cfg.seed,
        threads: cfg.data.loader_threads,
        current: None,
    };
    let opts = run_options(
        cfg,
        inputs,
        seeds,
        source.steps_per_epoch(),
        cfg.loss.snippet_class_weight,
        predicted.iter().copied().max(),
    );
    let mut opt = spec.build_optimizer(&model)?;
    let run = runner::run(spec, &model, &mut opt, &mut source, &opts, observer)?;
    model::save_encoder(&inputs.out.join(FINAL_FILE), encoder, &preset, None)?;
    model::save_head(&inputs.out.join(HEAD_FILE), head)?;
    let steps = crate::train::metrics::read_steps(&inputs.out)?;
    let uses = fidelities
        .iter()
        .zip(&predicted)
        .map(|(f, p)| {
            let name = fidelity_name(f);
            let at: Vec<_> = steps.iter().filter(|r| r.fidelity.as_deref() == Some(&name)).collect();
            FidelityUse {
                steps: at.len() as u64,
                peak_bytes: at.iter().map(|r| r.peak_bytes).max().unwrap_or(0),
                predicted_peak_bytes: *p,
                fidelity: name,
            }
        })
        .collect();
    let configuration =
        if cfg.stage == Stage::E2eFull { "full".to_string() } else { cfg.lofi.config.name().to_string() };
    let report = E2eReport { run, configuration, videos, fidelities: uses };
    write_summary(&inputs.out, &serde_json::to_value(&report).map_err(|e| Error::data("summary", e.to_string()))?)?;
    Ok(report)
}
