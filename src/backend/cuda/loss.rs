//! Launchers of `kernels/loss.cu`: mean softmax cross-entropy and the weighted binary
//! cross-entropy, forward and backward. CPU twins: `backend/cpu/loss.rs`.
//!
//! The forward reductions run in one block (deterministic; see loss.cu). The cross-entropy
//! targets are downloaded and validated on the host before the forward, with the twin's rules and
//! messages, so a bad target is an error on both backends; the download waits for the stream (the
//! targets are one i64 per row). The backward only compares targets with class indices and never
//! reads through them, so it does not download them again.

use cudarc::driver::{LaunchConfig, PushKernelArg};

use super::device::CudaKernels;
use super::graph::check_index;
use super::kernels::Kernel;
use super::launch::{check_distinct, check_len, check_tensors, cuda_of, grid_1d, launch, BLOCK};
use crate::tensor::Tensor;
use crate::{Error, Result};

/// One block of `BLOCK` threads: the single-block reductions.
fn one_block() -> LaunchConfig {
    LaunchConfig { grid_dim: (1, 1, 1), block_dim: (BLOCK, 1, 1), shared_mem_bytes: 0 }
}

/// `[n, k]` of the logits or probabilities.
fn rows(kernel: Kernel, t: &Tensor) -> Result<[usize; 2]> {
    t.shape().dims_n::<2>(kernel.stem())
}

/// Errors unless every target is a class in 0..k (the twin's check and message).
fn check_targets(target: &Tensor, k: usize) -> Result<()> {
    for (i, &t) in target.to_vec::<i64>()?.iter().enumerate() {
        if usize::try_from(t).ok().filter(|&u| u < k).is_none() {
            return Err(Error::invalid("cross_entropy", format!("target[{i}] = {t} is not a class in 0..{k}")));
        }
    }
    Ok(())
}

pub fn softmax_xent_fwd(logits: &Tensor, target: &Tensor, loss: &Tensor, probs: &Tensor) -> Result<()> {
    let kernel = Kernel::SoftmaxXentFwd;
    let dtype = check_tensors(kernel, &[logits, loss, probs])?;
    let [n, k] = rows(kernel, logits)?;
    check_len(kernel, "probs", probs, n * k)?;
    check_len(kernel, "loss", loss, 1)?;
    check_index(kernel, "target", target, logits, n)?;
    check_distinct(kernel, probs, &[logits, loss])?;
    check_distinct(kernel, loss, &[logits])?;
    check_targets(target, k)?;
    let cuda = cuda_of(loss)?;
    let func = cuda.function(kernel, dtype)?;
    let (lg, tg, mut sg, mut pg) = (logits.storage(), target.storage(), loss.storage_mut(), probs.storage_mut());
    // SAFETY: softmax_xent_fwd_T(const T* logits, const long long* target, T* loss, T* probs,
    // size_t n, size_t k); logits and probs hold n·k elements, target n i64 (each in 0..k, checked
    // above), loss 1; one block of BLOCK threads (a multiple of 32, as the warp-per-row loop needs).
    unsafe {
        launch(cuda, &func, one_block(), |args| {
            args.arg(lg.cuda_slice()?).arg(tg.cuda_slice()?).arg(sg.cuda_slice_mut()?).arg(pg.cuda_slice_mut()?);
            args.arg(&n).arg(&k);
            Ok(())
        })
    }
}

