//! `lofi synth`: writes the synthetic benchmark (docs/synthetic.md) into a folder.

use crate::cli::progress_bar;
use anyhow::Context;
use lofi::data::synth::{generate_with, BgMode, SynthConfig, SynthOptions};
use std::path::PathBuf;

/// Make the synthetic benchmark. Defaults are the validated design; the knobs exist for ablations
/// (docs/synthetic.md says what each one does to the effect).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Output folder: missing, empty, or an earlier lofi synth output, which is replaced as a
    /// whole once the new dataset is complete (it is built in a hidden sibling folder).
    #[arg(long)]
    out: PathBuf,
    /// Replace --out even if it holds something other than a lofi synth output (all of it is removed).
    #[arg(long)]
    force: bool,
    /// Videos per split (training and validation each).
    #[arg(long, default_value_t = 200)]
    videos: usize,
    /// Trimmed 1 s clips for classification pre-training.
    #[arg(long, default_value_t = 6000)]
    clips: usize,
    /// Dataset seed offset: the data are drawn from seed 1000 + SEED.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// What the actor does outside actions.
    #[arg(long, value_enum, default_value_t = BgMode::Wander)]
    bg_mode: BgMode,
    /// Wander σ of the actor outside actions, px/s per axis.
    #[arg(long, default_value_t = 3.0)]
    wander_sigma: f64,
    /// Wander σ of the distractors, px/s per axis.
    #[arg(long, default_value_t = 3.0)]
    distractor_sigma: f64,
    /// Draw the clips from the target distribution instead of the shifted source one.
    #[arg(long)]
    no_clip_shift: bool,
    /// Probability that the background texture orientation encodes the class (scene shortcut).
    #[arg(long, default_value_t = 0.0)]
    ctx_p: f64,
    /// Soft onset of each action over this many seconds (0 = none).
    #[arg(long, default_value_t = 0.0)]
    ramp: f64,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let cfg = SynthConfig {
        seed: args.seed,
        videos_per_split: args.videos,
        clips: args.clips,
        bg_mode: args.bg_mode,
        wander_sigma: args.wander_sigma,
        distractor_sigma: args.distractor_sigma,
        clip_shift: !args.no_clip_shift,
        ctx_p: args.ctx_p,
        ramp_s: args.ramp,
        ..SynthConfig::default()
    };
    let bar = progress_bar("synth");
    let opts = SynthOptions { force: args.force };
    let summary = generate_with(&args.out, &cfg, opts, &bar)
        .with_context(|| format!("lofi synth into {}", args.out.display()))?;
    bar.finish_and_clear();
    for warning in &summary.warnings {
        eprintln!("warning: {warning}");
    }
    println!(
        "wrote {} videos ({} actions) and {} clips to {} (dataset seed {})",
        summary.videos,
        summary.actions,
        summary.clips,
        summary.out.display(),
        cfg.dataset_seed()
    );
    Ok(())
}
