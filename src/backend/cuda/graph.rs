//! Launchers of `kernels/graph.cu`: G-TAD's kNN score and top-k, the neighbour gather of
//! `get_graph_feature` and its adjoint, and the max over the last axis. CPU twins:
//! `backend/cpu/graph.rs`.
//!
//! Index tensors (i64) are checked for device, dtype and length here; their values are checked on
//! the device (an out-of-range index turns the outputs that depend on it into NaN, see graph.cu),
//! so no launch waits for a download.

use cudarc::driver::PushKernelArg;

use super::device::CudaKernels;
use super::kernels::Kernel;
use super::launch::{check_distinct, check_len, check_tensors, cuda_of, grid_1d, launch};
use crate::tensor::{DType, Tensor};
use crate::{Error, Result};

/// Errors unless `idx` is an i64 tensor of `n` elements on `like`'s device.
pub(super) fn check_index(kernel: Kernel, what: &str, idx: &Tensor, like: &Tensor, n: usize) -> Result<()> {
    if idx.dtype() != DType::I64 {
        return Err(Error::DType { op: kernel.stem(), got: idx.dtype().to_string(), expected: "i64".into() });
    }
    if idx.device() != like.device() {
        return Err(Error::DeviceMismatch {
            op: kernel.stem(),
            a: format!("{:?}", like.device()),
            b: format!("{:?}", idx.device()),
        });
    }
    check_len(kernel, what, idx, n)
}

/// `[B, C, L]` of `x`.
fn bcl(kernel: Kernel, x: &Tensor) -> Result<[usize; 3]> {
    x.shape().dims_n::<3>(kernel.stem())
}

/// `k`, the last axis of a `[B, L, k]` index tensor.
fn last_axis(idx: &Tensor) -> usize {
    idx.dims().last().copied().unwrap_or(0)
}

pub fn knn_score(x: &Tensor, gram: &Tensor, score: &Tensor) -> Result<()> {
    let kernel = Kernel::KnnScoreFwd;
    let dtype = check_tensors(kernel, &[x, gram, score])?;
    let [b, c, l] = bcl(kernel, x)?;
    let n = b * l * l;
    check_len(kernel, "gram", gram, n)?;
    check_len(kernel, "score", score, n)?;
    check_distinct(kernel, score, &[x, gram])?;
    if n == 0 {
        return Ok(());
    }
    let cuda = cuda_of(score)?;
    let func = cuda.function(kernel, dtype)?;
    let (xg, gg, mut sg) = (x.storage(), gram.storage(), score.storage_mut());
    // SAFETY: knn_score_fwd_T(const T* x, const T* gram, T* score, size_t batch, size_t c,
    // size_t l); x holds b·c·l elements (its shape), gram and score b·l·l (checked above), and the
    // output aliases no input.
    unsafe {
        launch(cuda, &func, grid_1d(cuda, n), |args| {
            args.arg(xg.cuda_slice()?).arg(gg.cuda_slice()?).arg(sg.cuda_slice_mut()?);
            args.arg(&b).arg(&c).arg(&l);
            Ok(())
        })
    }
}

pub fn knn_topk(score: &Tensor, idx: &Tensor, k: usize) -> Result<()> {
    let kernel = Kernel::KnnTopkFwd;
    let dtype = check_tensors(kernel, &[score])?;
    let [b, l, l2] = bcl(kernel, score)?;
    if l != l2 || k == 0 || k > l {
        return Err(Error::shape(kernel.stem(), format!("top {k} of a score of shape {}", score.shape())));
    }
    let rows = b * l;
    check_index(kernel, "idx", idx, score, rows * k)?;
    check_distinct(kernel, idx, &[score])?;
    if rows == 0 {
        return Ok(());
    }
    let cuda = cuda_of(score)?;
    let func = cuda.function(kernel, dtype)?;
    let (sg, mut ig) = (score.storage(), idx.storage_mut());
    // SAFETY: knn_topk_fwd_T(const T* score, long long* idx, size_t rows, size_t l, size_t k);
    // score holds rows·l elements of T, idx rows·k i64 (checked above), 1 ≤ k ≤ l.
    unsafe {
        launch(cuda, &func, grid_1d(cuda, rows), |args| {
            args.arg(sg.cuda_slice()?).arg(ig.cuda_slice_mut()?);
            args.arg(&rows).arg(&l).arg(&k);
            Ok(())
        })
    }
}

