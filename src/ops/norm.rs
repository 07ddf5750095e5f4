//! Batch normalisation over (N, H, W) per channel (PyTorch `BatchNorm2d`, eps 1e-5, momentum 0.1).
//!
//! Modes: `Train` normalises with the batch statistics (biased variance) and updates the running
//! statistics (unbiased variance) — except while a recompute segment re-runs its forward, so the
//! update happens exactly once per step; `Eval` uses the running statistics with a trainable affine;
//! `Frozen` is Eval with the affine held fixed (the module passes γ, β as constants).

use super::{check_device, check_same, empty_like};
use crate::autograd::{is_recomputing, record, Var};
use crate::backend::launch;
use crate::tensor::Tensor;
use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BnMode {
    Train,
    Eval,
    Frozen,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BnOpts {
    pub eps: f64,
    pub momentum: f64,
}

impl Default for BnOpts {
    fn default() -> Self {
        BnOpts { eps: 1e-5, momentum: 0.1 }
    }
}

/// The running statistics a BN layer owns.
pub struct RunningStats<'a> {
    pub mean: &'a Tensor,
    pub var: &'a Tensor,
}

fn dims(x: &Tensor, gamma: &Tensor) -> Result<(usize, usize, usize)> {
    let d = x.dims();
    if d.len() < 2 {
        return Err(Error::shape("batch_norm", format!("input {} has no channel axis", x.shape())));
    }
    let (n, c, hw) = (d[0], d[1], d[2..].iter().product::<usize>());
    if gamma.dims() != [c] {
        return Err(Error::shape("batch_norm", format!("γ {} for {c} channels", gamma.shape())));
    }
    Ok((n, c, hw))
}

/// Batch norm of `x` [N, C, ...]. Returns y; in `Train` mode also the batch mean and biased
/// variance (`output.batch_mean` / `batch_var_biased` of the golden case).
pub fn batch_norm_fwd(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    running: &RunningStats,
    mode: BnMode,
    o: BnOpts,
) -> Result<(Tensor, Tensor, Tensor)> {
    // The bf16 policy: x may be bf16 while γ, β and every statistic stay f32 (one dtype).
    check_same("batch_norm", &[gamma, beta, running.mean, running.var])?;
    check_device("batch_norm", &[x, gamma])?;
    let (n, c, hw) = dims(x, gamma)?;
    let y = empty_like(x, x.shape().clone(), x.dtype())?;
    if mode != BnMode::Train {
        launch(x.device(), |be| be.bn_fwd_stats(x, gamma, beta, &y, running.mean, running.var, n, c, hw, o.eps))?;
        return Ok((y, running.mean.clone(), running.var.clone()));
    }
    let mean = empty_like(x, [c], gamma.dtype())?;
    let var = empty_like(x, [c], gamma.dtype())?;
    launch(x.device(), |be| be.bn_fwd_train(x, gamma, beta, &y, &mean, &var, n, c, hw, o.eps))?;
    if !is_recomputing() {
        launch(x.device(), |be| be.bn_update_running(&mean, &var, running.mean, running.var, n * hw, o.momentum))?;
    }
    Ok((y, mean, var))
}

pub fn batch_norm(x: &Var, gamma: &Var, beta: &Var, running: &RunningStats, mode: BnMode, o: BnOpts) -> Result<Var> {
    let (y, mean, var) = batch_norm_fwd(x.tensor(), gamma.tensor(), beta.tensor(), running, mode, o)?;
    let (xs, gs) = (x.tensor().clone(), gamma.tensor().clone());
    Ok(record("batch_norm", &[x, gamma, beta], y, move |dy| {
        let (n, c, hw) = dims(&xs, &gs)?;
        let dx = empty_like(dy, xs.shape().clone(), dy.dtype())?;
        let dg = empty_like(dy, [c], gs.dtype())?;
        let db = empty_like(dy, [c], gs.dtype())?;
        launch(dy.device(), |be| {
            if mode == BnMode::Train {
                be.bn_bwd_train(&xs, dy, &gs, &mean, &var, &dx, &dg, &db, n, c, hw, o.eps)
            } else {
                be.bn_bwd_stats(&xs, dy, &gs, &mean, &var, &dx, &dg, &db, n, c, hw, o.eps)
            }
        })?;
        Ok(vec![Some(dx), Some(dg), Some(db)])
    }))
}
