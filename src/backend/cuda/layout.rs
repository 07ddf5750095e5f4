//! Launchers of `kernels/layout.cu`: permute (rank ≤ 6) and the axis copies of concat and slice,
//! for the float dtypes of the kernel registry. CPU twin: `backend/cpu/layout.rs`.

use cudarc::driver::{DeviceRepr, PushKernelArg};

use super::device::CudaKernels;
use super::kernels::Kernel;
use super::launch::{check_distinct, check_tensors, cuda_of, grid_1d, launch};
use crate::tensor::Tensor;
use crate::{Error, Result};

/// PERMUTE_MAX_RANK of layout.cu.
const MAX_RANK: usize = 6;

/// `PermuteDims` of layout.cu, passed by value.
#[repr(C)]
#[derive(Clone, Copy)]
struct PermuteDims {
    rank: usize,
    dims: [usize; MAX_RANK],
    src_strides: [usize; MAX_RANK],
}

// SAFETY: a #[repr(C)] struct of usize fields and arrays, laid out as layout.cu's struct of size_t.
unsafe impl DeviceRepr for PermuteDims {}

pub fn permute(x: &Tensor, perm: &[usize], y: &Tensor) -> Result<()> {
    let kernel = Kernel::Permute;
    let dtype = check_tensors(kernel, &[x, y])?;
    let (xd, yd) = (x.dims(), y.dims());
    let rank = perm.len();
    if rank > MAX_RANK {
        return Err(Error::invalid(kernel.stem(), format!("rank {rank} above the kernel's {MAX_RANK}")));
    }
    // A permutation of x's axes whose result has y's dims: every index then stays in bounds.
    let mut seen = [false; MAX_RANK];
    let valid = xd.len() == rank
        && yd.len() == rank
        && perm.iter().enumerate().all(|(i, &p)| p < rank && !std::mem::replace(&mut seen[p], true) && yd[i] == xd[p]);
    if !valid {
        return Err(Error::shape(kernel.stem(), format!("perm {perm:?} does not map {xd:?} onto {yd:?}")));
    }
    check_distinct(kernel, y, &[x])?;
    let n = y.numel();
    if n == 0 {
        return Ok(());
    }
    let x_strides = x.shape().strides();
    let mut d = PermuteDims { rank, dims: [1; MAX_RANK], src_strides: [0; MAX_RANK] };
    for (i, &p) in perm.iter().enumerate() {
        d.dims[i] = yd[i];
        d.src_strides[i] = x_strides[p];
    }
    let cuda = cuda_of(y)?;
    let func = cuda.function(kernel, dtype)?;
    let (xg, mut yg) = (x.storage(), y.storage_mut());
    // SAFETY: permute_T(const T* x, T* y, size_t n, PermuteDims d); y holds n elements, and since
    // perm is a permutation with y.dims[i] = x.dims[perm[i]] (checked above) every source index
    // Σ coord_i·stride_x[perm[i]] is below x.numel() = n; y aliases no input.
    unsafe {
        launch(cuda, &func, grid_1d(cuda, n), |args| {
            args.arg(xg.cuda_slice()?).arg(yg.cuda_slice_mut()?).arg(&n).arg(&d);
            Ok(())
        })
    }
}

/// Shared by both copies: `into` writes x into y at `offset`, otherwise y reads x from `offset`.
fn copy_axis(
    kernel: Kernel,
    x: &Tensor,
    y: &Tensor,
    outer: usize,
    inner: usize,
    offset: usize,
    into: bool,
) -> Result<()> {
    let dtype = check_tensors(kernel, &[x, y])?;
    let outer = outer.max(1);
    let (xn, yn) = (x.numel(), y.numel());
    if xn % outer != 0 || yn % outer != 0 {
        return Err(Error::shape(kernel.stem(), format!("{xn} and {yn} elements are not {outer} rows")));
    }
    let (x_row, y_row) = (xn / outer, yn / outer);
    let start = offset * inner;
    // The piece (x into y, or y out of x) must fit inside the bigger row at `start`.
    let (piece, whole) = if into { (x_row, y_row) } else { (y_row, x_row) };
    if start + piece > whole {
        return Err(Error::shape(kernel.stem(), format!("{piece} elements at {start} overflow a row of {whole}")));
    }
    check_distinct(kernel, y, &[x])?;
    let n = if into { xn } else { yn };
    if n == 0 {
        return Ok(());
    }
    let cuda = cuda_of(y)?;
    let func = cuda.function(kernel, dtype)?;
    let (xg, mut yg) = (x.storage(), y.storage_mut());
    // SAFETY: copy_{into,from}_axis_T(const T* x, T* y, size_t n, size_t x_row, size_t y_row,
    // size_t start); n is the smaller tensor's numel, both tensors are `outer` rows of x_row and
    // y_row elements, and start + piece ≤ the bigger row (checked above), so every index is in
    // bounds; y aliases no input.
    unsafe {
        launch(cuda, &func, grid_1d(cuda, n), |args| {
            args.arg(xg.cuda_slice()?).arg(yg.cuda_slice_mut()?);
            args.arg(&n).arg(&x_row).arg(&y_row).arg(&start);
            Ok(())
        })
    }
}

pub fn copy_into_axis(x: &Tensor, y: &Tensor, outer: usize, inner: usize, offset: usize) -> Result<()> {
    copy_axis(Kernel::CopyIntoAxis, x, y, outer, inner, offset, true)
}

pub fn copy_from_axis(x: &Tensor, y: &Tensor, outer: usize, inner: usize, offset: usize) -> Result<()> {
    copy_axis(Kernel::CopyFromAxis, x, y, outer, inner, offset, false)
}
