//! Helpers shared by the evaluation and post-processing golden tests: where the golden data lives
//! (`LOFI_GOLDEN_DIR`, absolute or relative to the crate root, else `tests/golden`), reading a
//! safetensors case while recording which tensors were checked, and the golden README's float
//! comparison. A missing golden directory or tensor fails the test loudly.

#![allow(dead_code)] // each test binary uses a different subset of these helpers

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use safetensors::{Dtype, SafeTensors};

/// The golden root: `$LOFI_GOLDEN_DIR` or `<crate>/tests/golden`. Panics if it is not a directory.
pub fn golden_root() -> PathBuf {
    let crate_root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = match std::env::var_os("LOFI_GOLDEN_DIR") {
        Some(dir) => crate_root.join(dir), // `join` keeps an absolute path as it is
        None => crate_root.join("tests/golden"),
    };
    assert!(
        root.is_dir(),
        "golden directory {} does not exist (set LOFI_GOLDEN_DIR?)",
        root.display()
    );
    root
}

/// A safetensors case; every `output.*` tensor read through it is recorded.
pub struct Case {
    pub name: String,
    bytes: Vec<u8>,
    checked: BTreeSet<String>,
}

impl Case {
    pub fn load(path: &Path) -> Case {
        let bytes = std::fs::read(path)
            .unwrap_or_else(|e| panic!("cannot read golden file {}: {e}", path.display()));
        Case {
            name: path.display().to_string(),
            bytes,
            checked: BTreeSet::new(),
        }
    }

    fn view(&self, name: &str, dtype: Dtype) -> (Vec<u8>, Vec<usize>) {
        let st =
            SafeTensors::deserialize(&self.bytes).unwrap_or_else(|e| panic!("{}: {e}", self.name));
        let view = st
            .tensor(name)
            .unwrap_or_else(|e| panic!("{}: tensor {name}: {e}", self.name));
        assert_eq!(view.dtype(), dtype, "{}: tensor {name} dtype", self.name);
        (view.data().to_vec(), view.shape().to_vec())
    }

    /// An F32 tensor as (values, shape); marks it checked.
    pub fn f32(&mut self, name: &str) -> (Vec<f32>, Vec<usize>) {
        self.checked.insert(name.to_string());
        let (data, shape) = self.view(name, Dtype::F32);
        let values = data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        (values, shape)
    }

    /// An I64 tensor as (values, shape); marks it checked.
    pub fn i64(&mut self, name: &str) -> (Vec<i64>, Vec<usize>) {
        self.checked.insert(name.to_string());
        let (data, shape) = self.view(name, Dtype::I64);
        let values = data
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect();
        (values, shape)
    }

    /// Panics unless every `output.*` tensor of the file was read.
    pub fn assert_all_outputs_checked(&self) {
        let st =
            SafeTensors::deserialize(&self.bytes).unwrap_or_else(|e| panic!("{}: {e}", self.name));
        let unchecked: Vec<String> = st
            .names()
            .into_iter()
            .filter(|n| n.starts_with("output.") && !self.checked.contains(*n))
            .map(|n| n.to_string())
            .collect();
        assert!(
            unchecked.is_empty(),
            "{}: output tensors not compared: {unchecked:?}",
            self.name
        );
    }
}

/// The golden README's rule: `|got − ref| ≤ tol·max|ref| + 1e-4·|ref|` elementwise.
pub fn assert_close(what: &str, got: &[f64], reference: &[f32], tol: f64) {
    assert_eq!(got.len(), reference.len(), "{what}: length");
    let scale = reference
        .iter()
        .fold(0.0f64, |m, r| m.max(f64::from(*r).abs()));
    let mut worst = 0.0f64;
    for (i, (&g, &r)) in got.iter().zip(reference).enumerate() {
        let r = f64::from(r);
        let diff = (g - r).abs();
        worst = worst.max(diff);
        assert!(
            diff <= tol * scale + 1e-4 * r.abs(),
            "{what}[{i}]: got {g}, reference {r}"
        );
    }
    println!("{what}: max |diff| {worst:.3e} (scale {scale:.3e})");
}
