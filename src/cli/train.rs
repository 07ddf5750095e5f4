//! `lofi train --stage NAME`: one training stage into a run directory (`lofi::train::stages`
//! documents what each stage reads and writes). Flags override the config file, which overrides
//! the stage's defaults; the resolved config lands in `OUT/config.toml`.

use std::path::PathBuf;

use anyhow::Context;
use lofi::memory::parse_size;
use lofi::train::config::{LofiConfig, Stage, TrainConfig};
use lofi::train::stages::{self, StageInputs};

use super::device::{open_device, parse_device, set_threads};
use super::progress::Progress;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// acp, head, lofi, e2e-full or acp-plus
    #[arg(long)]
    stage: String,
    /// LoFi configuration of --stage lofi: s, t, st, c-short, c-long
    #[arg(long)]
    lofi: Option<String>,
    /// Reduction of pixels × snippets per video for the LoFi configurations (synthetic default 2)
    #[arg(long)]
    lofi_ratio: Option<f64>,
    /// Fidelity of a fixed LoFi configuration (LxS or LxHxW), overriding the ratio
    #[arg(long)]
    fidelity: Option<String>,
    /// Initial head weights (lofi, e2e-full: the head stage's final.safetensors)
    #[arg(long)]
    head: Option<PathBuf>,
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
    /// Initial encoder weights (acp: optional; lofi, e2e-full, acp-plus: the ACP encoder)
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
    /// Recompute in backward: auto (the cheapest that fits --memory-budget), none, chunk, stage
    #[arg(long)]
    recompute: Option<String>,
    /// Snippets per encoder call (train-mode BN normalises per call)
    #[arg(long)]
    snippets_per_call: Option<usize>,
    /// fp32, or bf16: f32 master weights, optimizer state and BN statistics, bf16 encoder
    /// activations, f32 accumulation (docs/memory.md)
    #[arg(long)]
    precision: Option<String>,
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
    if let Some(r) = &args.recompute {
        cfg.model.recompute = lofi::train::budget::RecomputeSetting::parse(r, "--recompute")?;
    }
    if let Some(k) = args.snippets_per_call {
        cfg.model.snippets_per_call = k;
    }
    if let Some(p) = &args.precision {
        cfg.model.precision = lofi::train::spec::Precision::parse(p, "--precision")?;
    }
    if let Some(c) = &args.lofi {
        cfg.lofi.config = LofiConfig::parse(c)?;
    }
    if let Some(r) = args.lofi_ratio {
        cfg.lofi.ratio = r;
    }
    if let Some(f) = &args.fidelity {
        lofi::train::presets::parse_fidelity(f, "--fidelity")?;
        match cfg.lofi.config {
            LofiConfig::S => cfg.lofi.s = Some(f.clone()),
            LofiConfig::T => cfg.lofi.t = Some(f.clone()),
            LofiConfig::St => cfg.lofi.st = Some(f.clone()),
            LofiConfig::CShort | LofiConfig::CLong => {
                anyhow::bail!(
                    "invalid value for --fidelity: a C-LoFi cycle has three; set lofi.s, lofi.t, lofi.st in --config"
                )
            }
        }
    }
    if stage != Stage::Lofi && (args.lofi.is_some() || args.lofi_ratio.is_some() || args.fidelity.is_some()) {
        anyhow::bail!("--lofi, --lofi-ratio and --fidelity belong to --stage lofi");
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
        head: args.head.clone(),
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
        Stage::Lofi | Stage::E2eFull => {
            let r = stages::e2e::run(&cfg, &inputs, &mut progress).with_context(context)?;
            let used: Vec<String> = r
                .fidelities
                .iter()
                .map(|f| format!("{} ({} steps, peak {})", f.fidelity, f.steps, super::bytes(f.peak_bytes)))
                .collect();
            println!(
                "{} {}: {} steps on {} videos in {:.1} s, loss {:.4} → {:.4}, fidelities {}; wrote {}",
                stage.name(),
                r.configuration,
                r.run.steps,
                r.videos,
                r.run.wall_s,
                r.run.first_losses.get("total").copied().unwrap_or(f64::NAN),
                r.run.last_losses.get("total").copied().unwrap_or(f64::NAN),
                used.join(", "),
                args.out.join(stages::FINAL_FILE).display()
            );
        }
        Stage::AcpPlus => {
            let r = stages::acp_plus::run(&cfg, &inputs, &mut progress).with_context(context)?;
            println!(
                "acp-plus: {} steps on {} segments ({} source clips per batch) in {:.1} s, loss {:.4} → {:.4}; wrote {}",
                r.run.steps,
                r.segments,
                r.source_per_batch,
                r.run.wall_s,
                r.run.first_losses.get("total").copied().unwrap_or(f64::NAN),
                r.run.last_losses.get("total").copied().unwrap_or(f64::NAN),
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