/// The neighbour gather (`fwd`: x → y) or its adjoint (`!fwd`: dy → dx); `feat` is whichever of
/// the two is the [B, C, L] side, the other is [B, C', L, k].
fn gather(kernel: Kernel, src: &Tensor, idx: &Tensor, dst: &Tensor, with_self: bool, fwd: bool) -> Result<()> {
    let dtype = check_tensors(kernel, &[src, dst])?;
    let feat = if fwd { src } else { dst };
    let [b, c, l] = bcl(kernel, feat)?;
    let k = last_axis(idx);
    let c_out = if with_self { 2 * c } else { c };
    let graph_len = b * c_out * l * k;
    check_len(kernel, if fwd { "y" } else { "dy" }, if fwd { dst } else { src }, graph_len)?;
    check_index(kernel, "idx", idx, src, b * l * k)?;
    check_distinct(kernel, dst, &[src, idx])?;
    let n = dst.numel();
    if n == 0 {
        return Ok(());
    }
    if k == 0 {
        return Err(Error::shape(kernel.stem(), "no neighbours (k = 0)"));
    }
    let cuda = cuda_of(dst)?;
    let func = cuda.function(kernel, dtype)?;
    let flag = i32::from(with_self);
    let (sg, ig, mut dg) = (src.storage(), idx.storage(), dst.storage_mut());
    // SAFETY: graph_gather_{fwd,bwd}_T(const T* src, const long long* idx, T* dst, size_t batch,
    // size_t c, size_t l, size_t k, int with_self); the [B, C, L] side holds b·c·l elements (its
    // shape), the graph side b·c'·l·k and idx b·l·k i64 (checked above); the kernel reads x only at
    // indices it has checked against l, and the output aliases no input.
    unsafe {
        launch(cuda, &func, grid_1d(cuda, n), |args| {
            args.arg(sg.cuda_slice()?).arg(ig.cuda_slice()?).arg(dg.cuda_slice_mut()?);
            args.arg(&b).arg(&c).arg(&l).arg(&k).arg(&flag);
            Ok(())
        })
    }
}

pub fn graph_gather_fwd(x: &Tensor, idx: &Tensor, y: &Tensor, with_self: bool) -> Result<()> {
    gather(Kernel::GraphGatherFwd, x, idx, y, with_self, true)
}

pub fn graph_gather_bwd(dy: &Tensor, idx: &Tensor, dx: &Tensor, with_self: bool) -> Result<()> {
    gather(Kernel::GraphGatherBwd, dy, idx, dx, with_self, false)
}

pub fn max_lastdim_fwd(x: &Tensor, y: &Tensor, argmax: &Tensor, k: usize) -> Result<()> {
    let kernel = Kernel::MaxLastdimFwd;
    let dtype = check_tensors(kernel, &[x, y])?;
    let rows = y.numel();
    check_len(kernel, "x", x, rows * k)?;
    check_index(kernel, "argmax", argmax, x, rows)?;
    check_distinct(kernel, y, &[x])?;
    check_distinct(kernel, argmax, &[x, y])?;
    if rows == 0 {
        return Ok(());
    }
    if k == 0 {
        return Err(Error::shape(kernel.stem(), "max over an empty axis"));
    }
    let cuda = cuda_of(y)?;
    let func = cuda.function(kernel, dtype)?;
    let (xg, mut yg, mut ag) = (x.storage(), y.storage_mut(), argmax.storage_mut());
    // SAFETY: max_lastdim_fwd_T(const T* x, T* y, long long* argmax, size_t rows, size_t k); x
    // holds rows·k elements, y rows, argmax rows i64 (checked above), k ≥ 1, no aliasing.
    unsafe {
        launch(cuda, &func, grid_1d(cuda, rows), |args| {
            args.arg(xg.cuda_slice()?).arg(yg.cuda_slice_mut()?).arg(ag.cuda_slice_mut()?);
            args.arg(&rows).arg(&k);
            Ok(())
        })
    }
}

pub fn max_lastdim_bwd(dy: &Tensor, argmax: &Tensor, dx: &Tensor, k: usize) -> Result<()> {
    let kernel = Kernel::MaxLastdimBwd;
    let dtype = check_tensors(kernel, &[dy, dx])?;
    let rows = dy.numel();
    check_len(kernel, "dx", dx, rows * k)?;
    check_index(kernel, "argmax", argmax, dy, rows)?;
    check_distinct(kernel, dx, &[dy, argmax])?;
    let n = rows * k;
    if n == 0 {
        return Ok(());
    }
    let cuda = cuda_of(dx)?;
    let func = cuda.function(kernel, dtype)?;
    let (dg, ag, mut xg) = (dy.storage(), argmax.storage(), dx.storage_mut());
    // SAFETY: max_lastdim_bwd_T(const T* dy, const long long* argmax, T* dx, size_t rows,
    // size_t k); dy holds rows elements, argmax rows i64, dx rows·k (checked above); argmax is only
    // compared, never dereferenced.
    unsafe {
        launch(cuda, &func, grid_1d(cuda, n), |args| {
            args.arg(dg.cuda_slice()?).arg(ag.cuda_slice()?).arg(xg.cuda_slice_mut()?);
            args.arg(&rows).arg(&k);
            Ok(())
        })
    }
}
