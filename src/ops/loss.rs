//! Losses: mean softmax cross-entropy (classification, ACP) and G-TAD's weighted binary
//! cross-entropy −mean(w1·t·log(p + ε) + w0·(1 − t)·log(1 − p + ε)), ε = 1e-6 (SPEC §d).

use super::{check_same, empty_like};
use crate::autograd::{record, Var};
use crate::backend::launch;
use crate::tensor::{DType, Tensor};
use crate::{Error, Result};

/// ε inside G-TAD's logarithms.
pub const GTAD_EPS: f64 = 1e-6;

/// Mean cross-entropy of logits [n, k] against i64 class targets [n].
pub fn cross_entropy(logits: &Var, target: &Tensor) -> Result<Var> {
    let l = logits.tensor();
    let [n, _k] = l.shape().dims_n::<2>("cross_entropy")?;
    if target.dtype() != DType::I64 || target.dims() != [n] {
        return Err(Error::invalid(
            "cross_entropy",
            format!("targets must be i64 [{n}], got {} {}", target.dtype(), target.shape()),
        ));
    }
    let loss = empty_like(l, [1], l.dtype())?;
    let probs = empty_like(l, l.shape().clone(), l.dtype())?;
    launch(l.device(), |be| be.softmax_xent_fwd(l, target, &loss, &probs))?;
    let target = target.clone();
    Ok(record("cross_entropy", &[logits], loss, move |g| {
        let d = empty_like(g, probs.shape().clone(), g.dtype())?;
        launch(g.device(), |be| be.softmax_xent_bwd(&probs, &target, g, &d))?;
        Ok(vec![Some(d)])
    }))
}

/// Weighted BCE of probabilities `p` against targets `t` (same shape, not differentiated).
pub fn weighted_bce(p: &Var, t: &Tensor, w1: f64, w0: f64) -> Result<Var> {
    check_same("weighted_bce", &[p.tensor(), t])?;
    if p.tensor().shape() != t.shape() {
        return Err(Error::shape("weighted_bce", format!("{} vs {}", p.tensor().shape(), t.shape())));
    }
    let loss = empty_like(t, [1], t.dtype())?;
    launch(t.device(), |be| be.weighted_bce_fwd(p.tensor(), t, &loss, w1, w0, GTAD_EPS))?;
    let (ps, ts) = (p.tensor().clone(), t.clone());
    Ok(record("weighted_bce", &[p], loss, move |g| {
        let d = empty_like(g, ps.shape().clone(), g.dtype())?;
        launch(g.device(), |be| be.weighted_bce_bwd(&ps, &ts, g, &d, w1, w0, GTAD_EPS))?;
        Ok(vec![Some(d)])
    }))
}