pub fn softmax_xent_bwd(probs: &Tensor, target: &Tensor, dloss: &Tensor, dlogits: &Tensor) -> Result<()> {
    let kernel = Kernel::SoftmaxXentBwd;
    let dtype = check_tensors(kernel, &[probs, dloss, dlogits])?;
    let [n, k] = rows(kernel, probs)?;
    check_len(kernel, "dlogits", dlogits, n * k)?;
    check_len(kernel, "dloss", dloss, 1)?;
    check_index(kernel, "target", target, probs, n)?;
    check_distinct(kernel, dlogits, &[probs, dloss, target])?;
    if n * k == 0 {
        return Ok(());
    }
    let cuda = cuda_of(dlogits)?;
    let func = cuda.function(kernel, dtype)?;
    let (pg, tg, lg, mut dg) = (probs.storage(), target.storage(), dloss.storage(), dlogits.storage_mut());
    // SAFETY: softmax_xent_bwd_T(const T* probs, const long long* target, const T* dloss,
    // T* dlogits, size_t n, size_t k); probs and dlogits hold n·k elements, target n i64 (only
    // compared), dloss 1 (checked above); the output aliases no input.
    unsafe {
        launch(cuda, &func, grid_1d(cuda, n * k), |args| {
            args.arg(pg.cuda_slice()?).arg(tg.cuda_slice()?).arg(lg.cuda_slice()?).arg(dg.cuda_slice_mut()?);
            args.arg(&n).arg(&k);
            Ok(())
        })
    }
}

pub fn weighted_bce_fwd(p: &Tensor, t: &Tensor, loss: &Tensor, w1: f64, w0: f64, eps: f64) -> Result<()> {
    let kernel = Kernel::WeightedBceFwd;
    let dtype = check_tensors(kernel, &[p, t, loss])?;
    let n = p.numel();
    check_len(kernel, "t", t, n)?;
    check_len(kernel, "loss", loss, 1)?;
    check_distinct(kernel, loss, &[p, t])?;
    let cuda = cuda_of(loss)?;
    let func = cuda.function(kernel, dtype)?;
    let (w1, w0, eps) = (w1 as f32, w0 as f32, eps as f32);
    let (pg, tg, mut lg) = (p.storage(), t.storage(), loss.storage_mut());
    // SAFETY: weighted_bce_fwd_T(const T* p, const T* t, T* loss, size_t n, float w1, float w0,
    // float eps); p and t hold n elements, loss 1 (checked above), and loss aliases neither.
    unsafe {
        launch(cuda, &func, one_block(), |args| {
            args.arg(pg.cuda_slice()?).arg(tg.cuda_slice()?).arg(lg.cuda_slice_mut()?);
            args.arg(&n).arg(&w1).arg(&w0).arg(&eps);
            Ok(())
        })
    }
}

pub fn weighted_bce_bwd(p: &Tensor, t: &Tensor, dloss: &Tensor, dp: &Tensor, w1: f64, w0: f64, eps: f64) -> Result<()> {
    let kernel = Kernel::WeightedBceBwd;
    let dtype = check_tensors(kernel, &[p, t, dloss, dp])?;
    let n = p.numel();
    check_len(kernel, "t", t, n)?;
    check_len(kernel, "dp", dp, n)?;
    check_len(kernel, "dloss", dloss, 1)?;
    check_distinct(kernel, dp, &[p, t, dloss])?;
    if n == 0 {
        return Ok(());
    }
    let cuda = cuda_of(dp)?;
    let func = cuda.function(kernel, dtype)?;
    let (w1, w0, eps) = (w1 as f32, w0 as f32, eps as f32);
    let (pg, tg, lg, mut dg) = (p.storage(), t.storage(), dloss.storage(), dp.storage_mut());
    // SAFETY: weighted_bce_bwd_T(const T* p, const T* t, const T* dloss, T* dp, size_t n,
    // float w1, float w0, float eps); p, t and dp hold n elements, dloss 1 (checked above), and dp
    // aliases no input.
    unsafe {
        launch(cuda, &func, grid_1d(cuda, n), |args| {
            args.arg(pg.cuda_slice()?).arg(tg.cuda_slice()?).arg(lg.cuda_slice()?).arg(dg.cuda_slice_mut()?);
            args.arg(&n).arg(&w1).arg(&w0).arg(&eps);
            Ok(())
        })
    }
}
