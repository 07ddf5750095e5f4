//! Measuring a device's costs for the step-time model (`train::cost`, `lofi bench device`): real
//! training steps of a fixed calibration set are timed (`train::bench::time_step`, the step
//! `train/` runs) and the model's costs per unit are fitted to them by non-negative least squares
//! on relative error (`train::fit`), so that every count is priced as a step pays it — cold
//! data, small shapes, fork-join and all. Only the FLOP costs are measured apart, by a large
//! convolution (`seconds_per_flop`).
//!
//! The calibration set spans what the counts separate: the synthetic encoder (tiny products,
//! many small ops) and TSM-ResNet-18 (weight-heavy products), each at two frame sizes (the
//! ratio of arithmetic to ops changes with the pixels), one snippet per call and the whole batch
//! in one call, fp32 and bf16 — 16 steps at fidelities that the step-time table of
//! docs/memory.md does not use, so that table tests the model out of sample (recompute repeats
//! forward ops the set already prices).

use std::time::Instant;

use crate::fidelity::Fidelity;
use crate::nn::resnet_tsm::Recompute;
use crate::ops::conv::{conv2d_bwd_data, conv2d_bwd_weight, conv2d_fwd, geometry, Conv2dOpts};
use crate::ops::shape::cast_fwd;
use crate::rng::Rng;
use crate::tensor::Device;
use crate::tensor::{DType, Tensor};
use crate::train::bench::time_step;
use crate::train::cost::{counts, CalibrationStep, DeviceRates};
use crate::train::fit::nonnegative_least_squares;
use crate::train::optimizer::OptimConfig;
use crate::train::presets::encoder_config;
use crate::train::spec::{HeadSpec, Precision, StepSpec};
use crate::{Error, Result};

/// One step of a calibration set: encoder preset with the `gtad-synthetic` head, fidelity,
/// videos, snippets per call, recompute, precision.
#[derive(Debug, Clone, Copy)]
pub struct CalibrationCase {
    pub encoder: &'static str,
    pub fidelity: Fidelity,
    pub videos: usize,
    pub snippets_per_call: usize,
    pub recompute: Recompute,
    pub precision: Precision,
}

impl CalibrationCase {
    fn spec(&self) -> Result<StepSpec> {
        let in_channels = encoder_config(self.encoder)?.feature_dim();
        Ok(StepSpec {
            encoder: Some(self.encoder.to_string()),
            head: HeadSpec::Tal { preset: "gtad-synthetic".into(), in_channels, classes: vec![String::new(); 6] },
            fidelity: self.fidelity,
            batch: self.videos,
            snippets_per_call: self.snippets_per_call,
            recompute: self.recompute,
            precision: self.precision,
            optim: OptimConfig::default(),
        })
    }

    fn name(&self) -> String {
        let f = self.fidelity;
        format!(
            "{} {}x{} videos {} k {} recompute {:?} {}",
            self.encoder,
            f.snippets,
            f.height,
            self.videos,
            self.snippets_per_call,
            self.recompute,
            self.precision.name()
        )
        .to_lowercase()
    }
}

/// The calibration set `lofi bench device` times (see the module comment).
pub fn default_calibration() -> Vec<CalibrationCase> {
    let mut cases = Vec::new();
    for (encoder, fidelity, videos) in [
        ("synthetic-tiny", Fidelity::new(3, 32, 32), 2),
        ("synthetic-tiny", Fidelity::new(3, 96, 96), 1),
        ("resnet18", Fidelity::new(3, 40, 40), 2),
        ("resnet18", Fidelity::new(4, 64, 64), 1),
    ] {
        for snippets_per_call in [1, fidelity.snippets * videos] {
            for precision in [Precision::Fp32, Precision::Bf16] {
                let recompute = Recompute::None;
                cases.push(CalibrationCase { encoder, fidelity, videos, snippets_per_call, recompute, precision });
            }
        }
    }
    cases
}

fn sync(device: &Device) -> Result<()> {
    match device.cuda_device() {
        Some(c) => c.synchronize(),
        None => Ok(()),
    }
}

/// A tensor of standard-normal values of `dims` in `dtype` on `device`.
fn random(dims: &[usize], dtype: DType, device: &Device, rng: &mut Rng) -> Result<Tensor> {
    let host: Vec<f32> = (0..dims.iter().product()).map(|_| rng.normal() as f32).collect();
    let t = Tensor::from_vec(host, dims.to_vec(), &Device::cpu())?.to_device(device)?;
    if dtype == DType::F32 {
        Ok(t)
    } else {
        cast_fwd(&t, dtype)
    }
}

