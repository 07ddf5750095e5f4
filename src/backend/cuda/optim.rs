//! Launchers of `kernels/optim.cu`: the SGD update in place (weight decay, optional momentum) and
//! the Adam update (L2-form weight decay, bias corrections).
//! CPU twin: `backend/cpu/optim.rs`.

use cudarc::driver::PushKernelArg;

use super::device::CudaKernels;
use super::kernels::Kernel;
use super::launch::{check_distinct, check_len, check_tensors, cuda_of, grid_1d, launch};
use crate::backend::{AdamStep, SgdStep};
use crate::tensor::Tensor;
use crate::Result;

pub fn sgd_step(param: &Tensor, grad: &Tensor, momentum_buf: Option<&Tensor>, o: &SgdStep) -> Result<()> {
    let kernel = if momentum_buf.is_some() { Kernel::SgdMomentumUpdate } else { Kernel::SgdUpdate };
    let mut all = vec![param, grad];
    all.extend(momentum_buf);
    let dtype = check_tensors(kernel, &all)?;
    let n = param.numel();
    check_len(kernel, "the gradient", grad, n)?;
    check_distinct(kernel, param, &[grad])?;
    if let Some(buf) = momentum_buf {
        check_len(kernel, "the momentum buffer", buf, n)?;
        check_distinct(kernel, buf, &[param, grad])?;
    }
    if n == 0 {
        return Ok(());
    }
    let cuda = cuda_of(param)?;
    let func = cuda.function(kernel, dtype)?;
    let (lr, wd, momentum) = (o.lr as f32, o.weight_decay as f32, o.momentum as f32);
    let (mut pg, gg) = (param.storage_mut(), grad.storage());
    let mut bg = momentum_buf.map(|b| b.storage_mut());
    // SAFETY: sgd_update_T(T* param, const T* grad, size_t n, float lr, float wd) and
    // sgd_momentum_update_T(T* param, const T* grad, T* buf, size_t n, float lr, float wd,
    // float momentum); every buffer holds n elements of T and none aliases another (checked above).
    unsafe {
        launch(cuda, &func, grid_1d(cuda, n), |args| {
            args.arg(pg.cuda_slice_mut()?).arg(gg.cuda_slice()?);
            if let Some(b) = bg.as_mut() {
                args.arg(b.cuda_slice_mut()?);
            }
            args.arg(&n).arg(&lr).arg(&wd);
            if momentum_buf.is_some() {
                args.arg(&momentum);
            }
            Ok(())
        })
    }
}

pub fn adam_step(param: &Tensor, grad: &Tensor, exp_avg: &Tensor, exp_avg_sq: &Tensor, o: &AdamStep) -> Result<()> {
    let kernel = Kernel::AdamUpdate;
    let dtype = check_tensors(kernel, &[param, grad, exp_avg, exp_avg_sq])?;
    let n = param.numel();
    check_len(kernel, "the gradient", grad, n)?;
    check_len(kernel, "exp_avg", exp_avg, n)?;
    check_len(kernel, "exp_avg_sq", exp_avg_sq, n)?;
    check_distinct(kernel, param, &[grad, exp_avg, exp_avg_sq])?;
    check_distinct(kernel, exp_avg, &[grad, exp_avg_sq])?;
    check_distinct(kernel, exp_avg_sq, &[grad])?;
    if n == 0 {
        return Ok(());
    }
    let cuda = cuda_of(param)?;
    let func = cuda.function(kernel, dtype)?;
    // The bias corrections in f64 on the host, as the CPU twin.
    let t = i32::try_from(o.step).unwrap_or(i32::MAX);
    let bc1 = (1.0 - o.beta1.powi(t)) as f32;
    let bc2_sqrt = (1.0 - o.beta2.powi(t)).sqrt() as f32;
    let (lr, b1, b2, eps, wd) = (o.lr as f32, o.beta1 as f32, o.beta2 as f32, o.eps as f32, o.weight_decay as f32);
    let (mut pg, gg, mut mg, mut vg) =
        (param.storage_mut(), grad.storage(), exp_avg.storage_mut(), exp_avg_sq.storage_mut());
    // SAFETY: adam_update_T(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, size_t n, float lr,
    // float beta1, float beta2, float eps, float wd, float bc1, float bc2_sqrt); the four buffers
    // hold n elements of T and no output aliases another argument (checked above).
    unsafe {
        launch(cuda, &func, grid_1d(cuda, n), |args| {
            args.arg(pg.cuda_slice_mut()?).arg(gg.cuda_slice()?);
            args.arg(mg.cuda_slice_mut()?).arg(vg.cuda_slice_mut()?);
            args.arg(&n).arg(&lr).arg(&b1).arg(&b2).arg(&eps).arg(&wd).arg(&bc1).arg(&bc2_sqrt);
            Ok(())
        })
    }
}
