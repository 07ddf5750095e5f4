//! Golden cases (tests/golden, or `LOFI_GOLDEN_DIR`): load a case, compare tensors with the README's
//! metric |got − ref| ≤ tol·max|ref| + 1e-4·|ref| (integers exact), and insist that every `output.*`
//! and `grad.*` tensor of the file was compared.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use lofi::autograd::{backward_many, Var};
use lofi::{DType, Device, Tensor};
use safetensors::{Dtype, SafeTensors};

/// The golden root: `$LOFI_GOLDEN_DIR` (absolute, or relative to the crate root) or `tests/golden`.
pub fn golden_dir() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    match std::env::var_os("LOFI_GOLDEN_DIR") {
        Some(d) => {
            let p = PathBuf::from(d);
            if p.is_absolute() {
                p
            } else {
                root.join(p)
            }
        }
        None => root.join("tests/golden"),
    }
}

pub enum Data {
    F32(Vec<f32>),
    I64(Vec<i64>),
}

pub struct Case {
    pub name: String,
    pub json: serde_json::Value,
    tensors: BTreeMap<String, (Vec<usize>, Data)>,
    compared: RefCell<BTreeSet<String>>,
}

impl Case {
    /// Loads `<case>.safetensors` + `<case>.json`; panics with the path when missing (a missing
    /// golden directory must fail loudly, never skip).
    pub fn load(name: &str) -> Case {
        let dir = golden_dir();
        let st_path = dir.join(format!("{name}.safetensors"));
        let bytes = std::fs::read(&st_path).unwrap_or_else(|e| panic!("golden case {}: {e}", st_path.display()));
        let json_path = dir.join(format!("{name}.json"));
        let json_text =
            std::fs::read_to_string(&json_path).unwrap_or_else(|e| panic!("golden case {}: {e}", json_path.display()));
        let json = serde_json::from_str(&json_text).unwrap_or_else(|e| panic!("{}: {e}", json_path.display()));
        let st = SafeTensors::deserialize(&bytes).unwrap_or_else(|e| panic!("{}: {e}", st_path.display()));
        let mut tensors = BTreeMap::new();
        for (tname, view) in st.tensors() {
            let shape = view.shape().to_vec();
            let data = match view.dtype() {
                Dtype::F32 => Data::F32(
                    view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
                ),
                Dtype::I64 => {
                    Data::I64(view.data().chunks_exact(8).map(|b| i64::from_le_bytes(b.try_into().unwrap())).collect())
                }
                d => panic!("{name}: tensor {tname} has unexpected dtype {d:?}"),
            };
            tensors.insert(tname, (shape, data));
        }
        Case { name: name.to_string(), json, tensors, compared: RefCell::new(BTreeSet::new()) }
    }

    pub fn has(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }
    pub fn names(&self, prefix: &str) -> Vec<String> {
        self.tensors.keys().filter(|k| k.starts_with(prefix)).cloned().collect()
    }
    pub fn shape(&self, name: &str) -> Vec<usize> {
        self.get(name).0.clone()
    }
    fn get(&self, name: &str) -> &(Vec<usize>, Data) {
        self.tensors.get(name).unwrap_or_else(|| panic!("{}: no tensor {name}", self.name))
    }
    pub fn f32(&self, name: &str) -> Vec<f32> {
        match &self.get(name).1 {
            Data::F32(v) => v.clone(),
            Data::I64(_) => panic!("{}: {name} is i64", self.name),
        }
    }
    pub fn i64(&self, name: &str) -> Vec<i64> {
        match &self.get(name).1 {
            Data::I64(v) => v.clone(),
            Data::F32(_) => panic!("{}: {name} is f32", self.name),
        }
    }
    /// The stored tensor on the CPU, as f32 (or i64 for integer tensors), or converted to `dtype`.
    pub fn tensor(&self, name: &str, dtype: DType) -> Tensor {
        let (shape, data) = self.get(name);
        let dev = Device::cpu();
        match (data, dtype) {
            (Data::F32(v), DType::F32) => Tensor::from_slice(v, shape.clone(), &dev).unwrap(),
            (Data::F32(v), DType::F64) => {
                Tensor::from_vec(v.iter().map(|&x| x as f64).collect::<Vec<f64>>(), shape.clone(), &dev).unwrap()
            }
            (Data::I64(v), DType::I64) => Tensor::from_slice(v, shape.clone(), &dev).unwrap(),
            _ => panic!("{}: cannot load {name} as {dtype}", self.name),
        }
    }
    pub fn hyper(&self, key: &str) -> &serde_json::Value {
        &self.json["hyper"][key]
    }