/// Seconds per GEMM FLOP of a large ResNet 3×3 convolution (256 → 256 channels, 8 frames of
/// 16², pad 1) forward and both backwards in `dtype`, the fastest of 3: the least a FLOP costs
/// in a step. The fit prices only what a step pays beyond it, so that the FLOP cost stays the
/// arithmetic's own and does not vanish into correlated counts (it extrapolates to paper-scale
/// fidelities, where the arithmetic dominates).
fn seconds_per_flop(device: &Device, dtype: DType) -> Result<f64> {
    let mut rng = Rng::seeded(3);
    let x = random(&[8, 256, 16, 16], dtype, device, &mut rng)?;
    let w = random(&[256, 256, 3, 3], dtype, device, &mut rng)?;
    let dy = random(&[8, 256, 16, 16], dtype, device, &mut rng)?;
    let o = Conv2dOpts::new(1, 1, 1);
    let g = geometry(&x, &w, o)?;
    let mut best = f64::INFINITY;
    for _ in 0..4 {
        let before = crate::ops::cost::gemm_flops();
        sync(device)?;
        let t = Instant::now();
        conv2d_fwd(&x, &w, o)?;
        conv2d_bwd_data(&g, &dy, &w)?;
        conv2d_bwd_weight(&g, &x, &dy)?;
        sync(device)?;
        let s = t.elapsed().as_secs_f64();
        best = best.min(s / (crate::ops::cost::gemm_flops() - before).max(1) as f64);
    }
    Ok(best)
}

/// Times every case of `cases` on `device` (median of `repeats` after one warm-up step) and
/// fits the model's costs to them: the FLOP costs measured by a convolution probe
/// (`seconds_per_flop`), the other six fitted to what the steps take beyond their arithmetic.
pub fn measure_rates(device: &Device, cases: &[CalibrationCase], repeats: usize) -> Result<DeviceRates> {
    let placeholder = DeviceRates::default_for(device.kind());
    let flop_costs = [seconds_per_flop(device, DType::F32)?, seconds_per_flop(device, DType::BF16)?];
    // (the step's dry run, its measured median)
    let mut steps = Vec::with_capacity(cases.len());
    for case in cases {
        let t = time_step(&case.spec()?, device, 1, repeats.max(1), &placeholder, false)?;
        steps.push((t.dry_run, t.median_s));
    }
    // Relative error: each step's counts beyond the FLOPs and its time beyond the arithmetic,
    // divided by its measured time.
    let scaled: Vec<Vec<f64>> = steps.iter().map(|(run, t)| counts(run)[2..].iter().map(|v| v / t).collect()).collect();
    let beyond: Vec<f64> = steps
        .iter()
        .map(|(run, t)| {
            let c = counts(run);
            1.0 - (c[0] * flop_costs[0] + c[1] * flop_costs[1]) / t
        })
        .collect();
    let rest = nonnegative_least_squares(&scaled, &beyond).ok_or_else(|| Error::Config {
        flag: "bench device".into(),
        msg: format!("the {} calibration steps do not determine the step-time model's costs", cases.len()),
    })?;
    // The fit returns one cost per column: the six counts after the two FLOP counts.
    let mut costs = [0.0; 8];
    costs[..2].copy_from_slice(&flop_costs);
    costs[2..].copy_from_slice(&rest);
    let mut rates = DeviceRates::from_costs(
        format!("{}", device.kind()),
        format!("fitted to {} calibration steps (lofi bench device)", cases.len()),
        costs,
    );
    rates.calibration = cases
        .iter()
        .zip(&steps)
        .map(|(case, (run, t))| CalibrationStep {
            step: case.name(),
            measured_s: *t,
            predicted_s: rates.step_seconds(run),
        })
        .collect();
    Ok(rates)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_calibration_on_the_cpu_fits_its_own_steps() {
        // a reduced set (both encoders would take half a minute): the tiny encoder at 3x32
        let fidelity = Fidelity::new(3, 32, 32);
        let cases: Vec<CalibrationCase> =
            [(1, Precision::Fp32), (2, Precision::Fp32), (1, Precision::Bf16), (2, Precision::Bf16)]
                .into_iter()
                .flat_map(|(k, precision)| {
                    [Recompute::None, Recompute::Chunk].map(|recompute| CalibrationCase {
                        encoder: "synthetic-tiny",
                        fidelity,
                        videos: 2,
                        snippets_per_call: k,
                        recompute,
                        precision,
                    })
                })
                .collect();
        let r = measure_rates(&Device::cpu(), &cases, 1).unwrap_or_else(|e| panic!("{e}"));
        assert!(r.costs().iter().all(|c| c.is_finite() && *c >= 0.0), "{r:?}");
        assert!(r.costs().iter().any(|c| *c > 0.0), "{r:?}");
        assert_eq!(r.calibration.len(), cases.len());
        for s in &r.calibration {
            assert!(s.measured_s > 0.0 && s.predicted_s.is_finite(), "{s:?}");
        }
        // a least-squares fit on relative error: the predictions' mean ratio is near one
        let mean: f64 = r.calibration.iter().map(|s| s.predicted_s / s.measured_s).sum::<f64>() / cases.len() as f64;
        assert!((0.5..1.5).contains(&mean), "mean predicted / measured {mean}: {r:?}");
    }
}
