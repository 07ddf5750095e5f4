//! `lofi info`: what this machine offers lofi. Works without a GPU: CUDA parts then say what is
//! missing. With `--model gtad [--in-channels N]` it describes the model instead (`model_info`).

use lofi::backend::cuda::kernels::{Module, EMBEDDED, NVCC_VERSION};
use lofi::backend::cuda::{device_count, libs, nvrtc};
use lofi::Device;

use super::bytes;
use lofi::backend::cuda::CudaKernels;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Describe a model (its widths and parameter count) instead of the machine: `gtad`
    #[arg(long)]
    model: Option<String>,
    /// Channels of the snippet features the model reads (default 512, TSM-R18; needs --model)
    #[arg(long, requires = "model")]
    in_channels: Option<usize>,
}

fn found(v: Option<String>) -> String {
    v.unwrap_or_else(|| "not found".into())
}

pub fn run(args: &Args) -> anyhow::Result<std::process::ExitCode> {
    match args.model.as_deref() {
        Some("gtad") => {
            print!("{}", super::model_info::gtad_summary(args.in_channels.unwrap_or(512))?);
            return Ok(std::process::ExitCode::SUCCESS);
        }
        Some(other) => {
            return Err(lofi::Error::Config {
                flag: "--model".into(),
                msg: format!("{:?} (known: gtad)", lofi::jsonio::excerpt(other)),
            }
            .into())
        }
        None => {}
    }
    println!("lofi {}", env!("CARGO_PKG_VERSION"));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cpu_budget = Device::cpu().pool().budget();
    let budget = if cpu_budget == usize::MAX { "unlimited".to_string() } else { bytes(cpu_budget) };
    println!("cpu: {cores} cores, pool budget {budget}");

    println!("CUDA driver: {}", found(libs::driver_version().map(|v| format!("CUDA {v}"))));
    println!("NVRTC: {}", found(libs::nvrtc_version()));
    println!("cuBLAS: {}", found(libs::cublas_version()));
    let include =
        nvrtc::cuda_include_dir().map_or_else(|| "not found (set CUDA_HOME)".into(), |p| p.display().to_string());
    println!("CUDA headers for NVRTC: {include}");
    let compiled = EMBEDDED.iter().filter(|e| e.fatbin.is_some() && e.ptx.is_some()).count();
    match NVCC_VERSION {
        Some(v) if compiled == EMBEDDED.len() => {
            println!("kernels: {} modules embedded as fatbin (sm_80, sm_90, compute_90) + PTX (compute_80) from nvcc {v}, and as NVRTC source", EMBEDDED.len())
        }
        _ => println!("kernels: {} modules embedded as NVRTC source only (built without nvcc)", EMBEDDED.len()),
    }

    let count = match device_count() {
        Ok(n) => n,
        Err(e) => {
            println!("CUDA devices: none ({e})");
            return Ok(std::process::ExitCode::SUCCESS);
        }
    };
    println!("CUDA devices: {count}");
    for ordinal in 0..count {
        device(ordinal);
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// One device's lines; a device that fails to open or load says why and the others still print.
fn device(ordinal: usize) {
    let dev = match Device::cuda(ordinal, None) {
        Ok(d) => d,
        Err(e) => return println!("cuda:{ordinal}: {e}"),
    };
    let Some(cuda) = dev.cuda_device() else { return };
    let (major, minor) = cuda.compute_capability();
    println!(
        "cuda:{ordinal}: {}, sm_{major}{minor}, {} SMs, {} L2, {} total, {} free at open",
        cuda.name(),
        cuda.sm_count(),
        bytes(cuda.l2_bytes()),
        bytes(cuda.total_bytes()),
        bytes(cuda.free_bytes_at_open())
    );
    println!("  pool budget: {} (free memory at open)", bytes(dev.pool().budget()));
    let before = cuda.fixed_overhead();
    println!(
        "  fixed overhead outside the pool at open: {} (context, plus other processes on this GPU)",
        bytes(before)
    );
    match cuda.load_all(dev.pool()) {
        Ok(()) => println!(
            "  fixed overhead after loading every kernel module and cuBLAS: {} (+{})",
            bytes(cuda.fixed_overhead()),
            bytes(cuda.loaded_overhead())
        ),
        Err(e) => println!("  loading kernels and cuBLAS failed: {e}"),
    }
    let sources: Vec<String> =
        cuda.loaded_sources().unwrap_or_default().iter().map(|(m, s)| format!("{}={s}", m.stem())).collect();
    let missing = Module::ALL.len() - sources.len();
    println!(
        "  kernel modules loaded from: {}{}",
        sources.join(" "),
        if missing > 0 { format!(" ({missing} not loaded)") } else { String::new() }
    );
    println!("  pool after loading: {} in use (the cuBLAS workspace)", bytes(dev.pool().in_use()));
}
