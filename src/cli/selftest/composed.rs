//! The composed selftest check: the `synthetic-tiny` TSM encoder feeding a G-TAD head at the
//! synthetic benchmark's widths (the `gtad-synthetic` head: h_dim 32/16/32, 8 GCNeXt groups of
//! width 4, 8 + 2 SGAlign bins), forward, the G-TAD loss and backward, on the device against the
//! CPU. Kernel cases check one kernel each; this one checks that they compose — layouts, strides,
//! saved tensors and gradient accumulation across a whole training step — which no single case
//! sees. It lives in the CLI because it needs the model and loss layers, which sit above the
//! backend that holds the per-kernel cases.
//!
//! Compared per element (relative, floor 1) on the loss, the three head outputs and every
//! parameter gradient; run twice, bit-identical. Tolerance `TOL_COMPOSED`: f32 with TF32 off, but
//! errors of ≈ 1e-6 per kernel grow through ~30 layers and BN's variance.
//!
//! The same step runs under the bf16 policy too (bf16 encoder activations and weight copies, f32
//! parameters, statistics and weight gradients, the head in f32), against the CPU's bf16 storage
//! with f32 arithmetic: the two round the same f32 values, but a GEMM's summation order can move a
//! value across a rounding boundary, one bf16 ulp (2⁻⁸ relative) at a time, so the tolerance is
//! `TOL_COMPOSED_BF16`.

use lofi::autograd::Var;
use lofi::backend::cuda::selftest::compare::{element_error, start_recording, take_digests};
use lofi::backend::cuda::selftest::Check;
use lofi::backend::cuda::CudaKernels;
use lofi::loss::{gtad_loss, GtadTargets, RegDraws};
use lofi::nn::gtad::{Gtad, GtadConfig};
use lofi::nn::precision::with_weight_copies;
use lofi::nn::{Builder, Module, Param, ResNetTsm, ResNetTsmConfig};
use lofi::ops::shape;
use lofi::rng::Rng;
use lofi::{DType, Device, Result, Tensor};

/// Tolerance of the composed check (per-element error, floor 1).
pub const TOL_COMPOSED: f64 = 1e-3;
/// Tolerance of the bf16 composed check: a few bf16 ulps grown through the encoder.
pub const TOL_COMPOSED_BF16: f64 = 5e-2;
/// Videos and snippets of the check's batch (the synthetic benchmark's L = 16).
pub const BATCH: usize = 2;
pub const SNIPPETS: usize = 16;

/// The G-TAD head at the synthetic benchmark's widths.
pub fn gtad_synthetic(in_channels: usize) -> GtadConfig {
    GtadConfig {
        h_dim_1d: 32,
        h_dim_2d: 16,
        h_dim_3d: 32,
        gcnext_groups: 8,
        gcnext_width_group: 4,
        inner_bins: 8,
        context_bins: 2,
        ..GtadConfig::activitynet(in_channels)
    }
}

/// Everything one step produces, in a fixed order: loss, map, start, end, then every gradient.
/// `dtype` is the encoder's activations' (f32, or bf16 under the bf16 policy).
fn step(dev: &Device, seed: u64, dtype: DType) -> Result<Vec<(String, Tensor)>> {
    let init = Builder::new(dev, DType::F32, Rng::seeded(seed));
    let enc_cfg = ResNetTsmConfig::synthetic_tiny();
    let encoder = ResNetTsm::new(&init.pp("encoder"), &enc_cfg)?;
    let head = Gtad::new(&init.pp("head"), &gtad_synthetic(enc_cfg.feature_dim()))?;
    let mut data = Rng::seeded(seed ^ 0x5eed);
    let frames_per_video = SNIPPETS * enc_cfg.frames;
    let n = BATCH * frames_per_video * 32 * 32 * 3;
    let pixels: Vec<u8> = (0..n).map(|_| (data.uniform() * 256.0) as u8).collect();
    let frames = Tensor::from_slice(&pixels, [BATCH * frames_per_video, 32, 32, 3], dev)?;
    let x = encoder.prepare_frames(&frames, dtype)?;
    let snippets = with_weight_copies(&encoder.params(), dtype, || encoder.forward(&x))?;
    let snippets = shape::cast(&snippets, DType::F32)?;
    let c = snippets.dims()[1];
    let features = shape::permute(&shape::reshape(&snippets, [BATCH, SNIPPETS, c])?, &[0, 2, 1])?;
    let out = head.forward(&features)?;
    let unit = |k: usize, rng: &mut Rng| -> Vec<f32> { (0..k).map(|_| rng.uniform() as f32).collect() };
    let targets = GtadTargets::new(
        BATCH,
        SNIPPETS,
        unit(BATCH * SNIPPETS * SNIPPETS, &mut data),
        unit(BATCH * SNIPPETS, &mut data),
        unit(BATCH * SNIPPETS, &mut data),
    )?;
    let draws = RegDraws::sample(&mut data, BATCH * SNIPPETS * SNIPPETS);
    let loss = gtad_loss(&out.confidence_map, &out.start, &out.end, &targets, &draws)?;
    let grads = loss.total.backward()?;
    let outputs: [(&str, &Var); 4] =
        [("loss", &loss.total), ("map", &out.confidence_map), ("start", &out.start), ("end", &out.end)];
    let mut all: Vec<(String, Tensor)> = outputs.iter().map(|(n, v)| (n.to_string(), v.tensor().clone())).collect();
    let mut params: Vec<Param> = encoder.params();
    params.extend(head.params());
    for p in params.iter().filter(|p| matches!(p.kind(), lofi::nn::ParamKind::Weight)) {
        match grads.get(p.id()) {
            Some(g) => all.push((format!("grad {}", p.name()), g.clone())),
            None => all.push((format!("grad {} (missing)", p.name()), Tensor::full(f32::NAN, [1], dev)?)),
        }
    }
    Ok(all)
}

