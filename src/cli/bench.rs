//! `lofi bench`: the CUDA kernels and cuBLAS GEMMs, each checked against the CPU before it is
//! timed (logic in `lofi::backend::cuda::bench`). Exit 0 when every check passed, 1 when any
//! failed (those rows get no number), 3 when there is no CUDA driver or device.

use std::process::ExitCode;

use lofi::backend::cuda::bench::{self, GemmMode, Timer, RESNET18_GEMMS};
use lofi::backend::cuda::kernels::KERNEL_DTYPES;
use lofi::backend::cuda::{libs, selftest, KernelSource};

use super::{bytes, open_cuda, EXIT_FAILURE, EXIT_SKIPPED};

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    what: Option<What>,
    /// CUDA device: cuda or cuda:N
    #[arg(long, default_value = "cuda")]
    device: String,
    /// Timed repeats per kernel (the median is reported)
    #[arg(long, default_value_t = 50)]
    repeats: usize,
    /// Untimed launches before timing
    #[arg(long, default_value_t = 5)]
    warmup: usize,
    /// Where kernel modules are loaded from: auto, fatbin, ptx, nvrtc
    #[arg(long, default_value = "auto")]
    kernels: KernelSource,
}

/// Bytes of the device-to-device copy every bandwidth is compared with.
const COPY_BYTES: usize = 256 << 20;

#[derive(Debug, clap::Subcommand)]
enum What {
    /// Time the real training step (median after warm-up), with the dry run's predictions
    Step(super::bench_step::StepArgs),
    /// Measure a device's costs for the step-time model of `lofi plan`: real training steps of a calibration set, fitted
    Device(super::bench_step::DeviceArgs),
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    match &args.what {
        Some(What::Step(a)) => return super::bench_step::run_step(a).map(|()| ExitCode::SUCCESS),
        Some(What::Device(a)) => return super::bench_step::run_device(a).map(|()| ExitCode::SUCCESS),
        None => {}
    }
    let ordinal = match super::device::parse_device(&args.device)? {
        lofi::DeviceKind::Cuda(n) => n,
        _ => {
            anyhow::bail!("invalid value for --device: the kernel bench compares CUDA against the CPU (cuda or cuda:N)")
        }
    };
    let Some(dev) = open_cuda("bench", ordinal, args.kernels)? else {
        return Ok(ExitCode::from(EXIT_SKIPPED));
    };
    let Some(cuda) = dev.cuda_device() else { return Ok(ExitCode::from(EXIT_SKIPPED)) };
    let (major, minor) = cuda.compute_capability();
    println!(
        "lofi bench: cuda:{} {} (sm_{major}{minor}), driver CUDA {}, kernels {}, median of {} repeats after {} warm-up, L2 flushed",
        ordinal,
        cuda.name(),
        libs::driver_version().unwrap_or_else(|| "?".into()),
        args.kernels,
        args.repeats,
        args.warmup
    );
    let timer = Timer::new(&dev, args.warmup, args.repeats)?;
    let (copy, copy_bytes) = bench::copy_baseline(&dev, &timer, COPY_BYTES)?;
    let copy_gbs = bench::gb_per_s(copy_bytes, copy.median_ms);
    println!(
        "d2d copy of {}: {:.1} us, {copy_gbs:.0} GB/s (read + write): the 100% line",
        bytes(COPY_BYTES),
        copy.median_ms * 1e3
    );

    let seed = super::selftest::fresh_seed();
    let cases = selftest::cases();
    let mut failed = 0;
    println!("{:<26} {:>10} {:>9} {:>8} {:>10}", "kernel", "us", "GB/s", "of copy", "moved");
    for dtype in KERNEL_DTYPES {
        for kb in bench::kernel_benches(dtype) {
            // Check first: a kernel that fails its selftest case gets no number.
            let check = cases.iter().find(|c| c.name == kb.name).map(|c| c.run(&dev, seed));
            match check {
                Some(c) if c.passed() => {}
                Some(c) => {
                    failed += 1;
                    let why =
                        c.failure.unwrap_or_else(|| format!("scaled error {:.3e} > {:.0e}", c.error, c.tolerance));
                    println!("FAIL {:<21} not timed: {why}", kb.name);
                    continue;
                }
                None => {
                    failed += 1;
                    println!("FAIL {:<21} not timed: no selftest case to check it", kb.name);
                    continue;
                }
            }
            let mut prepared = kb.prepare(&dev)?;
            let t = timer.time(&mut prepared.launch)?;
            let gbs = bench::gb_per_s(prepared.bytes, t.median_ms);
            println!(
                "{:<26} {:>10.1} {:>9.0} {:>7.0}% {:>10}",
                kb.name,
                t.median_ms * 1e3,
                gbs,
                100.0 * gbs / copy_gbs,
                bytes(prepared.bytes)
            );
        }
    }

    println!("cuBLAS GEMM at ResNet-18 im2col shapes (y[m,n] = W[m,k]·cols[k,n], 8 frames at 224²), TFLOP/s:");
    let modes: String = GemmMode::ALL.iter().map(|m| format!(" {:>9}", m.name())).collect();
    println!("{:<26} {:>5} {:>5} {:>7}{modes}", "layer", "m", "k", "n");
    for shape in RESNET18_GEMMS {
        let mut cells = Vec::new();
        for mode in GemmMode::ALL {
            let r = bench::gemm(&dev, &timer, shape, mode, seed)?;
            cells.push(match r.timing {
                Some(t) => format!("{:.1}", bench::tflops(shape, t.median_ms)),
                None => {
                    failed += 1;
                    format!("FAIL({:.0e})", r.error)
                }
            });
        }
        let cells: String = cells.iter().map(|c| format!(" {c:>9}")).collect();
        println!("{:<26} {:>5} {:>5} {:>7}{cells}", shape.name, shape.m, shape.k, shape.n);
    }
    println!("pool peak during bench: {}", bytes(dev.pool().peak()));
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(EXIT_FAILURE) })
}
