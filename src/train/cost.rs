//! The step-time model: a step costs the sum of eight counts of its dry run
//! (`StepSpec::dry_run`), each times a per-device cost per unit —
//!
//! - GEMM FLOPs, with f32 and with bf16/f16 inputs (tensor cores on a GPU; widened to f32 on the
//!   CPU), and the bytes of the products' operands and results (packing and streaming: a product
//!   with few columns reads a whole weight matrix for little arithmetic);
//! - the bytes the step allocates (every kernel output and workspace, written and read), f32 and
//!   reduced precision apart;
//! - the number of allocations, f32 and reduced apart: the fixed cost of an op (dispatch, tape,
//!   allocation, thread fork-join) and, on the CPU, of widening a bf16 operand;
//! - the parameters the optimizer updates in place (it allocates nothing).
//!
//! The costs are measured by `lofi bench device` (`train::rates`): it times real training steps
//! of a fixed calibration set and fits the costs to them by non-negative least squares. A
//! bottom-up price list (a probe per count) predicted the CPU's steps at 0.4–0.8 of their time:
//! an op in a real step runs on cold data among other ops, and that is what the fit sees. The
//! defaults below are documented measurements.

use std::path::Path;

use crate::jsonio::read_json;
use crate::tensor::DeviceKind;
use crate::train::spec::DryRun;
use crate::Result;

/// The counts of a dry run the model prices, in `DeviceRates::costs` order.
pub const COUNTS: [&str; 8] = [
    "f32 GEMM FLOPs",
    "bf16 GEMM FLOPs",
    "GEMM operand bytes",
    "f32 bytes allocated",
    "bf16 bytes allocated",
    "f32 allocations",
    "bf16 allocations",
    "parameters updated",
];

/// The counts of `run`, in `COUNTS` order.
pub fn counts(run: &DryRun) -> [f64; 8] {
    let reduced_flops = run.reduced_gemm_flops.min(run.gemm_flops);
    let reduced_bytes = run.reduced_allocated_bytes.min(run.allocated_bytes);
    let reduced_allocations = run.reduced_allocations.min(run.allocations);
    [
        (run.gemm_flops - reduced_flops) as f64,
        reduced_flops as f64,
        run.gemm_operand_bytes as f64,
        (run.allocated_bytes - reduced_bytes) as f64,
        reduced_bytes as f64,
        (run.allocations - reduced_allocations) as f64,
        reduced_allocations as f64,
        run.updated_params as f64,
    ]
}

/// One device's cost per unit of every count (seconds; zero where the calibration found the
/// count explains nothing).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DeviceRates {
    pub device: String,
    /// Where the costs come from (a calibration fit, or documented defaults).
    pub source: String,
    pub s_per_gemm_flop: f64,
    pub s_per_reduced_gemm_flop: f64,
    pub s_per_gemm_operand_byte: f64,
    pub s_per_allocated_byte: f64,
    pub s_per_reduced_allocated_byte: f64,
    pub s_per_allocation: f64,
    pub s_per_reduced_allocation: f64,
    pub s_per_updated_param: f64,
    /// The calibration steps and how well the fit explains them (empty for defaults).
    #[serde(default)]
    pub calibration: Vec<CalibrationStep>,
}

/// One timed calibration step: its name, measured median and the fitted model's prediction.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CalibrationStep {
    pub step: String,
    pub measured_s: f64,
    pub predicted_s: f64,
}

impl DeviceRates {
    /// Costs in `COUNTS` order.
    pub fn costs(&self) -> [f64; 8] {
        [
            self.s_per_gemm_flop,
            self.s_per_reduced_gemm_flop,
            self.s_per_gemm_operand_byte,
            self.s_per_allocated_byte,
            self.s_per_reduced_allocated_byte,
            self.s_per_allocation,
            self.s_per_reduced_allocation,
            self.s_per_updated_param,
        ]
    }

