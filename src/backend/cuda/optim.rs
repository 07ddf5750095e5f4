//! Launcher of `kernels/optim.cu`: the SGD update in place (weight decay, optional momentum).
//! CPU twin: `backend/cpu/optim.rs`.

use cudarc::driver::PushKernelArg;

use super::kernels::Kernel;
use super::launch::{check_distinct, check_len, check_tensors, cuda_of, grid_1d, launch};
use crate::backend::SgdStep;
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
