//! The `--device` and `--threads` flags every compute command shares: `cpu`, `cuda` or `cuda:N`,
//! with an optional pool budget; the CPU worker-thread count.

use lofi::{Device, DeviceKind};

/// Parses `cpu`, `cuda`, `cuda:N`.
pub fn parse_device(text: &str) -> anyhow::Result<DeviceKind> {
    match text.trim() {
        "cpu" => Ok(DeviceKind::Cpu),
        "cuda" => Ok(DeviceKind::Cuda(0)),
        other => match other.strip_prefix("cuda:").map(str::parse::<usize>) {
            Some(Ok(n)) => Ok(DeviceKind::Cuda(n)),
            _ => anyhow::bail!("invalid value for --device: {other:?} (cpu, cuda or cuda:N)"),
        },
    }
}

/// The device of `kind` whose pool holds at most `budget` bytes. A CPU device gets a pool of its
/// own, apart from the process-wide one that host staging (loaded batches, files) goes through, so
/// its peak is the run's alone and compares with the dry run's prediction.
pub fn open_device(kind: DeviceKind, budget: Option<usize>) -> anyhow::Result<Device> {
    Ok(match (kind, budget) {
        (DeviceKind::Cpu, b) => Device::cpu_with_budget(b.unwrap_or(usize::MAX)),
        (DeviceKind::Cuda(n), b) => Device::cuda(n, b)?,
        (DeviceKind::Meta, _) => anyhow::bail!("invalid value for --device: meta runs nothing"),
    })
}

/// Sizes the CPU worker pool (0 = one thread per core). Call once, before any parallel work.
pub fn set_threads(threads: usize) -> anyhow::Result<()> {
    if threads > 0 {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global()
            .map_err(|e| anyhow::anyhow!("invalid value for --threads: {e}"))?;
    }
    Ok(())
}
