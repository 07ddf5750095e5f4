//! `Backend::matmul` on cuBLAS: checks the operands, fetches the device's handle and runs one
//! strided-batched GEMM through `cublas::gemm_raw`.
//!
//! Layout: lofi is row-major and cuBLAS column-major. A row-major [m, n] matrix is a column-major
//! [n, m] one, so y = op(a)·op(w) is computed as yᵀ = op(w)ᵀ·op(a)ᵀ: cuBLAS's A is w, its B is a.

use cudarc::driver::{DevicePtr, DevicePtrMut};

use super::cublas::{gemm_raw, Gemm};
use super::device::gemm_runner;
use super::launch::cuda_of;
use crate::tensor::Tensor;
use crate::{Error, Result};

/// y[b] = op(a[b])·op(w[b]) (+ y[b] when beta = 1), as `Backend::matmul`.
#[allow(clippy::too_many_arguments)]
pub fn matmul(
    a: &Tensor,
    w: &Tensor,
    y: &Tensor,
    batch: usize,
    m: usize,
    k: usize,
    n: usize,
    trans_a: bool,
    trans_w: bool,
    beta: f64,
) -> Result<()> {
    const OP: &str = "matmul";
    let dtype = a.dtype();
    if w.dtype() != dtype || y.dtype() != dtype {
        return Err(Error::DType {
            op: OP,
            got: format!("{}/{}/{}", dtype, w.dtype(), y.dtype()),
            expected: "one dtype".into(),
        });
    }
    if a.device() != y.device() || w.device() != y.device() {
        return Err(Error::DeviceMismatch { op: OP, a: format!("{:?}", a.device()), b: format!("{:?}", y.device()) });
    }
    if a.numel() != batch * m * k || w.numel() != batch * k * n || y.numel() != batch * m * n {
        return Err(Error::shape(OP, format!("operands do not hold {batch}×[{m}×{k}]·[{k}×{n}]")));
    }
    if y.same_buffer(a) || y.same_buffer(w) {
        return Err(Error::invalid(OP, "the output shares its buffer with an operand"));
    }
    if batch == 0 || m == 0 || n == 0 {
        return Ok(());
    }
    let cuda = cuda_of(y)?;
    // Row-major leading dimensions of the stored operands: [m, k] or [k, m] for a, [k, n] or [n, k]
    // for w, [m, n] for y.
    let gemm = Gemm::dense(m, n, k, trans_a, trans_w).batched(batch, m * k, k * n, m * n).beta(beta as f32);
    let runner = gemm_runner(cuda, y.device().pool())?;
    let stream = cuda.stream();
    let (a_guard, w_guard, mut y_guard) = (a.storage(), w.storage(), y.storage_mut());
    let (a_ptr, _a_sync) = a_guard.cuda_slice()?.device_ptr(stream);
    let (w_ptr, _w_sync) = w_guard.cuda_slice()?.device_ptr(stream);
    let (y_ptr, _y_sync) = y_guard.cuda_slice_mut()?.device_ptr_mut(stream);
    // SAFETY: a, w and y are device buffers of exactly batch·m·k, batch·k·n and batch·m·n elements
    // of `dtype` (checked above), which the leading dimensions and strides of `gemm` describe, and
    // y does not alias them.
    unsafe { gemm_raw(cuda, &runner, dtype, &gemm, a_ptr, w_ptr, y_ptr) }
}
