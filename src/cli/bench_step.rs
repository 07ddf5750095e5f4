//! `lofi bench step` and `lofi bench device`: the training step timed as `train/` runs it, and
//! the device rates the planner's step-time model uses (`lofi::train::bench`).

use std::path::PathBuf;

use lofi::train::bench::time_step;
use lofi::train::budget::RecomputeSetting;
use lofi::train::cost::{DeviceRates, COUNTS};
use lofi::train::optimizer::OptimConfig;
use lofi::train::presets::{fidelity_name, parse_fidelity};
use lofi::train::rates::{default_calibration, measure_rates};
use lofi::train::spec::{HeadSpec, Precision, StepSpec};

use super::device::{open_device, parse_device, set_threads};

#[derive(clap::Args, Debug)]
pub struct StepArgs {
    /// Encoder preset: resnet18, resnet50, synthetic-tiny, or none (the head on features)
    #[arg(long, default_value = "synthetic-tiny")]
    encoder: String,
    /// Head preset (gtad-activitynet, gtad-synthetic), or none: a linear classifier (the ACP step)
    #[arg(long, default_value = "none")]
    head: String,
    /// LxS or LxHxW: snippets per sample and frame size (1x32 = one snippet per clip at 32²)
    #[arg(long, default_value = "1x32")]
    fidelity: String,
    /// Samples (videos or clips) per step
    #[arg(long, default_value_t = 128)]
    batch: usize,
    /// Snippets per encoder call (default: the whole batch in one call)
    #[arg(long)]
    snippets_per_call: Option<usize>,
    /// none, chunk, stage
    #[arg(long, default_value = "none")]
    recompute: String,
    /// fp32 or bf16
    #[arg(long, default_value = "fp32")]
    precision: String,
    /// Classes of the classifier
    #[arg(long, default_value_t = 6)]
    classes: usize,
    /// Width of the features when --encoder none
    #[arg(long, default_value_t = 64)]
    in_channels: usize,
    /// cpu, cuda or cuda:N
    #[arg(long, default_value = "cpu")]
    device: String,
    /// CPU worker threads (0 = one per core)
    #[arg(long, default_value_t = 0)]
    threads: usize,
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    #[arg(long, default_value_t = 7)]
    repeats: usize,
    /// Device rates for the time prediction (lofi bench device --json)
    #[arg(long)]
    rates: Option<PathBuf>,
    /// Also print the kernel time per launching op over the timed steps (CPU profiling)
    #[arg(long)]
    profile: bool,
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
pub struct DeviceArgs {
    /// cpu, cuda or cuda:N
    #[arg(long, default_value = "cpu")]
    device: String,
    /// CPU worker threads (0 = one per core)
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Timed steps per calibration step (the median is used; one warm-up step before)
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    #[arg(long)]
    json: bool,
}

pub fn run_step(a: &StepArgs) -> anyhow::Result<()> {
    set_threads(a.threads)?;
    let kind = parse_device(&a.device)?;
    let device = open_device(kind, None)?;
    let fidelity = parse_fidelity(&a.fidelity, "--fidelity")?;
    let precision = Precision::parse(&a.precision, "--precision")?;
    let recompute = RecomputeSetting::parse(&a.recompute, "--recompute")?
        .fixed()
        .ok_or_else(|| anyhow::anyhow!("invalid value for --recompute: auto needs a budget; name a policy"))?;
    let encoder = (a.encoder != "none").then(|| a.encoder.clone());
    let classes = vec![String::new(); a.classes.max(1)];
    let in_channels = match &encoder {
        Some(e) => lofi::train::presets::encoder_config(e)?.feature_dim(),
        None => a.in_channels,
    };
    let head = match a.head.as_str() {
        "none" => HeadSpec::Classifier { classes },
        preset => HeadSpec::Tal { preset: preset.to_string(), in_channels, classes },
    };
    let spec = StepSpec {
        encoder,
        head,
        fidelity,
        batch: a.batch,
        snippets_per_call: a.snippets_per_call.unwrap_or(a.batch * fidelity.snippets),
        recompute,
        precision,
        optim: OptimConfig::default(),
    };
    let rates = match &a.rates {
        Some(p) => DeviceRates::load(p)?,
        None => DeviceRates::default_for(kind),
    };
    let t = time_step(&spec, &device, a.warmup, a.repeats, &rates, a.profile)?;
    if a.json {
        let v = serde_json::json!({
            "encoder": a.encoder, "head": a.head, "fidelity": fidelity_name(&fidelity), "batch": a.batch,
            "snippets_per_call": spec.snippets_per_call, "recompute": a.recompute, "precision": a.precision,
            "device": a.device, "threads": rayon::current_num_threads(),
            "median_s": t.median_s, "steps_s": t.steps_s, "frames_per_s": t.frames_per_s,
            "gemm_gflops_per_s": t.gemm_gflops_per_s, "peak_bytes": t.peak_bytes,
            "predicted_peak_bytes": t.predicted_peak_bytes, "predicted_step_s": t.predicted_step_s,
            "driver_used_bytes": t.driver_used_bytes, "overhead_bytes": t.overhead_bytes,
            "dry_run": t.dry_run, "kernel_times": t.kernel_times,
        });
        println!("{}", serde_json::to_string(&v)?);
    } else {
        println!(
            "step {} + {} at {} × {} on {} ({} threads): median {:.1} ms ({} steps after {} warm-up), {:.0} frames/s, \
             GEMM {:.1} GFLOP/s, pool peak {} B (predicted {} B), predicted {:.1} ms",
            a.encoder,
            a.head,
            fidelity_name(&fidelity),
            a.batch,
            a.device,
            rayon::current_num_threads(),
            1e3 * t.median_s,
            a.repeats,
            a.warmup,
            t.frames_per_s,
            t.gemm_gflops_per_s,
            t.peak_bytes,
            t.predicted_peak_bytes,
            1e3 * t.predicted_step_s
        );
        if a.profile {
            print_profile(&t.kernel_times, t.steps_s.len(), t.steps_s.iter().sum());
        }
    }
    Ok(())
}

pub fn run_device(a: &DeviceArgs) -> anyhow::Result<()> {
    set_threads(a.threads)?;
    let device = open_device(parse_device(&a.device)?, None)?;
    let r = measure_rates(&device, &default_calibration(), a.repeats)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        println!("{}: {}", r.device, r.source);
        for (name, cost) in COUNTS.iter().zip(r.costs()) {
            println!("  {name:>22}: {cost:.3e} s each");
        }
        println!("  calibration steps (measured → predicted):");
        for s in &r.calibration {
            println!("    {:<60} {:8.1} ms → {:8.1} ms", s.step, 1e3 * s.measured_s, 1e3 * s.predicted_s);
        }
    }
    Ok(())
}

/// The kernel-time table: per op, ms per step and share of the step; the remainder is time outside
/// kernels (autograd bookkeeping, the pool, the host side of the step).
fn print_profile(rows: &[lofi::tensor::kernel_times::KernelTime], steps: usize, total_s: f64) {
    let per_step = |s: f64| 1e3 * s / steps.max(1) as f64;
    println!("{:>9} {:>6} {:>8}  op (kernel time per step over {steps} steps)", "ms/step", "share", "calls");
    let mut in_kernels = 0.0;
    for r in rows {
        in_kernels += r.seconds;
        println!(
            "{:>9.2} {:>5.1}% {:>8}  {}",
            per_step(r.seconds),
            100.0 * r.seconds / total_s,
            r.calls / steps.max(1) as u64,
            r.op
        );
    }
    let rest = (total_s - in_kernels).max(0.0);
    println!("{:>9.2} {:>5.1}% {:>8}  (outside kernels)", per_step(rest), 100.0 * rest / total_s, "");
}
