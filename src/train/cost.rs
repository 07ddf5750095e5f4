//! The step-time model: a step costs its GEMM work at the device's GEMM rate, plus its memory
//! traffic at the device's bandwidth, plus a fixed cost per kernel. All three counts come from the
//! same dry run that predicts the memory (`StepSpec::dry_run`): the GEMM FLOPs of every
//! convolution and product, and the bytes and number of the step's allocations (every kernel
//! output and workspace, each written once and read about twice, hence `TRAFFIC_PER_BYTE`).
//! Products and bytes in bf16/f16 have their own rates: tensor cores on a GPU; on the CPU, which
//! widens every reduced-precision operand to f32 and back, a slower rate per byte.
//! The device rates are measured by `lofi bench device` at training shapes (a convolution forward
//! and backward, a streaming kernel, a chain of small autograd ops: `train::bench`) and read from
//! its JSON; the defaults below are documented measurements.

use std::path::Path;

use crate::jsonio::read_json;
use crate::tensor::DeviceKind;
use crate::train::spec::DryRun;
use crate::Result;

/// Bytes moved per byte allocated: written once, read about twice.
pub const TRAFFIC_PER_BYTE: f64 = 3.0;

/// Measured rates of one device.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DeviceRates {
    pub device: String,
    /// f32 GEMM FLOP/s at training shapes.
    pub gemm_flops_per_s: f64,
    /// bf16-input GEMM FLOP/s (f32 accumulation); absent = the f32 rate (the CPU computes bf16
    /// products in f32).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bf16_gemm_flops_per_s: Option<f64>,
    /// Copy bandwidth, bytes/s (read + write counted once each).
    pub bytes_per_s: f64,
    /// The same for bf16 tensors; absent = `bytes_per_s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bf16_bytes_per_s: Option<f64>,
    /// Fixed cost of one kernel: allocation, dispatch, launch, autograd bookkeeping (s), per
    /// allocation of a step.
    pub per_kernel_s: f64,
    /// Parameter elements per second of the optimizer's in-place update (measured with Adam, the
    /// default of every stage); absent = its traffic (`UPDATE_PASSES` f32 passes) at `bytes_per_s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_params_per_s: Option<f64>,
}

/// f32 passes over memory of one Adam update: parameter, gradient and both moments read, the
/// parameter and both moments written.
pub const UPDATE_PASSES: f64 = 7.0;

impl DeviceRates {
    /// Documented defaults when nothing was measured: the 2-core development VM (`lofi bench
    /// device --device cpu` on 2026-12-01, docs/memory.md) and an H200 (DESIGN's anchors: fp32 GEMM without TF32
    /// ≈ 50 TFLOP/s, bf16 tensor cores ≈ 400 TFLOP/s at training shapes, HBM ≈ 4 TB/s, ≈ 5 µs a launch).
    pub fn default_for(kind: DeviceKind) -> DeviceRates {
        match kind {
            DeviceKind::Cuda(_) => DeviceRates {
                device: "cuda (H200 defaults)".into(),
                gemm_flops_per_s: 50e12,
                bf16_gemm_flops_per_s: Some(400e12),
                bytes_per_s: 4e12,
                bf16_bytes_per_s: None,
                per_kernel_s: 5e-6,
                update_params_per_s: None,
            },
            // Measured by `lofi bench device` on the 2-core AMD EPYC development VM at commit
            // 60a279f, before the CPU speed work (docs/memory.md); `--rates` takes this machine's.
            _ => DeviceRates {
                device: "cpu (2-core VM defaults)".into(),
                gemm_flops_per_s: 67e9,
                bf16_gemm_flops_per_s: Some(62e9),
                bytes_per_s: 16e9,
                bf16_bytes_per_s: Some(1.6e9),
                per_kernel_s: 0.3e-6,
                update_params_per_s: Some(646e6),
            },
        }
    }

    pub fn load(path: &Path) -> Result<DeviceRates> {
        read_json(path)
    }

    /// Parameter elements per second of an optimizer update.
    pub fn update_rate(&self) -> f64 {
        self.update_params_per_s.unwrap_or(self.bytes_per_s / (UPDATE_PASSES * 4.0))
    }

    /// Predicted seconds of the step a dry run measured.
    pub fn step_seconds(&self, run: &DryRun) -> f64 {
        let reduced = run.reduced_gemm_flops.min(run.gemm_flops) as f64;
        let bf16_rate = self.bf16_gemm_flops_per_s.unwrap_or(self.gemm_flops_per_s);
        let reduced_bytes = run.reduced_allocated_bytes.min(run.allocated_bytes) as f64;
        let bf16_bandwidth = self.bf16_bytes_per_s.unwrap_or(self.bytes_per_s);
        (run.gemm_flops as f64 - reduced) / self.gemm_flops_per_s
            + reduced / bf16_rate
            + TRAFFIC_PER_BYTE * (run.allocated_bytes as f64 - reduced_bytes) / self.bytes_per_s
            + TRAFFIC_PER_BYTE * reduced_bytes / bf16_bandwidth
            + run.allocations as f64 * self.per_kernel_s
            + run.updated_params as f64 / self.update_rate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(allocated_bytes: u64, reduced_allocated_bytes: u64) -> DryRun {
        DryRun {
            peak_bytes: 0,
            gemm_flops: 0,
            reduced_gemm_flops: 0,
            allocated_bytes,
            reduced_allocated_bytes,
            allocations: 0,
            updated_params: 0,
        }
    }

    #[test]
    fn bf16_bytes_move_at_their_own_rate() {
        let rates = DeviceRates {
            device: "test".into(),
            gemm_flops_per_s: 1.0,
            bf16_gemm_flops_per_s: None,
            bytes_per_s: 12.0,
            bf16_bytes_per_s: Some(3.0),
            per_kernel_s: 0.0,
            update_params_per_s: None,
        };
        // 8 f32 bytes at 12 B/s and 4 bf16 bytes at 3 B/s, each moved TRAFFIC_PER_BYTE times.
        let s = rates.step_seconds(&run(12, 4));
        assert!((s - TRAFFIC_PER_BYTE * (8.0 / 12.0 + 4.0 / 3.0)).abs() < 1e-12, "{s}");
        // Without a bf16 rate every byte moves at the f32 one.
        let plain = DeviceRates { bf16_bytes_per_s: None, ..rates };
        assert!((plain.step_seconds(&run(12, 4)) - TRAFFIC_PER_BYTE).abs() < 1e-12);
    }
}
