//! Convolution on the GPU (NCHW, OIHW weights): the data-movement kernels of `kernels/conv.cu`
//! around cuBLAS GEMMs. CPU twin: `backend/cpu/conv.rs` (and `pointwise.rs`), with the same
//! workspace contract (`ConvGeom::workspace_elems`): col [col_rows, chunk·P] then stage
//! [c_out/groups, chunk·P], images side by side along columns; per (image chunk, group):
//!
//!   forward      im2col → stage = W_g·col → from_stage (into y)
//!   data grad    to_stage(dy) → col = W_gᵀ·stage → col2im (into dx, a gather: no atomics)
//!   weight grad  im2col, to_stage(dy) → dW_g (+)= stage·colᵀ, beta = 0 on the first chunk and 1
//!                after, chunk by chunk in the twin's order; for bf16 activations dW is f32 (the
//!                GEMMs write an f32 C), so the sum over chunks never rounds to bf16.
//!
//! Pointwise convs (1×1, stride 1, no padding) use no workspace: each image is its own im2col
//! matrix, so forward and data gradient are one strided-batched GEMM per group over the images, and
//! the weight gradient is one GEMM per (image, group) accumulated in batch order like the twin.
//! All GEMMs follow the device's TF32 setting (fp32), or run bf16 with f32 accumulation.

use cudarc::driver::{DevicePtr, DevicePtrMut, DeviceRepr, PushKernelArg};

use super::cublas::{gemm_raw, Gemm};
use super::device::{gemm_runner, CudaDevice, CudaKernels};
use super::kernels::Kernel;
use super::launch::{check_distinct, check_len, check_tensors, cuda_of, grid_1d, launch};
use crate::backend::ConvGeom;
use crate::tensor::{DType, Tensor};
use crate::{Error, Result};

/// `ConvDims` of conv.cu, passed by value: thirteen size_t.
#[repr(C)]
#[derive(Clone, Copy)]
struct ConvDims {
    c_in: usize,
    h: usize,
    w: usize,
    c_out: usize,
    kh: usize,
    kw: usize,
    sh: usize,
    sw: usize,
    ph: usize,
    pw: usize,
    groups: usize,
    ho: usize,
    wo: usize,
}

// SAFETY: a #[repr(C)] struct of usize fields, laid out as conv.cu's struct of size_t.
unsafe impl DeviceRepr for ConvDims {}

impl ConvDims {
    fn of(g: &ConvGeom) -> ConvDims {
        ConvDims {
            c_in: g.c_in,
            h: g.h,
            w: g.w,
            c_out: g.c_out,
            kh: g.kh,
            kw: g.kw,
            sh: g.stride.0,
            sw: g.stride.1,
            ph: g.pad.0,
            pw: g.pad.1,
            groups: g.groups,
            ho: g.ho,
            wo: g.wo,
        }
    }
}

/// Which tensor plays which role, for the checks every entry shares.
struct Roles<'t> {
    /// The NCHW input side (x or dx) and the output side (y or dy).
    input: &'t Tensor,
    output: &'t Tensor,
    weight: &'t Tensor,
    ws: &'t Tensor,
    /// The tensor the kernel writes.
    written: &'t Tensor,
}

