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
    let (lr_c, b1, b2, wd, eps) = (o.lr / bc1, o.beta1, o.beta2, o.weight_decay, o.eps);
    // Blocks of plain slices, so that the f64 arithmetic below vectorises; every element's result
    // is the same whatever the blocking.
    const BLOCK: usize = 4096;
    pv.par_chunks_mut(BLOCK)
        .zip(gv.par_chunks(BLOCK))
        .zip(mv.par_chunks_mut(BLOCK).zip(vv.par_chunks_mut(BLOCK)))
        .for_each(|((pb, gb), (mb, vb))| {
            for (((p, g), m), v) in pb.iter_mut().zip(gb).zip(mb.iter_mut()).zip(vb.iter_mut()) {
                let pf = p.as_f64();
                let d = g.as_f64() + wd * pf;
                let nm = b1 * m.as_f64() + (1.0 - b1) * d;
                let nv = b2 * v.as_f64() + (1.0 - b2) * d * d;
                *m = T::of(nm);
                *v = T::of(nv);
                // PyTorch: p −= lr/bc1 · m / (sqrt(v)/sqrt(bc2) + eps), eps added after the division
                *p = T::of(pf - lr_c * nm / (nv.sqrt() / bc2_sqrt + eps));
            }
        });
    Ok(())
}
