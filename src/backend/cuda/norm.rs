//! Launchers of `kernels/norm.cu`: batch norm forward (batch or given statistics), backward (both
//! forms) and the running-statistics update. CPU twin: `backend/cpu/norm.rs`.
//!
//! The statistics kernels give each channel one block (the block reduces the channel's n·hw
//! values); the elementwise ones use a grid-stride grid.

use cudarc::driver::PushKernelArg;

use super::device::CudaKernels;
use super::kernels::Kernel;
use super::launch::{blocks, check_distinct, check_len, check_tensors, cuda_of, grid_1d, launch, BLOCK};
use crate::tensor::{DType, Tensor};
use crate::{Error, Result};

/// The dtype of the activations `acts` (one dtype), after checking that the per-channel
/// tensors — γ, β, statistics, their gradients — are f32 on the same device: the bf16 policy
/// keeps BN's parameters and statistics f32 for every activation dtype (`kernels/norm.cu`).
fn check_mixed(kernel: Kernel, acts: &[&Tensor], per_channel: &[&Tensor]) -> Result<DType> {
    let dtype = check_tensors(kernel, acts)?;
    for t in per_channel {
        if t.dtype() != DType::F32 {
            return Err(Error::DType {
                op: kernel.stem(),
                got: t.dtype().to_string(),
                expected: "f32 (γ, β and statistics)".into(),
            });
        }
        if let Some(first) = acts.first() {
            if t.device() != first.device() {
                return Err(Error::DeviceMismatch {
                    op: kernel.stem(),
                    a: format!("{:?}", first.device()),
                    b: format!("{:?}", t.device()),
                });
            }
        }
    }
    Ok(dtype)
}

/// Lengths shared by every bn kernel: `big` tensors hold n·c·hw elements, `per_channel` ones c.
fn check_shapes(kernel: Kernel, big: &[&Tensor], per_channel: &[&Tensor], n: usize, c: usize, hw: usize) -> Result<()> {
    for t in big {
        check_len(kernel, "an activation", t, n * c * hw)?;
    }
    for t in per_channel {
        check_len(kernel, "a per-channel tensor", t, c)?;
    }
    Ok(())
}

/// bn_fwd_train_T(x, gamma, beta, y, mean, var, …) and bn_fwd_stats_T (same order, mean and var read).
#[allow(clippy::too_many_arguments)]
fn forward(
    kernel: Kernel,
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    y: &Tensor,
    mean: &Tensor,
    var: &Tensor,
    n: usize,
    c: usize,
    hw: usize,
    eps: f64,
) -> Result<()> {
    let train = kernel == Kernel::BnFwdTrain;
    let dtype = check_mixed(kernel, &[x, y], &[gamma, beta, mean, var])?;
    check_shapes(kernel, &[x, y], &[gamma, beta, mean, var], n, c, hw)?;
    check_distinct(kernel, y, &[x, gamma, beta, mean, var])?;
    if train {
        check_distinct(kernel, mean, &[x, gamma, beta, var])?;
        check_distinct(kernel, var, &[x, gamma, beta])?;
    }
    if n * c * hw == 0 {
        return Ok(());
    }
    let cuda = cuda_of(y)?;
    let func = cuda.function(kernel, dtype)?;
    let cfg = if train { blocks(cuda, c, (BLOCK, 1, 1)) } else { grid_1d(cuda, n * c * hw) };
    let eps = eps as f32;
    let (xg, gg, bg, mut yg) = (x.storage(), gamma.storage(), beta.storage(), y.storage_mut());
    // The statistics are written in training and read otherwise.
    let (mut mw, mut vw) = if train { (Some(mean.storage_mut()), Some(var.storage_mut())) } else { (None, None) };
    let (mr, vr) = if train { (None, None) } else { (Some(mean.storage()), Some(var.storage())) };
    // SAFETY: bn_fwd_{train,stats}_T(const T* x, const float* gamma, const float* beta, T* y,
    // float* / const float* mean, float* / const float* var, size_t n, size_t c, size_t hw, float
    // eps); x and y hold n·c·hw elements of T, the per-channel tensors c of f32 (checked above);
    // outputs alias nothing.
    unsafe {
        launch(cuda, &func, cfg, |args| {
            args.arg(xg.cuda_slice()?).arg(gg.cuda_slice()?).arg(bg.cuda_slice()?).arg(yg.cuda_slice_mut()?);
            match (mw.as_mut(), vw.as_mut(), mr.as_ref(), vr.as_ref()) {
                (Some(m), Some(v), _, _) => args.arg(m.cuda_slice_mut()?).arg(v.cuda_slice_mut()?),
                (_, _, Some(m), Some(v)) => args.arg(m.cuda_slice()?).arg(v.cuda_slice()?),
                _ => unreachable!("one of the two pairs is set"),
            };
            args.arg(&n).arg(&c).arg(&hw).arg(&eps);
            Ok(())
        })
    }
}