/// Checks dtype, device, lengths (input, output, weight, workspace) and aliasing; returns the
/// activations' dtype. The weight is in that dtype, except a weight gradient of bf16 activations,
/// which is f32 (`DType::weight_grad`: the bf16 policy accumulates it in f32).
fn check(g: &ConvGeom, r: &Roles) -> Result<DType> {
    let kernel = Kernel::Im2col;
    let dtype = if g.is_pointwise() {
        check_tensors(kernel, &[r.input, r.output])?
    } else {
        check_tensors(kernel, &[r.input, r.output, r.ws])?
    };
    let weight_dtype = if std::ptr::eq(r.weight, r.written) { dtype.weight_grad() } else { dtype };
    if r.weight.dtype() != weight_dtype {
        return Err(Error::DType {
            op: "conv2d",
            got: r.weight.dtype().to_string(),
            expected: weight_dtype.to_string(),
        });
    }
    if r.weight.device() != r.input.device() {
        return Err(Error::DeviceMismatch {
            op: "conv2d",
            a: format!("{:?}", r.input.device()),
            b: format!("{:?}", r.weight.device()),
        });
    }
    if g.groups == 0 || !g.c_in.is_multiple_of(g.groups) || !g.c_out.is_multiple_of(g.groups) || g.chunk == 0 {
        return Err(Error::shape("conv2d", format!("{g:?} is not a valid geometry")));
    }
    check_len(kernel, "the input", r.input, g.n * g.c_in * g.h * g.w)?;
    check_len(kernel, "the output", r.output, g.n * g.c_out * g.out_pixels())?;
    check_len(kernel, "the weight", r.weight, g.c_out * g.col_rows())?;
    // The written tensor is one of the three roles (by identity); the other two are read.
    let reads: Vec<&Tensor> =
        [r.input, r.output, r.weight].into_iter().filter(|t| !std::ptr::eq(*t, r.written)).collect();
    check_distinct(kernel, r.written, &reads)?;
    if !g.is_pointwise() {
        if r.ws.numel() < g.workspace_elems() {
            return Err(Error::shape(
                "conv2d",
                format!("workspace of {} elements, need {}", r.ws.numel(), g.workspace_elems()),
            ));
        }
        check_distinct(kernel, r.ws, &[r.input, r.output, r.weight])?;
    }
    Ok(dtype)
}

/// The address `elems` elements of `dtype` past `base`.
fn at(base: u64, elems: usize, dtype: DType) -> u64 {
    base + (elems * dtype.size_in_bytes()) as u64
}

/// Launches one conv.cu kernel (all share `(const T* src, T* dst, ConvDims, n0, nc, grp)`) over
/// `count` threads' worth of elements.
///
/// # Safety
/// `src` and `dst` must be device buffers of the kernel's dtype holding every element the kernel
/// indexes for `g`, images n0..n0+nc and group `grp` (the workspace halves and the NCHW tensors
/// checked by `check`), and must not overlap.
#[allow(clippy::too_many_arguments)]
unsafe fn movement(
    cuda: &CudaDevice,
    kernel: Kernel,
    dtype: DType,
    src: u64,
    dst: u64,
    d: &ConvDims,
    unit: (usize, usize, usize),
    count: usize,
) -> Result<()> {
    let func = cuda.function(kernel, dtype)?;
    let (n0, nc, grp) = unit;
    // SAFETY: forwarded from the caller (signature and extents); the pointers are u64 device
    // addresses, the width of the kernel's pointer parameters.
    unsafe {
        launch(cuda, &func, grid_1d(cuda, count), |args| {
            args.arg(&src).arg(&dst).arg(d).arg(&n0).arg(&nc).arg(&grp);
            Ok(())
        })
    }
}

/// The (n0, nc) chunks of the batch in order.
fn chunks(g: &ConvGeom) -> impl Iterator<Item = (usize, usize)> + '_ {
    (0..g.n).step_by(g.chunk.max(1)).map(move |n0| (n0, g.chunk.min(g.n - n0)))
}