    /// Rates from costs in `COUNTS` order.
    pub fn from_costs(device: String, source: String, c: [f64; 8]) -> DeviceRates {
        DeviceRates {
            device,
            source,
            s_per_gemm_flop: c[0],
            s_per_reduced_gemm_flop: c[1],
            s_per_gemm_operand_byte: c[2],
            s_per_allocated_byte: c[3],
            s_per_reduced_allocated_byte: c[4],
            s_per_allocation: c[5],
            s_per_reduced_allocation: c[6],
            s_per_updated_param: c[7],
            calibration: Vec::new(),
        }
    }

    /// Documented defaults when nothing was measured. CPU: `lofi bench device --device cpu` on
    /// the 2-core development VM (Intel Xeon, AVX-512) on 2026-12-01 (docs/memory.md). CUDA: an
    /// H200 from DESIGN's anchors — fp32 GEMM without TF32 ≈ 50 TFLOP/s, bf16 tensor cores
    /// ≈ 400 TFLOP/s, HBM ≈ 4 TB/s (an allocated byte written once and read about twice, an
    /// Adam update 7 f32 passes), ≈ 5 µs an op.
    pub fn default_for(kind: DeviceKind) -> DeviceRates {
        match kind {
            DeviceKind::Cuda(_) => DeviceRates::from_costs(
                "cuda".into(),
                "H200 defaults (DESIGN's anchors)".into(),
                [1.0 / 50e12, 1.0 / 400e12, 1.0 / 4e12, 3.0 / 4e12, 3.0 / 4e12, 5e-6, 5e-6, 28.0 / 4e12],
            ),
            _ => DeviceRates::from_costs(
                "cpu".into(),
                "2-core VM defaults (lofi bench device, 2026-12-01)".into(),
                CPU_DEFAULT_COSTS,
            ),
        }
    }

    pub fn load(path: &Path) -> Result<DeviceRates> {
        read_json(path)
    }

    /// Predicted seconds of the step a dry run measured.
    pub fn step_seconds(&self, run: &DryRun) -> f64 {
        counts(run).iter().zip(self.costs()).map(|(n, c)| n * c).sum()
    }
}

/// Measured by `lofi bench device --device cpu` on the 2-core VM (see `default_for`), as
/// `tools/step_time_table.sh` printed them: the FLOP costs by the convolution probe (138 and 134
/// GFLOP/s), the rest fitted to the 16 calibration steps; the fit put the optimizer's update into
/// the other counts (0 per parameter).
const CPU_DEFAULT_COSTS: [f64; 8] = [7.24e-12, 7.49e-12, 177.6e-12, 144.0e-12, 1854.4e-12, 23.82e-6, 48.46e-6, 0.0];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_costs_each_count_at_its_own_price() {
        let run = DryRun {
            peak_bytes: 0,
            gemm_flops: 10,
            reduced_gemm_flops: 4,
            gemm_operand_bytes: 3,
            allocated_bytes: 12,
            reduced_allocated_bytes: 4,
            allocations: 5,
            reduced_allocations: 2,
            updated_params: 7,
        };
        assert_eq!(counts(&run), [6.0, 4.0, 3.0, 8.0, 4.0, 3.0, 2.0, 7.0]);
        let costs = [1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6, 1e7];
        let rates = DeviceRates::from_costs("test".into(), "test".into(), costs);
        assert_eq!(rates.costs(), costs);
        assert_eq!(rates.step_seconds(&run), 6.0 + 40.0 + 300.0 + 8e3 + 4e4 + 3e5 + 2e6 + 7e7);
    }

    #[test]
    fn the_defaults_price_every_step_above_zero() {
        for kind in [DeviceKind::Cpu, DeviceKind::Cuda(0)] {
            let r = DeviceRates::default_for(kind);
            assert!(r.costs().iter().all(|c| c.is_finite() && *c >= 0.0), "{r:?}");
            assert!(r.s_per_gemm_flop + r.s_per_reduced_gemm_flop > 0.0 && r.s_per_allocation > 0.0, "{r:?}");
        }
    }
}