#[allow(clippy::too_many_arguments)]
pub fn bn_fwd_train(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    y: &Tensor,
    mean: &Tensor,
    var: &Tensor,
    n: usize,
    c: usize,
    hw: usize,
    eps: f64,
) -> Result<()> {
    forward(Kernel::BnFwdTrain, x, gamma, beta, y, mean, var, n, c, hw, eps)
}

#[allow(clippy::too_many_arguments)]
pub fn bn_fwd_stats(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    y: &Tensor,
    mean: &Tensor,
    var: &Tensor,
    n: usize,
    c: usize,
    hw: usize,
    eps: f64,
) -> Result<()> {
    forward(Kernel::BnFwdStats, x, gamma, beta, y, mean, var, n, c, hw, eps)
}

/// Both backward kernels: bn_bwd_{train,stats}_T share one signature.
#[allow(clippy::too_many_arguments)]
pub fn bn_bwd(
    train: bool,
    x: &Tensor,
    dy: &Tensor,
    gamma: &Tensor,
    mean: &Tensor,
    var: &Tensor,
    dx: &Tensor,
    dgamma: &Tensor,
    dbeta: &Tensor,
    n: usize,
    c: usize,
    hw: usize,
    eps: f64,
) -> Result<()> {
    let kernel = if train { Kernel::BnBwdTrain } else { Kernel::BnBwdStats };
    let dtype = check_mixed(kernel, &[x, dy, dx], &[gamma, mean, var, dgamma, dbeta])?;
    check_shapes(kernel, &[x, dy, dx], &[gamma, mean, var, dgamma, dbeta], n, c, hw)?;
    check_distinct(kernel, dx, &[x, dy, gamma, mean, var, dgamma, dbeta])?;
    check_distinct(kernel, dgamma, &[x, dy, gamma, mean, var, dbeta])?;
    check_distinct(kernel, dbeta, &[x, dy, gamma, mean, var])?;
    if n * c * hw == 0 {
        return Ok(());
    }
    let cuda = cuda_of(dx)?;
    let func = cuda.function(kernel, dtype)?;
    let eps = eps as f32;
    let (xg, dyg, gg, mg, vg) = (x.storage(), dy.storage(), gamma.storage(), mean.storage(), var.storage());
    let (mut dxg, mut dgg, mut dbg) = (dx.storage_mut(), dgamma.storage_mut(), dbeta.storage_mut());
    // SAFETY: bn_bwd_{train,stats}_T(const T* x, const T* dy, const float* gamma, const float*
    // mean, const float* var, T* dx, float* dgamma, float* dbeta, size_t n, size_t c, size_t hw,
    // float eps); x, dy and dx hold n·c·hw elements of T, the per-channel tensors c of f32
    // (checked above); outputs alias nothing. One block per channel (the kernel's channel loop
    // covers c beyond the grid).
    unsafe {
        launch(cuda, &func, blocks(cuda, c, (BLOCK, 1, 1)), |args| {
            args.arg(xg.cuda_slice()?).arg(dyg.cuda_slice()?).arg(gg.cuda_slice()?);
            args.arg(mg.cuda_slice()?).arg(vg.cuda_slice()?);
            args.arg(dxg.cuda_slice_mut()?).arg(dgg.cuda_slice_mut()?).arg(dbg.cuda_slice_mut()?);
            args.arg(&n).arg(&c).arg(&hw).arg(&eps);
            Ok(())
        })
    }
}

pub fn bn_update_running(
    mean: &Tensor,
    var: &Tensor,
    running_mean: &Tensor,
    running_var: &Tensor,
    count: usize,
    momentum: f64,
) -> Result<()> {
    let kernel = Kernel::BnUpdateRunning;
    let dtype = check_tensors(kernel, &[mean, var, running_mean, running_var])?;
    let c = mean.numel();
    check_shapes(kernel, &[], &[var, running_mean, running_var], 1, c, 1)?;
    check_distinct(kernel, running_mean, &[mean, var, running_var])?;
    check_distinct(kernel, running_var, &[mean, var])?;
    if c == 0 {
        return Ok(());
    }
    let cuda = cuda_of(mean)?;
    let func = cuda.function(kernel, dtype)?;
    // The twin's unbiasing factor, computed in f64 on the host.
    let unbias = if count > 1 { (count as f64 / (count as f64 - 1.0)) as f32 } else { 1.0 };
    let momentum = momentum as f32;
    let (mg, vg, mut rmg, mut rvg) =
        (mean.storage(), var.storage(), running_mean.storage_mut(), running_var.storage_mut());
    // SAFETY: bn_update_running_T(const T* mean, const T* var, T* running_mean, T* running_var,
    // size_t c, float momentum, float unbias); all four hold c elements of T (checked above) and
    // the running tensors alias nothing.
    unsafe {
        launch(cuda, &func, grid_1d(cuda, c), |args| {
            args.arg(mg.cuda_slice()?).arg(vg.cuda_slice()?);
            args.arg(rmg.cuda_slice_mut()?).arg(rvg.cuda_slice_mut()?);
            args.arg(&c).arg(&momentum).arg(&unbias);
            Ok(())
        })
    }
}
