//! f64 gradient checks of every differentiable op on small odd shapes (central differences,
//! per tensor max|numeric − analytic| ≤ 1e-6·max(max|numeric|, 1e-12)), plus forward checks of
//! the non-differentiable ones. One file per op family, mirroring `src/ops/`.

#[path = "../common/mod.rs"]
mod common;

mod align;
mod conv;
mod determinism;
mod elementwise;
mod graph;
mod loss;
mod matmul;
mod norm;
mod pool;
mod shape;
mod shift;

use lofi::autograd::gradcheck::gradcheck;
use lofi::autograd::Var;
use lofi::Result;
use lofi::Tensor;

pub const TOL: f64 = 1e-6;

/// Gradchecks `f` with respect to every input.
pub fn check_all(inputs: &[Tensor], f: impl Fn(&[Var]) -> Result<Var>) {
    let wants = vec![true; inputs.len()];
    let report = gradcheck(inputs, &wants, TOL, f).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.len(), inputs.len());
    for e in report {
        assert!(e.max_abs_numeric > 0.0, "a gradient that is identically zero checks nothing");
    }
}
