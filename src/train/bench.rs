//! Timing the real training step (`lofi bench step`): the step `train/` runs — built from a
//! `StepSpec`, on random inputs of the spec's shapes — timed after warm-up steps, median of the
//! repeats. Reports the step time, frames/s, the GEMM rate it reached and the pool's peak, next to
//! the dry run's predictions of the same step (memory exactly, time from `train::cost`).

use std::time::Instant;

use crate::rng::{Rng, Seeds};
use crate::tensor::kernel_times::{self, KernelTime};
use crate::tensor::{Device, Tensor};
use crate::train::cost::DeviceRates;
use crate::train::spec::{DryRun, StepSpec};
use crate::train::step::{train_step, StepContext, StepInput};
use crate::Result;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StepTiming {
    pub median_s: f64,
    pub steps_s: Vec<f64>,
    pub frames_per_step: usize,
    pub frames_per_s: f64,
    /// GEMM FLOPs of one step over the median time.
    pub gemm_gflops_per_s: f64,
    /// The device pool's high-water mark during the timed steps.
    pub peak_bytes: usize,
    pub predicted_peak_bytes: usize,
    pub predicted_step_s: f64,
    /// The dry run's counts behind both predictions.
    pub dry_run: DryRun,
    /// CUDA only: the driver's used memory (total − free) at the pool's high-water mark during
    /// the timed steps, and the device's fixed overhead (context, other processes, modules,
    /// cuBLAS handle). tools/gpu_check.sh holds the first within 2% of prediction + overhead.
    pub driver_used_bytes: Option<usize>,
    pub overhead_bytes: Option<usize>,
    /// With `profile`: kernel time summed over the timed steps, per launching op (CPU only
    /// meaningful; see `tensor::kernel_times`). Empty otherwise.
    pub kernel_times: Vec<KernelTime>,
}

/// Runs `warmup` then `repeats` steps of `spec` on `device` and times the latter; with `profile`,
/// also sums the time of every kernel launched during the timed steps.
pub fn time_step(
    spec: &StepSpec,
    device: &Device,
    warmup: usize,
    repeats: usize,
    rates: &DeviceRates,
    profile: bool,
) -> Result<StepTiming> {
    let dry = spec.dry_run()?;
    let model = spec.build_model(device, &Seeds::new(0))?;
    let mut opt = spec.build_optimizer(&model)?;
    let mut batch = spec.placeholder_batch(&Device::cpu())?;
    let mut rng = Rng::seeded(7);
    batch.input = match &batch.input {
        StepInput::Frames(f) => {
            let v: Vec<u8> = (0..f.numel()).map(|_| rng.below(256) as u8).collect();
            StepInput::Frames(Tensor::from_vec(v, f.dims().to_vec(), &Device::cpu())?)
        }
        StepInput::Features(f) => {
            let v: Vec<f32> = (0..f.numel()).map(|_| rng.normal() as f32).collect();
            StepInput::Features(Tensor::from_vec(v, f.dims().to_vec(), &Device::cpu())?)
        }
    };
    let mut steps_s = Vec::with_capacity(repeats);
    let mut peak = 0;
    for step in 0..(warmup + repeats.max(1)) as u64 {
        let ctx = StepContext {
            stage: "bench",
            step,
            seeds: Seeds::new(0),
            lr_factor: 1.0,
            snippet_weight: 0.5,
            snippets_per_call: spec.snippets_per_call,
            recompute: spec.recompute,
            precision: spec.precision,
            device,
        };
        if step as usize == warmup {
            if profile {
                kernel_times::start();
            }
            if let Some(cuda) = device.cuda_device() {
                cuda.reset_driver_used_at_peak();
            }
        }
        let started = Instant::now();
        let m = train_step(&model, &mut opt, &batch, &ctx)?;
        if let Some(cuda) = device.cuda_device() {
            cuda.synchronize()?;
        }
        if step as usize >= warmup {
            steps_s.push(started.elapsed().as_secs_f64());
            peak = peak.max(m.peak_bytes);
        }
    }
    let kernel_times = if profile { kernel_times::stop() } else { Vec::new() };
    // A CUDA pool also holds the cuBLAS workspace, reserved with the handle (not a step's doing).
    let resident =
        device.cuda_device().map_or(0, |c| crate::backend::cuda::cublas_workspace_bytes(c.compute_capability()));
    let mut sorted = steps_s.clone();
    sorted.sort_by(f64::total_cmp);
    let median_s = sorted[sorted.len() / 2];
    let frames_per_step = spec.batch * spec.frames_per_sample()?;
    Ok(StepTiming {
        median_s,
        steps_s,
        frames_per_step,
        frames_per_s: frames_per_step as f64 / median_s,
        gemm_gflops_per_s: dry.gemm_flops as f64 / median_s / 1e9,
        peak_bytes: peak,
        predicted_peak_bytes: dry.peak_bytes + resident,
        predicted_step_s: rates.step_seconds(&dry),
        dry_run: dry,
        driver_used_bytes: device.cuda_device().map(|c| c.driver_used_at_peak()),
        overhead_bytes: device.cuda_device().map(|c| c.fixed_overhead()),
        kernel_times,
    })
}
