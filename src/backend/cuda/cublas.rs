//! cuBLAS underneath the matrix products (`matmul.rs`) and convolutions (`conv.rs`): the handle and
//! `gemm_raw`, one row-major strided-batched GEMM on raw device pointers, for f32 (fp32, or TF32
//! tensor cores when the caller asks) and bf16 (tensor cores, f32 accumulation), both through
//! `cublasGemmStridedBatchedEx`. The handle's workspace (`cublasSetWorkspace`) is reserved in the
//! device's pool like every other buffer, so a GEMM never allocates behind the pool's back.
//!
//! Layout: lofi is row-major and cuBLAS column-major. A row-major [m, n] matrix is a column-major
//! [n, m] one, so y = op(a)·op(w) is computed as yᵀ = op(w)ᵀ·op(a)ᵀ: cuBLAS's A is w, its B is a.

use std::ffi::c_void;
use std::sync::{Arc, Mutex};

use cudarc::cublas::result::{create_handle, destroy_handle, set_stream};
use cudarc::cublas::sys::{
    cublasComputeType_t, cublasGemmAlgo_t, cublasGemmStridedBatchedEx, cublasHandle_t, cublasOperation_t,
    cublasSetWorkspace_v2, cublasStatus_t, cudaDataType_t,
};
use cudarc::driver::sys::CUdeviceptr;
use cudarc::driver::{CudaSlice, DevicePtrMut};

use super::libs::cublas_present;
use crate::memory::cuda::{cuda_err, lock, CudaDevice};
use crate::memory::{Pool, Reservation};
use crate::tensor::DType;
use crate::{Error, Result};

/// cuBLAS's recommended workspace: 32 MiB on Hopper and newer, 4 MiB before. It is reserved in
/// the device's pool when the first GEMM creates the handle and stays for the device's lifetime:
/// a CUDA run's pool peak is the Meta dry run's plus this (the planner adds it).
pub fn workspace_bytes(cc: (i32, i32)) -> usize {
    if cc.0 >= 9 {
        32 << 20
    } else {
        4 << 20
    }
}

/// A cuBLAS handle bound to the device's stream, with its pool-accounted workspace.
pub struct Blas {
    /// Calls that set the handle up or use its workspace are serialised.
    handle: Mutex<cublasHandle_t>,
    /// Kept alive for as long as the handle may use it (dropped after `drop` destroys the handle).
    _workspace: Option<(CudaSlice<u8>, Reservation)>,
}

// SAFETY: the raw handle is only used under the mutex, and cuBLAS handles may move between threads.
unsafe impl Send for Blas {}
// SAFETY: as above: every use locks the mutex.
unsafe impl Sync for Blas {}

/// What one GEMM runs on: the device's handle, and whether f32 products may use TF32 tensor cores
/// (the device's switch, read when the runner is fetched).
pub(crate) struct GemmRunner {
    pub blas: Arc<Blas>,
    pub tf32: bool,
}

/// A handle created, not yet given a workspace (its creation is what `measured` charges).
pub struct NewHandle(cublasHandle_t);

impl Blas {
    pub fn create_handle(cuda: &CudaDevice) -> Result<NewHandle> {
        if !cublas_present() {
            return Err(Error::Cuda("libcublas not found: put the CUDA lib directory on LD_LIBRARY_PATH".into()));
        }
        cuda.context().bind_to_thread().map_err(cuda_err)?;
        let handle = create_handle().map_err(cuda_err)?;
        // SAFETY: the handle was just created and the stream belongs to the bound context.
        if let Err(e) = unsafe { set_stream(handle, cuda.stream().cu_stream() as _) } {
            // SAFETY: the handle is valid and used nowhere else.
            let _ = unsafe { destroy_handle(handle) };
            return Err(cuda_err(e));
        }
        Ok(NewHandle(handle))
    }

    pub fn with_workspace(handle: NewHandle, cuda: &CudaDevice, pool: &Arc<Pool>) -> Result<Blas> {
        let mut blas = Blas { handle: Mutex::new(handle.0), _workspace: None };
        let bytes = workspace_bytes(cuda.compute_capability());
        let reservation = pool.reserve(bytes)?;
        let mut slice = cuda.alloc_bytes(bytes)?;
        {
            let (ptr, _sync) = slice.device_ptr_mut(cuda.stream());
            // SAFETY: the handle is valid; the workspace is `bytes` of device memory owned by `blas`,
            // which outlives the handle (destroyed in `drop` before the fields are freed).
            let status = unsafe { cublasSetWorkspace_v2(handle.0, ptr as *mut c_void, bytes) };
            check(status, "cublasSetWorkspace")?;
        }
        blas._workspace = Some((slice, reservation));
        Ok(blas)
    }
}

impl Drop for Blas {
    fn drop(&mut self) {
        let handle = *lock(&self.handle);
        // SAFETY: the handle was created by `create_handle` and is destroyed once, here. A failure
        // (the context already torn down at exit) leaves nothing to clean up, so it is ignored.
        let _ = unsafe { destroy_handle(handle) };
    }
}

fn check(status: cublasStatus_t, what: &str) -> Result<()> {
    if status == cublasStatus_t::CUBLAS_STATUS_SUCCESS {
        Ok(())
    } else {
        Err(Error::Cuda(format!("{what}: {status:?}")))
    }
}

pub(crate) fn int(op: &'static str, v: usize) -> Result<i32> {
    i32::try_from(v).map_err(|_| Error::shape(op, format!("dimension {v} exceeds cuBLAS's 32-bit range")))
}

