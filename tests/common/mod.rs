//! Shared test helpers: golden-case loading and comparison, random tensors.
#![allow(dead_code)]

pub mod golden;

use lofi::rng::Rng;
use lofi::{Device, Tensor};

/// A random f64 CPU tensor with values in [lo, hi).
pub fn rand_f64(rng: &mut Rng, shape: &[usize], lo: f64, hi: f64) -> Tensor {
    let n = shape.iter().product();
    Tensor::from_vec(rng.uniform_vec(n, lo, hi), shape.to_vec(), &Device::cpu()).expect("cpu tensor")
}

/// Random f64 values whose magnitudes are at least `gap` (away from relu/abs kinks).
pub fn rand_f64_away_from_zero(rng: &mut Rng, shape: &[usize], gap: f64) -> Tensor {
    let n = shape.iter().product();
    let v: Vec<f64> = (0..n)
        .map(|_| {
            let m = rng.uniform_range(gap, 1.0);
            if rng.uniform() < 0.5 {
                -m
            } else {
                m
            }
        })
        .collect();
    Tensor::from_vec(v, shape.to_vec(), &Device::cpu()).expect("cpu tensor")
}
