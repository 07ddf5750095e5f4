//! `lofi extract`: frozen-encoder snippet features of every video of a dataset (one `.npy` [L, C]
//! per video + `index.json`; `lofi::train::extract`).

use std::path::PathBuf;

use anyhow::Context;
use lofi::train::extract::{extract, EncoderSource, ExtractOptions};
use lofi::train::presets::{fidelity_name, parse_fidelity};

use super::device::{open_device, parse_device, set_threads};
use super::progress_bar;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Encoder weights (e.g. OUT/final.safetensors of `lofi train --stage acp`), or `random`
    #[arg(long)]
    encoder: String,
    /// Architecture of a weight file without lofi metadata, or of `random`
    #[arg(long)]
    encoder_preset: Option<String>,
    /// Seed of a random encoder
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Dataset directory: annotations.json and frames/
    #[arg(long)]
    data: PathBuf,
    /// Feature store to write
    #[arg(long)]
    out: PathBuf,
    /// LxS (e.g. 32x32) or LxHxW; default: the encoder's full fidelity
    #[arg(long)]
    fidelity: Option<String>,
    /// Videos per encoder pass
    #[arg(long, default_value_t = 4)]
    batch: usize,
    /// Snippets per encoder call
    #[arg(long, default_value_t = 64)]
    snippets_per_call: usize,
    /// CPU worker threads (0 = one per core)
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// cpu, cuda or cuda:N
    #[arg(long, default_value = "cpu")]
    device: String,
    /// No progress bar
    #[arg(long)]
    quiet: bool,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let encoder = if args.encoder == "random" {
        EncoderSource::Random {
            preset: args.encoder_preset.clone().unwrap_or_else(|| "synthetic-tiny".into()),
            seed: args.seed,
        }
    } else {
        EncoderSource::File { path: PathBuf::from(&args.encoder), preset: args.encoder_preset.clone() }
    };
    let fidelity = args.fidelity.as_deref().map(|f| parse_fidelity(f, "--fidelity")).transpose()?;
    set_threads(args.threads)?;
    let opts = ExtractOptions {
        encoder,
        data: args.data.clone(),
        out: args.out.clone(),
        fidelity,
        batch: args.batch,
        snippets_per_call: args.snippets_per_call,
        loader_threads: 0,
        device: open_device(parse_device(&args.device)?, None)?,
    };
    let bar = if args.quiet { indicatif::ProgressBar::hidden() } else { progress_bar("extract") };
    let index = extract(&opts, &mut |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })
    .with_context(|| format!("lofi extract into {}", args.out.display()))?;
    bar.finish_and_clear();
    println!(
        "extracted {} videos at {} ({} features per snippet) into {}",
        index.videos.len(),
        fidelity_name(&index.fidelity),
        index.feature_dim,
        args.out.display()
    );
    Ok(())
}
