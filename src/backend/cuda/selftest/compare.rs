//! How the selftest compares a kernel with its CPU twin, and checks that it is deterministic.
//!
//! - Floating outputs: the worst per-element error |gpu − cpu| / max(|cpu|, floor): relative
//!   where the reference is large, absolute (in units of `floor`, 1 for the unit-scale values the
//!   cases draw) where it is small, so a wrong small element fails however large the tensor's
//!   maximum is. NaN or ∞ anywhere is NaN, which never passes.
//! - Index outputs (kNN top-k, argmax): compared exactly; the error is the number of
//!   differing indices, so one wrong index fails every tolerance.
//! - Determinism: every comparison records a digest of the device output; a case is run twice
//!   on the same inputs and its digests must agree bit for bit.
//! - `with_cpu_standin` runs the cases with the CPU backend in the device's place, so unit tests
//!   can check every case's inputs, sizes and tolerances without a GPU.

use std::cell::{Cell, RefCell};

use crate::tensor::Tensor;
use crate::{Error, Result};

thread_local! {
    static DIGESTS: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
    static CPU_STANDIN: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with the CPU backend standing in for the CUDA one (unit tests without a GPU).
pub fn with_cpu_standin<R>(f: impl FnOnce() -> R) -> R {
    let before = CPU_STANDIN.with(|c| c.replace(true));
    let out = f();
    CPU_STANDIN.with(|c| c.set(before));
    out
}

/// Whether the CPU stands in for the device under test.
pub fn cpu_standin() -> bool {
    CPU_STANDIN.with(Cell::get)
}

/// Starts recording output digests (clears what was recorded).
pub fn start_recording() {
    DIGESTS.with(|d| d.borrow_mut().clear());
}

/// The digests recorded since `start_recording`.
pub fn take_digests() -> Vec<u64> {
    DIGESTS.with(|d| std::mem::take(&mut *d.borrow_mut()))
}

fn record(values: &[f64]) {
    // FNV-1a over the bit patterns: equal digests mean equal bits (up to a 2^-64 accident).
    let h = values.iter().fold(0xcbf29ce484222325u64, |h, v| {
        v.to_bits().to_le_bytes().iter().fold(h, |h, &b| (h ^ b as u64).wrapping_mul(0x100000001b3))
    });
    DIGESTS.with(|d| d.borrow_mut().push(h));
}

/// The worst per-element error of `gpu` against `cpu` with an absolute floor (see the header).
pub fn element_error(gpu: &Tensor, cpu: &Tensor, floor: f64) -> Result<f64> {
    let (g, c) = (gpu.to_f64_vec()?, cpu.to_f64_vec()?);
    record(&g);
    element_error_of(&g, &c, floor)
}

/// `element_error` on plain values.
pub fn element_error_of(g: &[f64], c: &[f64], floor: f64) -> Result<f64> {
    if g.len() != c.len() {
        return Err(Error::shape("selftest", format!("{} vs {} elements", g.len(), c.len())));
    }
    let mut worst = 0.0f64;
    for (a, b) in g.iter().zip(c) {
        if !a.is_finite() || !b.is_finite() {
            return Ok(f64::NAN);
        }
        worst = worst.max((a - b).abs() / b.abs().max(floor));
    }
    Ok(worst)
}

/// The number of indices of `gpu` that differ from `cpu` (0 when identical).
pub fn index_error(gpu: &Tensor, cpu: &Tensor) -> Result<f64> {
    let (g, c) = (gpu.to_f64_vec()?, cpu.to_f64_vec()?);
    record(&g);
    if g.len() != c.len() {
        return Err(Error::shape("selftest", format!("{} vs {} indices", g.len(), c.len())));
    }
    Ok(g.iter().zip(&c).filter(|(a, b)| a != b).count() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrong_small_element_fails_whatever_the_maximum() {
        // The old max-scaled error: |0.0101 − 0.01| / 100 = 1e-6 passed a 1e-5 tolerance.
        let e = element_error_of(&[100.0, 0.0101], &[100.0, 0.01], 1e-3).unwrap();
        assert!(e > 1e-5, "{e}");
        // Large values are compared relatively: 1e-6 relative on 1e6 passes 1e-5.
        let e = element_error_of(&[1e6 + 1.0], &[1e6], 1.0).unwrap();
        assert!(e <= 1e-5, "{e}");
        assert!(element_error_of(&[f64::NAN], &[1.0], 1.0).unwrap().is_nan());
    }

    #[test]
    fn an_off_by_one_index_fails_exactly_where_the_value_tolerance_passed_it() {
        use crate::tensor::Device;
        // kNN top-k at L = 100: one neighbour index off by one.
        let cpu = Device::cpu();
        let want: Vec<i64> = (0..100).collect();
        let mut got = want.clone();
        got[57] = 58;
        // The former metric, max|gpu − cpu| / max|cpu| = 1/99 ≈ 0.0101, passed bf16's 2e-2.
        let max_scaled = 1.0 / 99.0;
        assert!(max_scaled < super::super::TOL_BF16);
        let g = Tensor::from_slice(&got, [100], &cpu).unwrap();
        let c = Tensor::from_slice(&want, [100], &cpu).unwrap();
        let e = index_error(&g, &c).unwrap();
        assert_eq!(e, 1.0);
        assert!(e > super::super::TOL_BF16, "above the largest tolerance");
    }
}
