//! `lofi train --stage NAME`: one training stage into a run directory (`lofi::train::stages`
//! documents what each stage reads and writes). Flags override the config file, which overrides
//! the stage's defaults; the resolved config lands in `OUT/config.toml`.

use std::path::PathBuf;

use anyhow::Context;
use lofi::memory::parse_size;
use lofi::train::config::{Stage, TrainConfig};
use lofi::train::stages::{self, StageInputs};

use super::device::{open_device, parse_device, set_threads};
use super::progress::Progress;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// acp (classification pre-training on clips) or head (TAL head on frozen features)
    #[arg(long)]
    stage: String,
    /// Dataset directory: annotations.json, frames/, clips/
    #[arg(long)]
    data: Option<PathBuf>,
    /// Run directory (config.toml, metrics.jsonl, checkpoints/, final.safetensors)
    #[arg(long)]
    out: PathBuf,
    /// TOML file over the stage's defaults
    #[arg(long)]
    config: Option<PathBuf>,
    /// Optimizer steps (sets the schedule's length; overrides epochs)
    #[arg(long)]
    steps: Option<u64>,
    /// Epochs (when --steps is not given)
    #[arg(long)]
    epochs: Option<u64>,
    /// Samples (clips or videos) per optimizer step
    #[arg(long)]
    batch: Option<usize>,
    /// Steps between checkpoints (0 = only at the end)
    #[arg(long)]
    checkpoint_every: Option<u64>,
    /// Checkpoints kept
    #[arg(long)]
    keep: Option<usize>,
    /// Continue from the newest complete checkpoint in --out
    #[arg(long)]
    resume: bool,
    /// CPU worker threads (0 = one per core)
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Initial encoder weights (acp)
    #[arg(long)]
    encoder: Option<PathBuf>,
    /// Snippet features from `lofi extract` (head)
    #[arg(long)]
    features: Option<PathBuf>,
    /// Clip set for acp (default DATA/clips)
    #[arg(long)]
    clips: Option<PathBuf>,
    /// Master seed of the run
    #[arg(long)]
    seed: Option<u64>,
    /// cpu, cuda or cuda:N
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Pool budget (e.g. 32GiB); a step that cannot fit is refused before training starts
    #[arg(long)]
    memory_budget: Option<String>,
    /// No progress output
    #[arg(long)]
    quiet: bool,
}

/// The configuration of `args`: defaults, then the file, then the flags.
pub fn resolve(args: &Args, stage: Stage) -> anyhow::Result<TrainConfig> {
    let mut cfg = TrainConfig::load(stage, args.config.as_deref())?;
    if let Some(s) = args.steps {
        cfg.data.steps = Some(s);
    }
    if let Some(e) = args.epochs {
        cfg.data.epochs = e;
        if args.steps.is_none() {
            cfg.data.steps = None;
        }
    }
    if let Some(b) = args.batch {
        cfg.data.batch = b;
    }
    if let Some(n) = args.checkpoint_every {
        cfg.checkpoint.every = n;
    }
    if let Some(k) = args.keep {
        cfg.checkpoint.keep = k;
    }
    if let Some(s) = args.seed {
        cfg.seed = s;
    }
    cfg.validate()?;
    Ok(cfg)
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let stage = Stage::parse(&args.stage)?;
    let cfg = resolve(args, stage)?;
    set_threads(args.threads)?;
    let budget = args.memory_budget.as_deref().map(|s| parse_size(s, "--memory-budget")).transpose()?;
    let device = open_device(parse_device(&args.device)?, budget)?;
    let inputs = StageInputs {
        data: args.data.clone(),
        out: args.out.clone(),
        clips: args.clips.clone(),
        features: args.features.clone(),
        encoder: args.encoder.clone(),
        resume: args.resume,
        device,
        memory_budget: budget,
    };
    let mut progress = Progress::new(args.quiet);
    let context = || format!("lofi train --stage {} into {}", stage.name(), args.out.display());
    match stage {
        Stage::Acp => {
            let r = stages::acp::run(&cfg, &inputs, &mut progress).with_context(context)?;
            let acc =
                r.heldout_accuracy.map_or("no held-out clips".into(), |a| format!("held-out clip accuracy {:.3}", a));
            println!(
                "acp: {} steps in {:.1} s, {acc} ({} clips), peak {}; wrote {}",
                r.run.steps,
                r.run.wall_s,
                r.heldout_clips,
                super::bytes(r.run.peak_bytes),
                args.out.join(stages::FINAL_FILE).display()
            );
        }
        Stage::Head => {
            let r = stages::head::run(&cfg, &inputs, &mut progress).with_context(context)?;
            println!(
                "head: {} steps on {} videos (L = {}, {} features) in {:.1} s, loss {:.4} → {:.4}, peak {}; wrote {}",
                r.run.steps,
                r.videos,
                r.snippets,
                r.feature_dim,
                r.run.wall_s,
                r.run.first_losses.get("total").copied().unwrap_or(f64::NAN),
                r.run.last_losses.get("total").copied().unwrap_or(f64::NAN),
                super::bytes(r.run.peak_bytes),
                args.out.join(stages::FINAL_FILE).display()
            );
        }
    }
    Ok(())
}
