//! CPU convolution: im2col / col2im around one `gemm` per (image chunk, group).
//!
//! Workspace (allocated and accounted by the ops layer, `ConvGeom::workspace_elems`):
//! `col` = [col_rows, chunk·P] (P = output pixels; images side by side along columns) followed by
//! `stage` = [c_out/groups, chunk·P], the output (or output gradient) of the chunk in the same
//! column order. With images side by side one gemm covers the whole chunk, and the weight gradient
//! is a plain product over chunk·P columns, accumulated chunk after chunk in a fixed order — so
//! results never depend on the number of threads. 1×1 stride-1 unpadded convs skip im2col
//! altogether (`pointwise.rs`).

use rayon::prelude::*;

use super::matmul::{gemm_strided, Mat};
use super::pointwise;
use crate::backend::ConvGeom;
use crate::tensor::{Float, Tensor};
use crate::{Error, Result};

fn check_ws<T>(g: &ConvGeom, ws: &[T]) -> Result<()> {
    if ws.len() < g.workspace_elems() {
        return Err(Error::shape(
            "conv2d",
            format!("workspace of {} elements, need {}", ws.len(), g.workspace_elems()),
        ));
    }
    Ok(())
}

/// The output columns `ox` whose input column ox·stride + kx − pad lies inside [0, w): a range,
/// so the loops below copy it and zero only the padding.
fn valid_cols(g: &ConvGeom, kx: usize) -> (usize, usize) {
    let (s, pad) = (g.stride.1, g.pad.1);
    let lo = pad.saturating_sub(kx).div_ceil(s).min(g.wo);
    // ox·s + kx − pad ≤ w − 1  ⇔  ox ≤ (w − 1 + pad − kx) / s
    let hi = if g.w + pad > kx { ((g.w - 1 + pad - kx) / s + 1).min(g.wo) } else { 0 };
    (lo, hi.max(lo))
}

/// Fills col[r, j·P + p] for images n0..n0+nc and the channels of group `grp`.
fn im2col<T: Float>(g: &ConvGeom, x: &[T], col: &mut [T], n0: usize, nc: usize, grp: usize) {
    let p_img = g.out_pixels();
    let cols = nc * p_img;
    let cpg = g.c_in / g.groups;
    let s = g.stride.1;
    col[..g.col_rows() * cols].par_chunks_mut(cols).enumerate().for_each(|(r, row)| {
        let kx = r % g.kw;
        let ky = (r / g.kw) % g.kh;
        let ci = grp * cpg + r / (g.kw * g.kh);
        let (lo, hi) = valid_cols(g, kx);
        for j in 0..nc {
            let plane = &x[((n0 + j) * g.c_in + ci) * g.h * g.w..][..g.h * g.w];
            let out = &mut row[j * p_img..(j + 1) * p_img];
            for oy in 0..g.ho {
                let iy = (oy * g.stride.0 + ky) as isize - g.pad.0 as isize;
                let dst = &mut out[oy * g.wo..(oy + 1) * g.wo];
                if iy < 0 || iy >= g.h as isize {
                    dst.fill(T::zero());
                    continue;
                }
                let src = &plane[iy as usize * g.w..][..g.w];
                dst[..lo].fill(T::zero());
                dst[hi..].fill(T::zero());
                if lo == hi {
                    continue;
                }
                let first = lo * s + kx - g.pad.1;
                if s == 1 {
                    dst[lo..hi].copy_from_slice(&src[first..first + (hi - lo)]);
                } else {
                    for (d, v) in dst[lo..hi].iter_mut().zip(src[first..].iter().step_by(s)) {
                        *d = *v;
                    }
                }
            }
        }
    });
}

