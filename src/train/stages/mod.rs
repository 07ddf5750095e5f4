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
use crate::tensor::Device;
use crate::train::config::TrainConfig;
use crate::train::metrics::METRICS_FILE;
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

/// Total optimizer steps of a config: `data.steps`, else epochs × steps per epoch.
pub fn total_steps(cfg: &TrainConfig, steps_per_epoch: u64) -> u64 {
    cfg.data.steps.unwrap_or(cfg.data.epochs.saturating_mul(steps_per_epoch.max(1)))
}