    /// Compares a result tensor against the stored reference (shape too); returns the scaled error.
    pub fn check(&self, name: &str, got: &Tensor, tol: f64) -> f64 {
        assert_eq!(got.dims(), self.get(name).0.as_slice(), "{}: {name} shape", self.name);
        self.check_values(name, &got.to_f64_vec().unwrap(), tol)
    }

    /// Compares flat result values against the stored reference with the README's metric
    /// (integers exactly), records the tensor as compared and returns the scaled error.
    pub fn check_values(&self, name: &str, got: &[f64], tol: f64) -> f64 {
        let (_, data) = self.get(name);
        let worst = match data {
            Data::F32(r) => {
                assert_eq!(got.len(), r.len(), "{}: {name} length", self.name);
                let max_ref = r.iter().fold(0.0f64, |m, &v| m.max((v as f64).abs()));
                let mut worst = 0.0f64;
                for (i, (&g, &r)) in got.iter().zip(r).enumerate() {
                    let r = r as f64;
                    let bound = tol * max_ref + 1e-4 * r.abs();
                    let d = (g - r).abs();
                    assert!(d <= bound, "{}: {name}[{i}] = {g}, reference {r} (|Δ| {d:.3e} > {bound:.3e})", self.name);
                    worst = worst.max(d / max_ref.max(1e-30));
                }
                worst
            }
            Data::I64(r) => {
                assert_eq!(got.len(), r.len(), "{}: {name} length", self.name);
                for (i, (&g, &r)) in got.iter().zip(r).enumerate() {
                    assert_eq!(g, r as f64, "{}: {name}[{i}] (integers must match exactly)", self.name);
                }
                0.0
            }
        };
        self.compared.borrow_mut().insert(name.to_string());
        worst
    }

    /// An integer output the test compares by its own rule (e.g. as class names); recorded as
    /// compared.
    pub fn output_i64(&self, name: &str) -> Vec<i64> {
        self.compared.borrow_mut().insert(name.to_string());
        self.i64(name)
    }

    /// Compares `output.<name>` of every output, back-propagates from those that have an
    /// `upstream.<name>` (the case's loss Σ output·upstream), and compares `grad.<leaf>` of every
    /// leaf.
    pub fn check_outputs_and_grads<S: AsRef<str>>(&self, outputs: &[(&str, &Var)], leaves: &[(S, &Var)], tol: f64) {
        let mut seeds = Vec::new();
        for (name, v) in outputs {
            self.check(&format!("output.{name}"), v.tensor(), tol);
            let up = format!("upstream.{name}");
            if self.has(&up) {
                seeds.push(((*v).clone(), self.tensor(&up, DType::F32)));
            }
        }
        let grads = backward_many(seeds).unwrap();
        for (name, v) in leaves {
            let name = name.as_ref();
            let g = grads.get(v.id().unwrap()).unwrap_or_else(|| panic!("{}: no gradient for {name}", self.name));
            self.check(&format!("grad.{name}"), g, tol);
        }
    }

    /// Asserts every `output.*` and `grad.*` tensor of the file was compared.
    pub fn finish(&self) {
        let compared = self.compared.borrow();
        let missing: Vec<&String> = self
            .tensors
            .keys()
            .filter(|k| (k.starts_with("output.") || k.starts_with("grad.")) && !compared.contains(*k))
            .collect();
        assert!(missing.is_empty(), "{}: tensors not compared: {missing:?}", self.name);
    }
}
