//! `lofi pipeline`: the whole LoFi-E2E procedure and its baselines on the synthetic benchmark (or
//! `--data DIR`), per seed, then `OUT/report.md`, `OUT/report.json` and `OUT/plots/`
//! (`lofi::pipeline`). Re-running the same command skips what is done.

use std::path::PathBuf;

use anyhow::Context;
use lofi::memory::parse_size;
use lofi::pipeline::{self, PipelineConfig, PipelineOptions, Recipe};

use super::device::{parse_device, set_threads};
use super::progress::Progress;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A dataset in lofi's layout (annotations.json with training and validation, frames/,
    /// clips/); default: the synthetic benchmark, generated per seed
    #[arg(long)]
    data: Option<PathBuf>,
    /// Seeds, comma-separated (the synthetic dataset seed is 1000 + seed)
    #[arg(long, default_value = "0")]
    seeds: String,
    /// Output directory
    #[arg(long, default_value = "lofi-pipeline")]
    out: PathBuf,
    /// Named settings: synthetic (the validated synthetic recipe) or paper (ActivityNet setting)
    #[arg(long, default_value = "synthetic")]
    recipe: String,
    /// Pipeline TOML: methods, [synth] size, [extract], [stage.<name>] overlays
    #[arg(long)]
    config: Option<PathBuf>,
    /// ACP clip set (default DATA/clips)
    #[arg(long)]
    clips: Option<PathBuf>,
    /// A pre-trained encoder used in place of the ACP stage
    #[arg(long)]
    encoder: Option<PathBuf>,
    /// CPU worker threads (0 = one per core)
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// cpu, cuda or cuda:N
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Pool budget of every job (e.g. 32GiB)
    #[arg(long)]
    memory_budget: Option<String>,
    /// No progress output
    #[arg(long)]
    quiet: bool,
}

/// `0,1,2` → [0, 1, 2].
fn parse_seeds(text: &str) -> anyhow::Result<Vec<u64>> {
    let seeds: Result<Vec<u64>, _> = text.split(',').map(|s| s.trim().parse::<u64>()).collect();
    match seeds {
        Ok(s) if !s.is_empty() => Ok(s),
        _ => anyhow::bail!("invalid value for --seeds: {text:?} (comma-separated whole numbers, e.g. 0,1,2)"),
    }
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let seeds = parse_seeds(&args.seeds)?;
    let recipe = Recipe::parse(&args.recipe)?;
    let config = match &args.config {
        Some(p) => PipelineConfig::load(p)?,
        None => PipelineConfig::default(),
    };
    let memory_budget = args.memory_budget.as_deref().map(|s| parse_size(s, "--memory-budget")).transpose()?;
    set_threads(args.threads)?;
    let opts = PipelineOptions {
        out: args.out.clone(),
        seeds,
        data: args.data.clone(),
        clips: args.clips.clone(),
        encoder: args.encoder.clone(),
        recipe,
        config,
        device: parse_device(&args.device)?,
        memory_budget,
        command: std::env::args().collect::<Vec<_>>().join(" "),
    };
    let mut progress = Progress::new(args.quiet);
    let outcome =
        pipeline::run(&opts, &mut progress).with_context(|| format!("lofi pipeline into {}", args.out.display()))?;
    let summary = pipeline::report::summarise(&outcome.rows);
    println!("average mAP (%), mean over seeds {:?}:", opts.seeds);
    for m in pipeline::Method::ALL {
        if let Some(s) = summary.get(m.name()) {
            let gain = if m == pipeline::Method::Acp || s.paired_gain.is_empty() {
                String::new()
            } else {
                format!("  (vs ACP {:+.2} ± {:.2})", 100.0 * s.paired_gain_mean, 100.0 * s.paired_gain_sd)
            };
            println!("  {:<13} {:6.2} ± {:.2}{gain}", m.name(), 100.0 * s.average_mean, 100.0 * s.average_sd);
        }
    }
    println!("wrote {} and {}", args.out.join("report.md").display(), args.out.join("report.json").display());
    Ok(())
}
