//! `lofi infer`: ActivityNet detections (and the head's video class scores) from a trained head
//! and snippet features (`lofi::train::infer`).

use std::path::PathBuf;

use anyhow::Context;
use lofi::post::SoftNms;
use lofi::train::infer::{infer, InferOptions};

use super::device::{open_device, parse_device};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Head weights (OUT/final.safetensors of `lofi train --stage head`)
    #[arg(long)]
    head: PathBuf,
    /// Feature store (`lofi extract` output)
    #[arg(long)]
    features: PathBuf,
    /// Result file to write (ActivityNet detection format)
    #[arg(long)]
    out: PathBuf,
    /// Video class scores to write (default: OUT with .classes.json)
    #[arg(long)]
    class_scores: Option<PathBuf>,
    /// Which videos
    #[arg(long, default_value = "validation")]
    subset: String,
    /// Gaussian soft-NMS σ (the LoFi paper's 0.84; G-TAD's default is 0.8)
    #[arg(long, default_value_t = 0.84)]
    nms_sigma: f64,
    /// Proposals kept per video after soft-NMS
    #[arg(long, default_value_t = 100)]
    top_k: usize,
    /// cpu, cuda or cuda:N
    #[arg(long, default_value = "cpu")]
    device: String,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    if !(args.nms_sigma.is_finite() && args.nms_sigma > 0.0) {
        anyhow::bail!("invalid value for --nms-sigma: {} (must be > 0)", args.nms_sigma);
    }
    let opts = InferOptions {
        head: args.head.clone(),
        features: args.features.clone(),
        out: args.out.clone(),
        class_scores: args.class_scores.clone(),
        subset: args.subset.clone(),
        nms: SoftNms { sigma: args.nms_sigma, top_k: args.top_k, emit_last: false },
        top_classes: 2,
        batch: 16,
        device: open_device(parse_device(&args.device)?, None)?,
    };
    let s = infer(&opts).with_context(|| format!("lofi infer into {}", args.out.display()))?;
    println!(
        "{} detections for {} videos in {}; class scores in {}",
        s.detections,
        s.videos,
        args.out.display(),
        s.class_scores.display()
    );
    Ok(())
}
