//! CPU optimizer updates, in place, elementwise in f64 then rounded (PyTorch semantics; see the
//! golden `sgd_step` / `adam_step` cases).

use rayon::prelude::*;

use crate::backend::{AdamStep, SgdStep};
use crate::tensor::{Float, Tensor};
use crate::Result;

pub fn sgd_step<T: Float>(param: &Tensor, grad: &Tensor, momentum_buf: Option<&Tensor>, o: &SgdStep) -> Result<()> {
    let gv = grad.cpu::<T>()?;
    let mut pv = param.cpu_mut::<T>()?;
    match momentum_buf {
        // momentum 0 (the paper's setting): p ← p − lr·(g + wd·p)
        None => pv.par_iter_mut().zip(gv.par_iter()).for_each(|(p, g)| {
            let d = g.as_f64() + o.weight_decay * p.as_f64();
            *p = T::of(p.as_f64() - o.lr * d);
        }),
        // buf ← momentum·buf + d (buf starts at zero, which equals PyTorch's buf = d on step 1)
        Some(buf) => {
            let mut bv = buf.cpu_mut::<T>()?;
            pv.par_iter_mut().zip(gv.par_iter()).zip(bv.par_iter_mut()).for_each(|((p, g), b)| {
                let d = g.as_f64() + o.weight_decay * p.as_f64();
                let nb = o.momentum * b.as_f64() + d;
                *b = T::of(nb);
                *p = T::of(p.as_f64() - o.lr * nb);
            });
        }
    }
    Ok(())
}

pub fn adam_step<T: Float>(
    param: &Tensor,
    grad: &Tensor,
    exp_avg: &Tensor,
    exp_avg_sq: &Tensor,
    o: &AdamStep,
) -> Result<()> {
    let gv = grad.cpu::<T>()?;
    let mut pv = param.cpu_mut::<T>()?;
    let mut mv = exp_avg.cpu_mut::<T>()?;
    let mut vv = exp_avg_sq.cpu_mut::<T>()?;
    let t = o.step as i32;
    let bc1 = 1.0 - o.beta1.powi(t);
    let bc2_sqrt = (1.0 - o.beta2.powi(t)).sqrt();
    pv.par_iter_mut().zip(gv.par_iter()).zip(mv.par_iter_mut().zip(vv.par_iter_mut())).for_each(|((p, g), (m, v))| {
        let d = g.as_f64() + o.weight_decay * p.as_f64();
        let nm = o.beta1 * m.as_f64() + (1.0 - o.beta1) * d;
        let nv = o.beta2 * v.as_f64() + (1.0 - o.beta2) * d * d;
        *m = T::of(nm);
        *v = T::of(nv);
        // PyTorch: p −= lr/bc1 · m / (sqrt(v)/sqrt(bc2) + eps), eps added after the division
        *p = T::of(p.as_f64() - o.lr / bc1 * nm / (nv.sqrt() / bc2_sqrt + o.eps));
    });
    Ok(())
}
