//! The clap front end: one file per subcommand. Commands print and choose exit codes; the library
//! never does either.

mod bench;
mod info;
mod selftest;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
                cuda.set_kernel_source(kernels);
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
