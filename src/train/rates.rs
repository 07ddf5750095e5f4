//! Measuring a device's rates for the step-time model (`train::cost`, `lofi bench device`), each
//! at the shapes and through the paths a training step uses, so that the model's three counts
//! (GEMM FLOPs, allocated bytes, allocations) are priced as a step pays them:
//!
//! - GEMM: a ResNet 3×3 convolution (64 → 64 channels, 8 frames of 32², pad 1) forward, data
//!   backward and weight backward, FLOPs as the ops count them — im2col and small-matrix
//!   efficiency included, which a large square GEMM would hide (on the 2-core VM a 1024³ GEMM
//!   runs ≈ 4× faster per FLOP than the step's convolutions);
//! - bandwidth: a streaming kernel on a 64 Mi-element tensor, allocation included (zeroed, read,
//!   written: the three passes `cost::TRAFFIC_PER_BYTE` counts per allocated byte); in bf16 on
//!   a 256 Ki-element tensor, the size of a step's activations, since the CPU widens bf16 to f32
//!   and back in every kernel and that cost depends on where the stand-ins live;
//! - per kernel: a chain of tiny autograd ops, forward and backward, its time per pool
//!   reservation — dispatch, tape, allocation;
//! - the optimizer: Adam's in-place update of a 4 Mi-element parameter, per element (it
//!   allocates nothing, so only this rate prices it; on the CPU it is a large part of a ResNet
//!   step).

use std::time::Instant;

use crate::autograd::Var;
use crate::backend::{launch, AdamStep};
use crate::ops::conv::{conv2d_bwd_data, conv2d_bwd_weight, conv2d_fwd, geometry, Conv2dOpts};
use crate::ops::elementwise::{relu, scale, scale_fwd};
use crate::ops::shape::cast_fwd;
use crate::rng::Rng;
use crate::tensor::{DType, Device, Tensor};
use crate::train::cost::{DeviceRates, TRAFFIC_PER_BYTE};
use crate::Result;

fn sync(device: &Device) -> Result<()> {
    match device.cuda_device() {
        Some(c) => c.synchronize(),
        None => Ok(()),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// `f` run `1 + repeats` times on `device`; the median seconds of all but the first (warm-up).
fn timed(device: &Device, repeats: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    let mut times = Vec::with_capacity(repeats + 1);
    for _ in 0..=repeats {
        sync(device)?;
        let t = Instant::now();
        f()?;
        sync(device)?;
        times.push(t.elapsed().as_secs_f64());
    }
    times.remove(0);
    Ok(median(times))
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

/// FLOP/s of a training-shaped convolution's forward + both backwards in `dtype`.
fn conv_flops_per_s(device: &Device, dtype: DType, rng: &mut Rng) -> Result<f64> {
    let x = random(&[8, 64, 32, 32], dtype, device, rng)?;
    let w = random(&[64, 64, 3, 3], dtype, device, rng)?;
    let dy = random(&[8, 64, 32, 32], dtype, device, rng)?;
    let o = Conv2dOpts::new(1, 1, 1);
    let g = geometry(&x, &w, o)?;
    let before = crate::ops::cost::gemm_flops();
    let s = timed(device, 5, || {
        conv2d_fwd(&x, &w, o)?;
        conv2d_bwd_data(&g, &dy, &w)?;
        conv2d_bwd_weight(&g, &x, &dy)?;
        Ok(())
    })?;
    let flops = (crate::ops::cost::gemm_flops() - before) as f64 / 6.0;
    Ok(flops / s)
}

/// Bytes/s of a streaming kernel whose output is allocated for it, on `elements` of `dtype`.
fn bytes_per_s(device: &Device, dtype: DType, elements: usize) -> Result<f64> {
    let big = Tensor::zeros([elements], dtype, device)?;
    let s = timed(device, 9, || scale_fwd(&big, 0.5).map(drop))?;
    Ok(TRAFFIC_PER_BYTE * big.size_in_bytes() as f64 / s)
}

/// Seconds per pool reservation of a chain of small autograd ops, forward and backward: on
/// 256-element tensors, whose traffic is negligible next to the fixed cost of an op.
fn per_kernel_s(device: &Device, rng: &mut Rng) -> Result<f64> {
    let n = 256;
    let x = Var::leaf(random(&[n], DType::F32, device, rng)?);
    let upstream = random(&[n], DType::F32, device, rng)?;
    let chain = || -> Result<()> {
        let mut h = x.clone();
        for _ in 0..32 {
            h = relu(&scale(&h, 0.5)?)?;
        }
        h.backward_with(upstream.clone())?;
        Ok(())
    };
    let before = device.pool().stats().reservations;
    chain()?;
    let reservations = (device.pool().stats().reservations - before).max(1) as f64;
    Ok(timed(device, 31, chain)? / reservations)
}

/// Parameter elements per second of one Adam update of a 4 Mi-element f32 parameter.
fn update_params_per_s(device: &Device, rng: &mut Rng) -> Result<f64> {
    let n = 4 << 20;
    let [p, g, m, v] = [0; 4].map(|_| random(&[n], DType::F32, device, rng));
    let (p, g, m, v) = (p?, g?, m?, v?);
    let o = AdamStep { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 1e-4, step: 1 };
    let s = timed(device, 5, || launch(device, |be| be.adam_step(&p, &g, &m, &v, &o)))?;
    Ok(n as f64 / s)
}

/// Measures `device`'s rates for the step-time model (see the module comment).
pub fn measure_rates(device: &Device) -> Result<DeviceRates> {
    let mut rng = Rng::seeded(3);
    let bytes = bytes_per_s(device, DType::F32, 64 << 20)?;
    Ok(DeviceRates {
        device: format!("{} (measured)", device.kind()),
        gemm_flops_per_s: conv_flops_per_s(device, DType::F32, &mut rng)?,
        bf16_gemm_flops_per_s: Some(conv_flops_per_s(device, DType::BF16, &mut rng)?),
        bytes_per_s: bytes,
        bf16_bytes_per_s: Some(bytes_per_s(device, DType::BF16, 1 << 18)?),
        per_kernel_s: per_kernel_s(device, &mut rng)?,
        update_params_per_s: Some(update_params_per_s(device, &mut rng)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_rates_are_measured_positive_and_a_kernel_costs_more_than_nothing() {
        let r = measure_rates(&Device::cpu()).unwrap_or_else(|e| panic!("{e}"));
        for (name, v) in [
            ("gemm", r.gemm_flops_per_s),
            ("bf16 gemm", r.bf16_gemm_flops_per_s.unwrap_or(0.0)),
            ("bytes", r.bytes_per_s),
            ("bf16 bytes", r.bf16_bytes_per_s.unwrap_or(0.0)),
            ("updates", r.update_params_per_s.unwrap_or(0.0)),
        ] {
            assert!(v.is_finite() && v > 0.0, "{name}: {v}");
        }
        assert!(r.per_kernel_s.is_finite() && r.per_kernel_s > 0.0, "{}", r.per_kernel_s);
    }
}
