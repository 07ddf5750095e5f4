//! CPU matrix products through the `gemm` crate (BLIS-style packed kernels with SIMD), never a
//! naive triple loop. `gemm_strided` is the one place that calls into `gemm`; convolution uses it too.

use crate::tensor::{Float, Tensor};
use crate::{Error, Result};

/// A strided matrix operand: element (r, c) at `ptr[r·rs + c·cs]`.
#[derive(Clone, Copy)]
pub struct Mat<P> {
    pub ptr: P,
    pub rs: isize,
    pub cs: isize,
}

/// Where a product runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threads {
    /// On every core when it is large enough, else on the calling thread: small products usually
    /// run in parallel already (one per image or group), and hand-off would cost more than the work.
    Auto,
    /// On the calling thread only: for products computed inside a parallel loop.
    Caller,
}

/// dst[m×n] = (accumulate ? dst : 0) + lhs[m×k] · rhs[k×n], with `Threads::Auto`.
///
/// # Safety
/// As `gemm_strided_on`.
pub unsafe fn gemm_strided<T: Float>(
    m: usize,
    n: usize,
    k: usize,
    dst: Mat<*mut T>,
    lhs: Mat<*const T>,
    rhs: Mat<*const T>,
    accumulate: bool,
) {
    // SAFETY: forwarded from the caller's contract.
    unsafe { gemm_strided_on(Threads::Auto, m, n, k, dst, lhs, rhs, accumulate) }
}

/// dst[m×n] = (accumulate ? dst : 0) + lhs[m×k] · rhs[k×n], run where `threads` says.
///
/// # Safety
/// Every operand must be valid for the extents its strides reach, and `dst` must not overlap
/// `lhs` or `rhs`.
#[allow(clippy::too_many_arguments)]
pub unsafe fn gemm_strided_on<T: Float>(
    threads: Threads,
    m: usize,
    n: usize,
    k: usize,
    dst: Mat<*mut T>,
    lhs: Mat<*const T>,
    rhs: Mat<*const T>,
    accumulate: bool,
) {
    if m == 0 || n == 0 {
        return;
    }
    let par = match threads {
        Threads::Auto if m * n * k >= 1 << 18 => gemm::Parallelism::Rayon(0),
        _ => gemm::Parallelism::None,
    };
    // SAFETY: forwarded from the caller's contract; gemm computes dst := 1·dst + 1·lhs·rhs.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.ptr,
            dst.cs,
            dst.rs,
            accumulate,
            lhs.ptr,
            lhs.cs,
            lhs.rs,
            rhs.ptr,
            rhs.cs,
            rhs.rs,
            T::one(),
            T::one(),
            false,
            false,
            false,
            par,
        )
    }
}

#[allow(clippy::too_many_arguments)]
pub fn matmul<T: Float>(
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
    let av = a.cpu::<T>()?;
    let wv = w.cpu::<T>()?;
    let mut yv = y.cpu_mut::<T>()?;
    if av.len() < batch * m * k || wv.len() < batch * k * n || yv.len() < batch * m * n {
        return Err(Error::shape("matmul", format!("operands too small for {batch}×[{m}×{k}]·[{k}×{n}]")));
    }
    // Row-major storage: a is [m, k] or, transposed, stored [k, m]; likewise w.
    let (a_rs, a_cs) = if trans_a { (1, m as isize) } else { (k as isize, 1) };
    let (w_rs, w_cs) = if trans_w { (1, k as isize) } else { (n as isize, 1) };
    for b in 0..batch {
        // SAFETY: the length check above covers batch·m·k, batch·k·n and batch·m·n elements, and y
        // is a distinct buffer from a and w (the ops layer allocates it fresh or owns it).
        unsafe {
            gemm_strided(
                m,
                n,
                k,
                Mat { ptr: yv.as_mut_ptr().add(b * m * n), rs: n as isize, cs: 1 },
                Mat { ptr: av.as_ptr().add(b * m * k), rs: a_rs, cs: a_cs },
                Mat { ptr: wv.as_ptr().add(b * k * n), rs: w_rs, cs: w_cs },
                beta != 0.0,
            );
        }
    }
    Ok(())
}