/// dx[n0+j, grp channels] = Σ over the kernel taps of col (the adjoint of `im2col`). One task per
/// (image, channel) plane, so no two tasks write the same element.
fn col2im<T: Float>(g: &ConvGeom, col: &[T], dx: &mut [T], n0: usize, nc: usize, grp: usize) {
    let p_img = g.out_pixels();
    let cols = nc * p_img;
    let cpg = g.c_in / g.groups;
    let plane_len = g.h * g.w;
    let first = n0 * g.c_in * plane_len;
    let s = g.stride.1;
    dx[first..first + nc * g.c_in * plane_len].par_chunks_mut(plane_len).enumerate().for_each(|(idx, plane)| {
        let (j, ci) = (idx / g.c_in, idx % g.c_in);
        if ci / cpg != grp {
            return;
        }
        plane.fill(T::zero());
        let ci_l = ci % cpg;
        for ky in 0..g.kh {
            for kx in 0..g.kw {
                let r = (ci_l * g.kh + ky) * g.kw + kx;
                let src = &col[r * cols + j * p_img..][..p_img];
                let (lo, hi) = valid_cols(g, kx);
                if lo == hi {
                    continue;
                }
                let x0 = lo * s + kx - g.pad.1;
                for oy in 0..g.ho {
                    let iy = (oy * g.stride.0 + ky) as isize - g.pad.0 as isize;
                    if iy < 0 || iy >= g.h as isize {
                        continue;
                    }
                    let dst = &mut plane[iy as usize * g.w..][..g.w];
                    let from = &src[oy * g.wo + lo..oy * g.wo + hi];
                    for (d, v) in dst[x0..].iter_mut().step_by(s).zip(from) {
                        *d += *v;
                    }
                }
            }
        }
    });
}

/// stage[co, j·P + p] = nchw[n0 + j, grp·cg + co, p] (the chunk's channels of group `grp`).
fn to_stage<T: Float>(g: &ConvGeom, nchw: &[T], stage: &mut [T], n0: usize, nc: usize, grp: usize) {
    let p_img = g.out_pixels();
    let cg = g.c_out / g.groups;
    let cols = nc * p_img;
    stage[..cg * cols].par_chunks_mut(cols).enumerate().for_each(|(co, row)| {
        for j in 0..nc {
            let src = &nchw[((n0 + j) * g.c_out + grp * cg + co) * p_img..][..p_img];
            row[j * p_img..(j + 1) * p_img].copy_from_slice(src);
        }
    });
}

/// The inverse of `to_stage`: writes the chunk's group channels of `nchw` from stage.
fn from_stage<T: Float>(g: &ConvGeom, stage: &[T], nchw: &mut [T], n0: usize, nc: usize, grp: usize) {
    let p_img = g.out_pixels();
    let cg = g.c_out / g.groups;
    let cols = nc * p_img;
    let first = n0 * g.c_out * p_img;
    nchw[first..first + nc * g.c_out * p_img].par_chunks_mut(p_img).enumerate().for_each(|(idx, dst)| {
        let (j, co) = (idx / g.c_out, idx % g.c_out);
        if co / cg == grp {
            dst.copy_from_slice(&stage[(co % cg) * cols + j * p_img..][..p_img]);
        }
    });
}

/// One unit of work: images n0..n0+nc (cols = nc·P columns) of group `grp`.
#[derive(Clone, Copy)]
struct Unit {
    n0: usize,
    nc: usize,
    cols: usize,
    grp: usize,
}

/// Runs `f` for every (image chunk, group) in a fixed order with the two workspace halves
/// (`col`, `stage`).
fn for_each_unit<T: Float>(g: &ConvGeom, ws: &Tensor, mut f: impl FnMut(Unit, &mut [T], &mut [T])) -> Result<()> {
    let mut wsv = ws.cpu_mut::<T>()?;
    check_ws(g, &wsv)?;
    let (col, stage) = wsv.split_at_mut(g.col_rows() * g.chunk * g.out_pixels());
    for n0 in (0..g.n).step_by(g.chunk) {
        let nc = g.chunk.min(g.n - n0);
        for grp in 0..g.groups {
            f(Unit { n0, nc, cols: nc * g.out_pixels(), grp }, col, stage);
        }
    }
    Ok(())
}

