//! `lofi selftest`: every CUDA kernel against its CPU twin (logic in
//! `lofi::backend::cuda::selftest`), then the composed check (`composed`: encoder + G-TAD head,
//! forward and backward, against the CPU). One PASS/FAIL line per check; exit 0 when all pass, 1
//! when any fails, 3 when there is no CUDA driver or device.

mod composed;

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use lofi::backend::cuda::{selftest, KernelSource};

use super::{open_cuda, EXIT_FAILURE, EXIT_SKIPPED};
use lofi::backend::cuda::CudaKernels;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// CUDA device ordinal
    #[arg(long, default_value_t = 0)]
    device: usize,
    /// Seed of the random inputs (default: a fresh one, printed so a failure can be replayed)
    #[arg(long)]
    seed: Option<u64>,
    /// Where kernel modules are loaded from: auto (fatbin, then PTX, then NVRTC), fatbin, ptx, nvrtc
    #[arg(long, default_value = "auto")]
    kernels: KernelSource,
}

/// A seed that differs from run to run (inputs are fresh each run, so repeated runs cover more).
pub fn fresh_seed() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let Some(dev) = open_cuda("selftest", args.device, args.kernels)? else {
        return Ok(ExitCode::from(EXIT_SKIPPED));
    };
    let seed = args.seed.unwrap_or_else(fresh_seed);
    if let Some(cuda) = dev.cuda_device() {
        let (major, minor) = cuda.compute_capability();
        println!(
            "lofi selftest: cuda:{} {} (sm_{major}{minor}), kernels {}, seed {seed}",
            args.device,
            cuda.name(),
            args.kernels
        );
    }
    let report = |c: &selftest::Check| {
        let verdict = if c.passed() { "PASS" } else { "FAIL" };
        match &c.failure {
            None => println!("{verdict} {:<30} error {:9.3e}  (tol {:.0e})", c.name, c.error, c.tolerance),
            Some(why) => println!("{verdict} {:<30} {why}", c.name),
        }
    };
    let mut checks = selftest::run_all(&dev, seed, report);
    for dtype in [lofi::DType::F32, lofi::DType::BF16] {
        let whole = composed::run(&dev, seed, dtype);
        report(&whole);
        checks.push(whole);
    }
    if let Some(cuda) = dev.cuda_device() {
        let sources: Vec<String> = cuda.loaded_sources()?.iter().map(|(m, s)| format!("{}={s}", m.stem())).collect();
        println!("modules loaded from: {}", sources.join(" "));
    }
    let failed = checks.iter().filter(|c| !c.passed()).count();
    println!("selftest: {} passed, {failed} failed", checks.len() - failed);
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(EXIT_FAILURE) })
}
