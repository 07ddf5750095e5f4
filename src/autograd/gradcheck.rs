//! f64 gradient checking by central differences. For every input tensor:
//! max|numeric − analytic| ≤ tol · max(max|numeric|, 1e-12), tol = 1e-6 by default.
//! The scalar checked is Σ f(x)·u with a fixed pseudo-random u, so every output element counts.

use super::{no_grad, Var};
use crate::tensor::{DType, Tensor};
use crate::{Error, Result};

/// Result for one input: the largest absolute difference and the scale it is compared against.
#[derive(Debug, Clone, Copy)]
pub struct GradError {
    pub max_abs_diff: f64,
    pub max_abs_numeric: f64,
}

impl GradError {
    pub fn relative(&self) -> f64 {
        self.max_abs_diff / self.max_abs_numeric.max(1e-12)
    }
}

/// Deterministic upstream weights in [−1, 1] (no RNG dependency; any fixed values would do).
fn upstream(n: usize) -> Vec<f64> {
    (0..n).map(|i| (i as f64 * 0.7548776662466927 + 0.25).fract() * 2.0 - 1.0).collect()
}

fn weighted_sum(y: &Tensor, u: &[f64]) -> Result<f64> {
    Ok(y.to_f64_vec()?.iter().zip(u).map(|(a, b)| a * b).sum())
}

/// Checks `f` at `inputs` (f64 CPU tensors). `wants[i]` says whether input i is differentiated;
/// returns one `GradError` per wanted input, or an error when a check fails `tol`.
pub fn gradcheck(
    inputs: &[Tensor],
    wants: &[bool],
    tol: f64,
    f: impl Fn(&[Var]) -> Result<Var>,
) -> Result<Vec<GradError>> {
    if inputs.iter().any(|t| t.dtype() != DType::F64) {
        return Err(Error::invalid("gradcheck", "inputs must be f64"));
    }
    let vars: Vec<Var> = inputs
        .iter()
        .zip(wants)
        .map(|(t, &w)| if w { Var::leaf(t.clone()) } else { Var::constant(t.clone()) })
        .collect();
    let y = f(&vars)?;
    let u = upstream(y.tensor().numel());
    let u_t = Tensor::from_vec(u.clone(), y.tensor().shape().clone(), y.tensor().device())?;
    let mut grads = y.backward_with(u_t)?;
    let eps = 1e-6;
    let mut report = Vec::new();
    for (i, v) in vars.iter().enumerate() {
        let Some(id) = v.id() else { continue };
        let analytic = match grads.remove(id) {
            Some(g) => g.to_f64_vec()?,
            None => vec![0.0; v.tensor().numel()],
        };
        let base = inputs[i].to_f64_vec()?;
        let mut numeric = vec![0.0; base.len()];
        for j in 0..base.len() {
            let eval = |delta: f64| -> Result<f64> {
                let mut x = base.clone();
                x[j] += delta;
                let xi = Tensor::from_vec(x, inputs[i].shape().clone(), inputs[i].device())?;
                let args: Vec<Var> = vars
                    .iter()
                    .enumerate()
                    .map(|(k, v)| if k == i { Var::constant(xi.clone()) } else { v.detach() })
                    .collect();
                no_grad(|| f(&args)).and_then(|y| weighted_sum(y.tensor(), &u))
            };
            numeric[j] = (eval(eps)? - eval(-eps)?) / (2.0 * eps);
        }
        let max_abs_numeric = numeric.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let max_abs_diff = numeric.iter().zip(&analytic).fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
        let e = GradError { max_abs_diff, max_abs_numeric };
        if e.relative() > tol {
            return Err(Error::Autograd(format!(
                "gradcheck input {i}: max |numeric − analytic| = {max_abs_diff:.3e}, max |numeric| = {max_abs_numeric:.3e}"
            )));
        }
        report.push(e);
    }
    Ok(report)
}