/// The composed check on `dev` against the CPU; `Check.error` is the worst per-element error.
pub fn run(dev: &Device, seed: u64, dtype: DType) -> Check {
    let name = format!("composed_tiny_encoder_gtad_{}", dtype.name());
    let tolerance = if dtype == DType::F32 { TOL_COMPOSED } else { TOL_COMPOSED_BF16 };
    let result = (|| -> Result<f64> {
        if let Some(cuda) = dev.cuda_device() {
            cuda.set_tf32(false)?;
        }
        let cpu = step(&Device::cpu(), seed, dtype)?;
        let mut digests = Vec::new();
        let mut worst = 0.0f64;
        for _ in 0..2 {
            start_recording();
            let got = step(dev, seed, dtype)?;
            if got.len() != cpu.len() {
                return Err(lofi::Error::Cuda(format!("{} outputs vs {} on the CPU", got.len(), cpu.len())));
            }
            for ((name, g), (_, c)) in got.iter().zip(&cpu) {
                let e = element_error(&g.to_device(&Device::cpu())?, c, 1.0)?;
                // NaN fails too.
                if e.is_nan() || e > tolerance {
                    return Err(lofi::Error::Cuda(format!("{name}: error {e:.3e} (tol {tolerance:.0e})")));
                }
                worst = worst.max(e);
            }
            digests.push(take_digests());
        }
        if digests[0] != digests[1] {
            return Err(lofi::Error::Cuda("not deterministic: two runs of the same step differ".into()));
        }
        Ok(worst)
    })();
    match result {
        Ok(error) => Check { name, error, tolerance, failure: None },
        Err(e) => Check { name, error: f64::NAN, tolerance, failure: Some(e.to_string()) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The check runs end to end with the CPU as the device: the model builds at these widths,
    /// forward, loss and backward produce finite values and every weight has a gradient, the
    /// comparison is exact against itself and two runs agree.
    #[test]
    fn composed_check_runs_against_the_cpu() {
        for dtype in [DType::F32, DType::BF16] {
            let check = run(&Device::cpu(), 3, dtype);
            assert!(check.passed(), "{check:?}");
            assert_eq!(check.error, 0.0, "the CPU against itself must agree exactly");
            let outputs = step(&Device::cpu(), 3, dtype).unwrap_or_else(|e| panic!("{e}"));
            assert!(outputs.iter().all(|(n, _)| !n.contains("missing")), "every weight has a gradient");
            assert!(outputs.len() > 30, "{} outputs", outputs.len());
        }
        // bf16 really changes the step (rounding reaches the loss and gradients) but stays close.
        let (a, b) = (step(&Device::cpu(), 3, DType::F32).unwrap(), step(&Device::cpu(), 3, DType::BF16).unwrap());
        let worst = a.iter().zip(&b).map(|((_, x), (_, y))| element_error(y, x, 1.0).unwrap()).fold(0.0f64, f64::max);
        assert!(worst > 0.0 && worst < 0.5, "bf16 vs f32 composed step: worst error {worst}");
    }
}