/// One row-major product y = op(a)·op(w) (+ beta·y), or a strided batch of them, on raw device
/// pointers: what `matmul` and the convolutions (operands inside bigger buffers) share.
/// Leading dimensions are row-major, of the matrices as stored (before op); a stride of 0 reuses
/// one operand for the whole batch.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Gemm {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub trans_a: bool,
    pub trans_w: bool,
    pub lda: usize,
    pub ldw: usize,
    pub ldy: usize,
    pub stride_a: usize,
    pub stride_w: usize,
    pub stride_y: usize,
    pub batch: usize,
    /// 0 overwrites y (never reading it), 1 accumulates.
    pub beta: f32,
    /// y is f32 whatever the inputs' dtype: bf16 products accumulated into an f32 matrix (the
    /// bf16 policy's weight gradients, summed over im2col chunks with beta = 1).
    pub f32_out: bool,
}

impl Gemm {
    /// One product of dense row-major matrices: the leading dimensions follow from the shapes
    /// (a stored [m, k], or [k, m] when transposed; w [k, n] or [n, k]; y [m, n]); y overwritten.
    pub fn dense(m: usize, n: usize, k: usize, trans_a: bool, trans_w: bool) -> Gemm {
        Gemm {
            m,
            n,
            k,
            trans_a,
            trans_w,
            lda: if trans_a { m } else { k },
            ldw: if trans_w { k } else { n },
            ldy: n,
            stride_a: 0,
            stride_w: 0,
            stride_y: 0,
            batch: 1,
            beta: 0.0,
            f32_out: false,
        }
    }
    /// The same product over `batch` operand sets `stride_*` elements apart (0 = shared).
    pub fn batched(self, batch: usize, stride_a: usize, stride_w: usize, stride_y: usize) -> Gemm {
        Gemm { batch, stride_a, stride_w, stride_y, ..self }
    }
    /// y = op(a)·op(w) + beta·y (0 or 1).
    pub fn beta(self, beta: f32) -> Gemm {
        Gemm { beta, ..self }
    }
    /// y in f32 (for bf16 inputs; f32 inputs have it already).
    pub fn f32_out(self) -> Gemm {
        Gemm { f32_out: true, ..self }
    }
}

/// Runs `g` on cuBLAS: fp32 (TF32 tensor cores when the runner allows) or bf16 with f32 accumulation.
///
/// # Safety
/// `a` and `w` must point to device memory of `dtype` on `cuda`, `y` of `dtype` (f32 with
/// `g.f32_out`), holding every element the leading dimensions and strides of `g` address over
/// its batch; y must not overlap a or w; the pointers must stay valid until the stream has run
/// the GEMM.
pub(crate) unsafe fn gemm_raw(
    cuda: &CudaDevice,
    runner: &GemmRunner,
    dtype: DType,
    g: &Gemm,
    a: CUdeviceptr,
    w: CUdeviceptr,
    y: CUdeviceptr,
) -> Result<()> {
    const OP: &str = "matmul";
    if g.batch == 0 || g.m == 0 || g.n == 0 {
        return Ok(());
    }
    let (data_type, compute) = match dtype {
        DType::F32 if runner.tf32 => (cudaDataType_t::CUDA_R_32F, cublasComputeType_t::CUBLAS_COMPUTE_32F_FAST_TF32),
        DType::F32 => (cudaDataType_t::CUDA_R_32F, cublasComputeType_t::CUBLAS_COMPUTE_32F),
        DType::BF16 => (cudaDataType_t::CUDA_R_16BF, cublasComputeType_t::CUBLAS_COMPUTE_32F),
        other => return Err(Error::DType { op: OP, got: other.to_string(), expected: "f32 or bf16".into() }),
    };
    let out_type = if g.f32_out { cudaDataType_t::CUDA_R_32F } else { data_type };
    // Column-major view (module doc): C[n×m] = A'[n×k]·B'[k×m] with A' = op(w)ᵀ, B' = op(a)ᵀ.
    let op = |t: bool| if t { cublasOperation_t::CUBLAS_OP_T } else { cublasOperation_t::CUBLAS_OP_N };
    let (mi, ni, ki) = (int(OP, g.m)?, int(OP, g.n)?, int(OP, g.k)?);
    let (lda, ldw, ldy, batch) = (int(OP, g.lda)?, int(OP, g.ldw)?, int(OP, g.ldy)?, int(OP, g.batch)?);
    let alpha = 1.0f32;
    cuda.context().bind_to_thread().map_err(cuda_err)?;
    let handle = lock(&runner.blas.handle);
    // SAFETY: the handle is valid and bound to this stream; the caller guarantees the operands
    // (extents, dtype, no overlap with y); alpha/beta are host f32 values as CUBLAS_COMPUTE_32F*
    // requires.
    let status = unsafe {
        cublasGemmStridedBatchedEx(
            *handle,
            op(g.trans_w),
            op(g.trans_a),
            ni,
            mi,
            ki,
            &alpha as *const f32 as *const c_void,
            w as *const c_void,
            data_type,
            ldw,
            g.stride_w as i64,
            a as *const c_void,
            data_type,
            lda,
            g.stride_a as i64,
            &g.beta as *const f32 as *const c_void,
            y as *mut c_void,
            out_type,
            ldy,
            g.stride_y as i64,
            batch,
            compute,
            cublasGemmAlgo_t::CUBLAS_GEMM_DFALT,
        )
    };
    check(status, "cublasGemmStridedBatchedEx")
}
