//! The step-time model: a step costs its GEMM work at the device's GEMM rate, plus its memory
//! traffic at the device's bandwidth, plus a fixed cost per kernel. All three counts come from the
//! same dry run that predicts the memory (`StepSpec::dry_run`): the GEMM FLOPs of every
//! convolution and product, and the bytes and number of the step's allocations (every kernel
//! output and workspace, each written once and read about twice, hence `TRAFFIC_PER_BYTE`).
//! The device rates are measured by `lofi bench device` (a GEMM, a copy, a small-kernel loop) and
//! read from its JSON; the defaults below are documented measurements.

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
    /// Fixed cost of one kernel: allocation, dispatch, launch (s).
    pub per_kernel_s: f64,
}

impl DeviceRates {
    /// Documented defaults when nothing was measured: the 2-core development VM (`lofi bench
    /// device --device cpu`, docs/memory.md) and an H200 (DESIGN's anchors: fp32 GEMM without TF32
    /// ≈ 50 TFLOP/s, bf16 tensor cores ≈ 400 TFLOP/s at training shapes, HBM ≈ 4 TB/s, ≈ 5 µs a launch).
    pub fn default_for(kind: DeviceKind) -> DeviceRates {
        match kind {
            DeviceKind::Cuda(_) => DeviceRates {
                device: "cuda (H200 defaults)".into(),
                gemm_flops_per_s: 50e12,
                bf16_gemm_flops_per_s: Some(400e12),
                bytes_per_s: 4e12,
                per_kernel_s: 5e-6,
            },
            _ => DeviceRates {
                device: "cpu (2-core VM defaults)".into(),
                gemm_flops_per_s: 60e9,
                bf16_gemm_flops_per_s: None,
                bytes_per_s: 8e9,
                per_kernel_s: 4e-6,
            },
        }
    }

    pub fn load(path: &Path) -> Result<DeviceRates> {
        read_json(path)
    }

    /// Predicted seconds of the step a dry run measured.
    pub fn step_seconds(&self, run: &DryRun) -> f64 {
        let reduced = run.reduced_gemm_flops.min(run.gemm_flops) as f64;
        let bf16_rate = self.bf16_gemm_flops_per_s.unwrap_or(self.gemm_flops_per_s);
        (run.gemm_flops as f64 - reduced) / self.gemm_flops_per_s
            + reduced / bf16_rate
            + TRAFFIC_PER_BYTE * run.allocated_bytes as f64 / self.bytes_per_s
            + run.allocations as f64 * self.per_kernel_s
    }
}