pub fn conv2d_fwd(g: &ConvGeom, x: &Tensor, w: &Tensor, y: &Tensor, ws: &Tensor) -> Result<()> {
    let dtype = check(g, &Roles { input: x, output: y, weight: w, ws, written: y })?;
    if y.numel() == 0 {
        return Ok(());
    }
    let cuda = cuda_of(y)?;
    let runner = gemm_runner(cuda, y.device().pool())?;
    let stream = cuda.stream();
    let (xg, wg, mut yg) = (x.storage(), w.storage(), y.storage_mut());
    let (xp, _xs) = xg.cuda_slice()?.device_ptr(stream);
    let (wp, _ws) = wg.cuda_slice()?.device_ptr(stream);
    let (yp, _ys) = yg.cuda_slice_mut()?.device_ptr_mut(stream);
    let (p, cpg, cg, rows) = (g.out_pixels(), g.c_in / g.groups, g.c_out / g.groups, g.col_rows());
    if g.is_pointwise() {
        for grp in 0..g.groups {
            let gemm = Gemm::dense(cg, p, cpg, false, false).batched(g.n, 0, g.c_in * p, g.c_out * p);
            // SAFETY: y_j[grp] = W_g·x_j[grp] for every image j: W_g is cg×cpg at grp·cg·cpg, x_j's
            // group channels cpg×p at j·c_in·p + grp·cpg·p, y_j's cg×p at j·c_out·p + grp·cg·p — all
            // inside the tensors checked by `check`; y overlaps neither.
            unsafe {
                gemm_raw(
                    cuda,
                    &runner,
                    dtype,
                    &gemm,
                    at(wp, grp * cg * cpg, dtype),
                    at(xp, grp * cpg * p, dtype),
                    at(yp, grp * cg * p, dtype),
                )?;
            }
        }
        return Ok(());
    }
    let mut wsg = ws.storage_mut();
    let (col, _wss) = wsg.cuda_slice_mut()?.device_ptr_mut(stream);
    let stage = at(col, rows * g.chunk * p, dtype);
    let d = ConvDims::of(g);
    for (n0, nc) in chunks(g) {
        let cols = nc * p;
        for grp in 0..g.groups {
            // SAFETY (the three calls): col holds rows×cols and stage cg×cols elements (workspace
            // size checked, nc ≤ chunk); x, y and w hold the elements `check` verified; the
            // workspace overlaps no tensor.
            unsafe {
                movement(cuda, Kernel::Im2col, dtype, xp, col, &d, (n0, nc, grp), rows * cols)?;
                let gemm = Gemm::dense(cg, cols, rows, false, false);
                gemm_raw(cuda, &runner, dtype, &gemm, at(wp, grp * cg * rows, dtype), col, stage)?;
                movement(cuda, Kernel::FromStage, dtype, stage, yp, &d, (n0, nc, grp), cg * cols)?;
            }
        }
    }
    Ok(())
}

pub fn conv2d_bwd_data(g: &ConvGeom, dy: &Tensor, w: &Tensor, dx: &Tensor, ws: &Tensor) -> Result<()> {
    let dtype = check(g, &Roles { input: dx, output: dy, weight: w, ws, written: dx })?;
    if dx.numel() == 0 {
        return Ok(());
    }
    let cuda = cuda_of(dx)?;
    let runner = gemm_runner(cuda, dx.device().pool())?;
    let stream = cuda.stream();
    let (dyg, wg, mut dxg) = (dy.storage(), w.storage(), dx.storage_mut());
    let (dyp, _dys) = dyg.cuda_slice()?.device_ptr(stream);
    let (wp, _ws) = wg.cuda_slice()?.device_ptr(stream);
    let (dxp, _dxs) = dxg.cuda_slice_mut()?.device_ptr_mut(stream);
    let (p, cpg, cg, rows) = (g.out_pixels(), g.c_in / g.groups, g.c_out / g.groups, g.col_rows());
    if g.is_pointwise() {
        for grp in 0..g.groups {
            let gemm = Gemm::dense(cpg, p, cg, true, false).batched(g.n, 0, g.c_out * p, g.c_in * p);
            // SAFETY: dx_j[grp] = W_gᵀ·dy_j[grp]: W_g (stored cg×cpg) at grp·cg·cpg, dy_j's cg×p at
            // j·c_out·p + grp·cg·p, dx_j's cpg×p at j·c_in·p + grp·cpg·p, inside the checked tensors.
            unsafe {
                gemm_raw(
                    cuda,
                    &runner,
                    dtype,
                    &gemm,
                    at(wp, grp * cg * cpg, dtype),
                    at(dyp, grp * cg * p, dtype),
                    at(dxp, grp * cpg * p, dtype),
                )?;
            }
        }
        return Ok(());
    }
    let mut wsg = ws.storage_mut();
    let (col, _wss) = wsg.cuda_slice_mut()?.device_ptr_mut(stream);
    let stage = at(col, rows * g.chunk * p, dtype);
    let d = ConvDims::of(g);
    for (n0, nc) in chunks(g) {
        let cols = nc * p;
        for grp in 0..g.groups {
            // SAFETY: as in the forward; col2im writes dx of images n0..n0+nc, group grp only.
            unsafe {
                movement(cuda, Kernel::ToStage, dtype, dyp, stage, &d, (n0, nc, grp), cg * cols)?;
                let gemm = Gemm::dense(rows, cols, cg, true, false);
                gemm_raw(cuda, &runner, dtype, &gemm, at(wp, grp * cg * rows, dtype), stage, col)?;
                movement(cuda, Kernel::Col2im, dtype, col, dxp, &d, (n0, nc, grp), nc * cpg * g.h * g.w)?;
            }
        }
    }
    Ok(())
}