pub fn conv2d_fwd<T: Float>(g: &ConvGeom, x: &Tensor, w: &Tensor, y: &Tensor, ws: &Tensor) -> Result<()> {
    let xv = x.cpu::<T>()?;
    let wv = w.cpu::<T>()?;
    let mut yv = y.cpu_mut::<T>()?;
    if g.is_pointwise() {
        pointwise::forward(g, &xv, &wv, &mut yv);
        return Ok(());
    }
    let (rows, cg) = (g.col_rows(), g.c_out / g.groups);
    for_each_unit::<T>(g, ws, |u, col, stage| {
        im2col(g, &xv, col, u.n0, u.nc, u.grp);
        // stage[cg×cols] = W_g[cg×rows] · col[rows×cols]
        // SAFETY: w rows grp·cg.. hold cg×rows weights; col holds rows×cols; stage cg×cols — all
        // within their slices (workspace size checked), stage disjoint from both.
        unsafe {
            gemm_strided(
                cg,
                u.cols,
                rows,
                Mat { ptr: stage.as_mut_ptr(), rs: u.cols as isize, cs: 1 },
                Mat { ptr: wv.as_ptr().add(u.grp * cg * rows), rs: rows as isize, cs: 1 },
                Mat { ptr: col.as_ptr(), rs: u.cols as isize, cs: 1 },
                false,
            );
        }
        from_stage(g, stage, &mut yv, u.n0, u.nc, u.grp);
    })
}

pub fn conv2d_bwd_data<T: Float>(g: &ConvGeom, dy: &Tensor, w: &Tensor, dx: &Tensor, ws: &Tensor) -> Result<()> {
    let dyv = dy.cpu::<T>()?;
    let wv = w.cpu::<T>()?;
    let mut dxv = dx.cpu_mut::<T>()?;
    if g.is_pointwise() {
        pointwise::backward_data(g, &dyv, &wv, &mut dxv);
        return Ok(());
    }
    let (rows, cg) = (g.col_rows(), g.c_out / g.groups);
    for_each_unit::<T>(g, ws, |u, col, stage| {
        to_stage(g, &dyv, stage, u.n0, u.nc, u.grp);
        // dcol[rows×cols] = W_gᵀ[rows×cg] · stage[cg×cols]
        // SAFETY: as in the forward; W_gᵀ is read through swapped strides.
        unsafe {
            gemm_strided(
                rows,
                u.cols,
                cg,
                Mat { ptr: col.as_mut_ptr(), rs: u.cols as isize, cs: 1 },
                Mat { ptr: wv.as_ptr().add(u.grp * cg * rows), rs: 1, cs: rows as isize },
                Mat { ptr: stage.as_ptr(), rs: u.cols as isize, cs: 1 },
                false,
            );
        }
        col2im(g, col, &mut dxv, u.n0, u.nc, u.grp);
    })
}

pub fn conv2d_bwd_weight<T: Float>(g: &ConvGeom, x: &Tensor, dy: &Tensor, dw: &Tensor, ws: &Tensor) -> Result<()> {
    let xv = x.cpu::<T>()?;
    let dyv = dy.cpu::<T>()?;
    let mut dwv = dw.cpu_mut::<T>()?;
    if g.is_pointwise() {
        pointwise::backward_weight(g, &xv, &dyv, &mut dwv);
        return Ok(());
    }
    let (rows, cg) = (g.col_rows(), g.c_out / g.groups);
    for_each_unit::<T>(g, ws, |u, col, stage| {
        im2col(g, &xv, col, u.n0, u.nc, u.grp);
        to_stage(g, &dyv, stage, u.n0, u.nc, u.grp);
        // dW_g[cg×rows] (+)= stage[cg×cols] · colᵀ[cols×rows]; chunks accumulate in order
        // SAFETY: dw rows grp·cg.. hold cg×rows elements; colᵀ is read through swapped strides.
        unsafe {
            gemm_strided(
                cg,
                rows,
                u.cols,
                Mat { ptr: dwv.as_mut_ptr().add(u.grp * cg * rows), rs: rows as isize, cs: 1 },
                Mat { ptr: stage.as_ptr(), rs: u.cols as isize, cs: 1 },
                Mat { ptr: col.as_ptr(), rs: 1, cs: u.cols as isize },
                u.n0 > 0,
            );
        }
    })
}
