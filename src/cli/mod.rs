//! The clap front end: one file per subcommand. Commands print and choose exit codes; the library
//! never does either.

mod bench;
mod bench_step;
mod device;
pub mod eval;
mod extract;
mod infer;
mod info;
mod model_info;
mod pipeline;
mod plan;
pub mod prepare;
mod progress;
mod selftest;
pub mod synth;
mod train;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use lofi::backend::cuda::CudaKernels;

/// A check failed (or a command errored).
pub const EXIT_FAILURE: u8 = 1;
/// Nothing to check here: no CUDA driver or device.
pub const EXIT_SKIPPED: u8 = 3;

#[derive(Debug, Parser)]
#[command(name = "lofi", version, about = "LoFi-E2E temporal action localization: Rust + CUDA, exact memory control")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Make the synthetic untrimmed-video benchmark (ActivityNet-format JSON + frames + clips)
    Synth(synth::Args),
    /// Decode videos with ffmpeg into the frame store at a chosen fps and short side
    Prepare(prepare::Args),
    /// The whole LoFi-E2E procedure with its baselines, per seed, and the report (default: synthetic benchmark)
    Pipeline(pipeline::Args),
    /// Which fidelity, batch, snippets per call and recompute fit a memory budget, and how fast
    Plan(plan::Args),
    /// Train one stage: acp, head, lofi, e2e-full or acp-plus
    Train(Box<train::Args>),
    /// Frozen-encoder snippet features of every video (.npy per video + index.json)
    Extract(extract::Args),
    /// ActivityNet detections of a trained head on snippet features
    Infer(infer::Args),
    /// ActivityNet detection mAP of a result file at tIoU thresholds
    Eval(eval::EvalArgs),
    /// Devices, memory budgets, fixed CUDA overhead, CUDA library versions, how kernels are embedded
    Info(info::Args),
    /// Every CUDA kernel against its CPU twin on fresh random inputs (exit 3: no CUDA device)
    Selftest(selftest::Args),
    /// Check, then time the CUDA kernels (GB/s vs a device copy) and cuBLAS GEMMs (TFLOP/s)
    Bench(bench::Args),
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Info(a) => info::run(&a),
        Command::Selftest(a) => selftest::run(&a),
        Command::Bench(a) => bench::run(&a),
        Command::Synth(a) => synth::run(a).map(|()| ExitCode::SUCCESS),
        Command::Prepare(a) => prepare::run(a).map(|()| ExitCode::SUCCESS),
        Command::Eval(a) => eval::run(&a).map(|()| ExitCode::SUCCESS),
        Command::Pipeline(a) => pipeline::run(&a).map(|()| ExitCode::SUCCESS),
        Command::Plan(a) => plan::run(&a).map(|()| ExitCode::SUCCESS),
        Command::Train(a) => train::run(&a).map(|()| ExitCode::SUCCESS),
        Command::Extract(a) => extract::run(&a).map(|()| ExitCode::SUCCESS),
        Command::Infer(a) => infer::run(&a).map(|()| ExitCode::SUCCESS),
    }
}

/// Opens CUDA device `ordinal` with modules loaded from `kernels`; `Ok(None)` (after printing the
/// skipped line) when there is no CUDA driver or device.
fn open_cuda(
    command: &str,
    ordinal: usize,
    kernels: lofi::backend::cuda::KernelSource,
) -> anyhow::Result<Option<lofi::Device>> {
    match lofi::Device::cuda(ordinal, None) {
        Ok(dev) => {
            if let Some(cuda) = dev.cuda_device() {
                cuda.set_kernel_source(kernels)?;
            }
            Ok(Some(dev))
        }
        Err(lofi::Error::NoCuda(why)) => {
            println!("lofi {command}: no CUDA device — skipped ({why})");
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// Bytes in binary units: "1.50 GiB".
fn bytes(n: usize) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.2} {}", UNITS[unit])
    }
}

/// A progress bar on stderr (hidden when stderr is not a terminal, as in tests and CI logs).
pub fn progress_bar(what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(0);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} {elapsed_precise} eta {eta}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
}
