//! CPU loss kernels: mean softmax cross-entropy and G-TAD's weighted binary cross-entropy.

use rayon::prelude::*;

use crate::tensor::{Float, Tensor};
use crate::{Error, Result};

fn targets(target: &Tensor, n: usize, k: usize) -> Result<Vec<usize>> {
    let tv = target.cpu::<i64>()?;
    if tv.len() != n {
        return Err(Error::shape("cross_entropy", format!("{} targets for {n} rows", tv.len())));
    }
    tv.iter()
        .enumerate()
        .map(|(i, &t)| {
            usize::try_from(t)
                .ok()
                .filter(|&u| u < k)
                .ok_or_else(|| Error::invalid("cross_entropy", format!("target[{i}] = {t} is not a class in 0..{k}")))
        })
        .collect()
}

pub fn softmax_xent_fwd<T: Float>(logits: &Tensor, target: &Tensor, loss: &Tensor, probs: &Tensor) -> Result<()> {
    let [n, k] = logits.shape().dims_n::<2>("cross_entropy")?;
    let tg = targets(target, n, k)?;
    let lv = logits.cpu::<T>()?;
    let mut pv = probs.cpu_mut::<T>()?;
    let per_row: Vec<f64> = pv
        .par_chunks_mut(k.max(1))
        .zip(lv.par_chunks(k.max(1)))
        .zip(tg.par_iter())
        .map(|((p, l), &t)| {
            let max = l.iter().map(|v| v.as_f64()).fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = l.iter().map(|v| (v.as_f64() - max).exp()).sum();
            for (p, v) in p.iter_mut().zip(l) {
                *p = T::of((v.as_f64() - max).exp() / sum);
            }
            max + sum.ln() - l[t].as_f64()
        })
        .collect();
    let mean = per_row.iter().sum::<f64>() / n.max(1) as f64;
    loss.cpu_mut::<T>()?[0] = T::of(mean);
    Ok(())
}

pub fn softmax_xent_bwd<T: Float>(probs: &Tensor, target: &Tensor, dloss: &Tensor, dlogits: &Tensor) -> Result<()> {
    let [n, k] = probs.shape().dims_n::<2>("cross_entropy")?;
    let tg = targets(target, n, k)?;
    let pv = probs.cpu::<T>()?;
    let g = dloss.cpu::<T>()?[0].as_f64() / n.max(1) as f64;
    let mut dv = dlogits.cpu_mut::<T>()?;
    dv.par_chunks_mut(k.max(1)).zip(pv.par_chunks(k.max(1))).zip(tg.par_iter()).for_each(|((d, p), &t)| {
        for (j, (d, p)) in d.iter_mut().zip(p).enumerate() {
            let onehot = if j == t { 1.0 } else { 0.0 };
            *d = T::of((p.as_f64() - onehot) * g);
        }
    });
    Ok(())
}

pub fn weighted_bce_fwd<T: Float>(p: &Tensor, t: &Tensor, loss: &Tensor, w1: f64, w0: f64, eps: f64) -> Result<()> {
    let pv = p.cpu::<T>()?;
    let tv = t.cpu::<T>()?;
    let sum: f64 = pv
        .iter()
        .zip(tv.iter())
        .map(|(p, t)| {
            let (p, t) = (p.as_f64(), t.as_f64());
            w1 * t * (p + eps).ln() + w0 * (1.0 - t) * (1.0 - p + eps).ln()
        })
        .sum();
    loss.cpu_mut::<T>()?[0] = T::of(-sum / pv.len().max(1) as f64);
    Ok(())
}

pub fn weighted_bce_bwd<T: Float>(
    p: &Tensor,
    t: &Tensor,
    dloss: &Tensor,
    dp: &Tensor,
    w1: f64,
    w0: f64,
    eps: f64,
) -> Result<()> {
    let pv = p.cpu::<T>()?;
    let tv = t.cpu::<T>()?;
    let g = -dloss.cpu::<T>()?[0].as_f64() / pv.len().max(1) as f64;
    let mut dv = dp.cpu_mut::<T>()?;
    for ((d, p), t) in dv.iter_mut().zip(pv.iter()).zip(tv.iter()) {
        let (p, t) = (p.as_f64(), t.as_f64());
        *d = T::of(g * (w1 * t / (p + eps) - w0 * (1.0 - t) / (1.0 - p + eps)));
    }
    Ok(())
}