pub fn conv2d_bwd_weight(g: &ConvGeom, x: &Tensor, dy: &Tensor, dw: &Tensor, ws: &Tensor) -> Result<()> {
    let dtype = check(g, &Roles { input: x, output: dy, weight: dw, ws, written: dw })?;
    if dw.numel() == 0 || g.n == 0 {
        return Ok(());
    }
    let cuda = cuda_of(dw)?;
    let runner = gemm_runner(cuda, dw.device().pool())?;
    let stream = cuda.stream();
    let (xg, dyg, mut dwg) = (x.storage(), dy.storage(), dw.storage_mut());
    let (xp, _xs) = xg.cuda_slice()?.device_ptr(stream);
    let (dyp, _dys) = dyg.cuda_slice()?.device_ptr(stream);
    let (dwp, _dws) = dwg.cuda_slice_mut()?.device_ptr_mut(stream);
    let (p, cpg, cg, rows) = (g.out_pixels(), g.c_in / g.groups, g.c_out / g.groups, g.col_rows());
    // bf16 products accumulate into the f32 dW chunk after chunk (beta = 1): never a bf16 sum.
    let dw_dtype = dw.dtype();
    let out = |gemm: Gemm| if dw_dtype != dtype { gemm.f32_out() } else { gemm };
    if g.is_pointwise() {
        for j in 0..g.n {
            for grp in 0..g.groups {
                let gemm = out(Gemm::dense(cg, cpg, p, false, true).beta(if j > 0 { 1.0 } else { 0.0 }));
                let (dy_j, x_j) = (j * g.c_out * p + grp * cg * p, j * g.c_in * p + grp * cpg * p);
                // SAFETY: dW_g (+)= dy_j[grp]·x_j[grp]ᵀ: dy_j's cg×p, x_j's cpg×p (read transposed)
                // and dW_g's cg×cpg at grp·cg·cpg lie inside the checked tensors; dw overlaps neither.
                unsafe {
                    gemm_raw(
                        cuda,
                        &runner,
                        dtype,
                        &gemm,
                        at(dyp, dy_j, dtype),
                        at(xp, x_j, dtype),
                        at(dwp, grp * cg * cpg, dw_dtype),
                    )?;
                }
            }
        }
        return Ok(());
    }
    let mut wsg = ws.storage_mut();
    let (col, _wss) = wsg.cuda_slice_mut()?.device_ptr_mut(stream);
    let stage = at(col, rows * g.chunk * p, dtype);
    let d = ConvDims::of(g);
    for (n0, nc) in chunks(g) {
        let cols = nc * p;
        for grp in 0..g.groups {
            // SAFETY: as in the forward; dW_g is cg×rows at grp·cg·rows inside dw.
            unsafe {
                movement(cuda, Kernel::Im2col, dtype, xp, col, &d, (n0, nc, grp), rows * cols)?;
                movement(cuda, Kernel::ToStage, dtype, dyp, stage, &d, (n0, nc, grp), cg * cols)?;
                let gemm = out(Gemm::dense(cg, rows, cols, false, true).beta(if n0 > 0 { 1.0 } else { 0.0 }));
                gemm_raw(cuda, &runner, dtype, &gemm, stage, col, at(dwp, grp * cg * rows, dw_dtype))?;
            }
        }
    }
    Ok(())
}
