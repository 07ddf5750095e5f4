//! The training stages (`lofi train --stage NAME`): each turns its inputs into a `StepSpec`, a
//! model and a `BatchSource`, runs the shared loop (`runner.rs`) and writes its outputs into the
//! run directory:
//!
//! - `config.toml` — the resolved configuration (written before the first step);
//! - `metrics.jsonl` — one line per logged step, then evaluation lines;
//! - `checkpoints/step-N.safetensors` — the last `keep`;
//! - `final.safetensors` — the trained weights with PyTorch names;
//! - `summary.json` — what the stage measured (wall time, peak bytes, losses, accuracy).
//!
//! A run directory that already holds a run is refused unless `--resume` continues it with the
//! same training configuration, so nothing already written is lost by mistake.

pub mod acp;
pub mod acp_plus;
pub mod e2e;
pub mod head;

use std::path::{Path, PathBuf};

use crate::data::atomic::write_json;
use crate::rng::Seeds;
use crate::tensor::Device;
use crate::train::config::TrainConfig;
use crate::train::metrics::METRICS_FILE;
use crate::train::runner::RunOptions;
use crate::train::spec::StepSpec;
use crate::{Error, Result};

pub const CONFIG_FILE: &str = "config.toml";
pub const FINAL_FILE: &str = "final.safetensors";
pub const SUMMARY_FILE: &str = "summary.json";

/// Inputs of a stage that do not belong in its configuration (paths, device, resume).
#[derive(Debug, Clone)]
pub struct StageInputs {
    /// The dataset: `annotations.json`, `frames/`, `clips/`.
    pub data: Option<PathBuf>,
    pub out: PathBuf,
    /// The ACP clip set (default `DATA/clips`).
    pub clips: Option<PathBuf>,
    /// Snippet features for the head stage (`lofi extract` output).
    pub features: Option<PathBuf>,
    /// Initial encoder weights.
    pub encoder: Option<PathBuf>,
    /// Initial head weights (the end-to-end stages).
    pub head: Option<PathBuf>,
    pub resume: bool,
    pub device: Device,
    /// Pool budget the run must fit.
    pub memory_budget: Option<usize>,
}

impl StageInputs {
    pub fn data_dir(&self) -> Result<&Path> {
        self.data.as_deref().ok_or_else(|| Error::Config {
            flag: "--data".into(),
            msg: "this stage needs the dataset directory".into(),
        })
    }
}

/// Readies `out` for a run of `cfg`: refuses a directory holding another run unless `resume` and
/// the stored configuration trains the same way; writes `config.toml`.
pub fn prepare_run_dir(out: &Path, cfg: &TrainConfig, resume: bool) -> Result<()> {
    let config = out.join(CONFIG_FILE);
    let has_run = config.exists() || out.join(METRICS_FILE).exists() || out.join("checkpoints").exists();
    if has_run && !resume {
        return Err(Error::Config {
            flag: "--out".into(),
            msg: format!(
                "{} already holds a run: pass --resume to continue it, or choose another --out",
                out.display()
            ),
        });
    }
    if has_run && config.exists() {
        let text = std::fs::read_to_string(&config).map_err(|e| Error::io(&config, e))?;
        let stored = TrainConfig::parse(cfg.stage, &text, &config)?;
        let diffs = cfg.training_differences(&stored);
        if !diffs.is_empty() {
            return Err(Error::Config {
                flag: "--resume".into(),
                msg: format!(
                    "{} was trained with another configuration (differs in {}); use another --out",
                    out.display(),
                    diffs.join(", ")
                ),
            });
        }
    }
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    crate::nn::weights::write_atomic(&config, cfg.to_toml()?.as_bytes())
}

/// Writes `summary.json`.
pub fn write_summary(out: &Path, summary: &serde_json::Value) -> Result<()> {
    write_json(&out.join(SUMMARY_FILE), summary)
}

/// Chooses how the encoder calls of `specs` run (`model.recompute` and `--memory-budget`,
/// `budget::resolve`), one choice for all of them — the most frugal any needs — and writes it
/// into the specs and, when a budget decided it, into `cfg` (so `config.toml` records it).
/// Returns each spec's predicted peak (the dry run; 0 without a budget).
pub fn choose_execution(
    cfg: &mut TrainConfig,
    specs: &mut [StepSpec],
    budget: Option<usize>,
    device: &Device,
) -> Result<Vec<usize>> {
    let mut chosen: Option<crate::train::budget::Fit> = None;
    for s in specs.iter() {
        let fit = crate::train::budget::resolve(s, cfg.model.recompute, budget, cfg.stage.name(), device)?;
        let frugal = |f: &crate::train::budget::Fit| {
            (std::cmp::Reverse(f.snippets_per_call), f.recompute != crate::nn::Recompute::None)
        };
        if chosen.as_ref().is_none_or(|c| frugal(&fit) > frugal(c)) {
            chosen = Some(fit);
        }
    }
    let Some(fit) = chosen else { return Ok(Vec::new()) };
    for s in specs.iter_mut() {
        s.recompute = fit.recompute;
        s.snippets_per_call = fit.snippets_per_call;
    }
    if budget.is_some() && cfg.model.recompute == crate::train::budget::RecomputeSetting::Auto {
        cfg.model.recompute = match fit.recompute {
            crate::nn::Recompute::None => crate::train::budget::RecomputeSetting::None,
            crate::nn::Recompute::Chunk => crate::train::budget::RecomputeSetting::Chunk,
            crate::nn::Recompute::Stage => crate::train::budget::RecomputeSetting::Stage,
        };
        cfg.model.snippets_per_call = fit.snippets_per_call;
    }
    match budget {
        Some(_) => specs.iter().map(|s| s.dry_run_peak()).collect(),
        None => Ok(vec![0; specs.len()]),
    }
}

/// The loop options every stage shares: names, paths and checkpointing from `cfg` and `inputs`,
/// the step count from the source's epoch length. `snippet_weight` is 0 for the clip stages
/// (they have no snippet-level loss).
pub fn run_options(
    cfg: &TrainConfig,
    inputs: &StageInputs,
    seeds: Seeds,
    steps_per_epoch: u64,
    snippet_weight: f64,
    predicted_peak: Option<usize>,
) -> RunOptions {
    RunOptions {
        stage: cfg.stage.name().into(),
        run_dir: inputs.out.clone(),
        device: inputs.device.clone(),
        seeds,
        total_steps: total_steps(cfg, steps_per_epoch),
        schedule: cfg.schedule.clone(),
        snippet_weight,
        checkpoint_every: cfg.checkpoint.every,
        keep: cfg.checkpoint.keep,
        log_every: cfg.log_every,
        resume: inputs.resume,
        predicted_peak,
    }
}

/// Total optimizer steps of a config: `data.steps`, else epochs × steps per epoch.
pub fn total_steps(cfg: &TrainConfig, steps_per_epoch: u64) -> u64 {
    cfg.data.steps.unwrap_or(cfg.data.epochs.saturating_mul(steps_per_epoch.max(1)))
}
