//! CPU 1×1, stride-1, unpadded convolution: an image [c_in, P] is its own im2col matrix, so each
//! (image, group) is one GEMM straight between the tensors — no workspace, no copies. This is most
//! of G-TAD's 2-D head (its localization convs run on the 9216 × L × L map) and the 1×1 convs of
//! bottleneck blocks.
//!
//! Forward and data gradient are independent per image (parallel over images); the weight gradient
//! sums over images one after another in batch order, so results do not depend on thread count.
//!
//! When an image has far fewer pixels than the batch has images (the deep layers of a ResNet at low
//! fidelity: 1², 2², 4² pixels), a product per image would read the whole weight matrix for a
//! handful of columns, dozens of times. Those convs run pixel-major instead: for each pixel p,
//! the images' channel vectors at p form a strided [c, n] matrix (row stride P, column stride
//! c·P), so one product per pixel covers every image — still no workspace and no copies. The
//! weight gradient then sums over pixels in order (deterministic as well).

use rayon::prelude::*;

use super::matmul::{gemm_strided, gemm_strided_on, Mat, Threads};
use crate::backend::ConvGeom;
use crate::tensor::Float;

/// The contiguous channels of group `grp` of one image: [channels_per_group, P].
fn group<T>(img: &[T], grp: usize, per_group: usize, p: usize) -> &[T] {
    &img[grp * per_group * p..(grp + 1) * per_group * p]
}

/// Whether `g` runs pixel-major: at most a quarter as many pixels per image as images. Measured
/// on the 2-core VM (ResNet-50's 1×1 convs, 24 images): at 1² and 2² pixels pixel-major runs
/// 2–5× faster, at 4² a product per image does (its weight, packed once per product, serves 16
/// columns instead of 24 at 16 times the packing).
fn pixel_major(g: &ConvGeom) -> bool {
    4 * g.out_pixels() <= g.n
}

/// A pointer handed to the tasks of a parallel loop that write disjoint elements through it.
#[derive(Clone, Copy)]
struct Shared<P>(P);
// SAFETY: every task writes only the elements of its own pixel (see the callers).
unsafe impl<P> Send for Shared<P> {}
unsafe impl<P> Sync for Shared<P> {}

/// One product per (group, pixel) over every image, computed transposed:
/// dst_pᵀ[n × rows] = src_pᵀ[n × inner] · weight[inner × rows], where src has `src_c` channels
/// and dst `dst_c` per image (NCHW, P pixels), group `grp` takes channels grp·inner.. of src and
/// grp·rows.. of dst, and group `grp`'s [inner × rows] weight operand starts at w[grp·rows·inner]
/// with strides (`w_rs`, `w_cs`). Transposed, the images
/// are the product's rows and the weight its right-hand side, which the GEMM packs well in both
/// orientations (as the left-hand side, a row-major weight packs slowly, P times over).
/// Pixels run in parallel: their dst elements are disjoint.
#[allow(clippy::too_many_arguments)]
fn per_pixel<T: Float>(
    g: &ConvGeom,
    rows: usize,
    inner: usize,
    src: &[T],
    src_c: usize,
    dst: &mut [T],
    dst_c: usize,
    w: &[T],
    (w_rs, w_cs): (usize, usize),
) {
    let p = g.out_pixels();
    debug_assert!(src.len() >= g.n * src_c * p && dst.len() >= g.n * dst_c * p);
    debug_assert!(w.len() >= g.groups * rows * inner);
    let (sp, dp, wp) = (Shared(src.as_ptr()), Shared(dst.as_mut_ptr()), Shared(w.as_ptr()));
    let threads = if p == 1 { Threads::Auto } else { Threads::Caller };
    (0..g.groups * p).into_par_iter().for_each(|task| {
        let (grp, px) = (task / p, task % p);
        let (sp, dp, wp) = (sp, dp, wp);
        // SAFETY: element (j, r) of dst_pᵀ is dst[j·dst_c·P + (grp·rows + r)·P + px], inside dst
        // for r < rows, j < n, and written by this (group, pixel) task alone; src_pᵀ likewise
        // inside src; the group's rows·inner weights lie inside w.
        unsafe {
            gemm_strided_on(
                threads,
                g.n,
                rows,
                inner,
                Mat { ptr: dp.0.add(grp * rows * p + px), rs: (dst_c * p) as isize, cs: p as isize },
                Mat { ptr: sp.0.add(grp * inner * p + px), rs: (src_c * p) as isize, cs: p as isize },
                Mat { ptr: wp.0.add(grp * rows * inner), rs: w_rs as isize, cs: w_cs as isize },
                false,
            );
        }
    });
}

/// y_j[grp] = W_g · x_j[grp]
pub fn forward<T: Float>(g: &ConvGeom, x: &[T], w: &[T], y: &mut [T]) {
    let (p, cpg, cg) = (g.out_pixels(), g.c_in / g.groups, g.c_out / g.groups);
    if pixel_major(g) {
        // the weight operand W_gᵀ [cpg × cg]: W_g read through swapped strides
        per_pixel(g, cg, cpg, x, g.c_in, y, g.c_out, w, (1, cpg));
        return;
    }
    y.par_chunks_mut(g.c_out * p).zip(x.par_chunks(g.c_in * p)).for_each(|(yj, xj)| {
        for grp in 0..g.groups {
            let xg = group(xj, grp, cpg, p);
            let yg = &mut yj[grp * cg * p..(grp + 1) * cg * p];
            // SAFETY: yg is cg×p, w's group rows cg×cpg, xg cpg×p, all in bounds; yg is disjoint.
            unsafe {
                gemm_strided(
                    cg,
                    p,
                    cpg,
                    Mat { ptr: yg.as_mut_ptr(), rs: p as isize, cs: 1 },
                    Mat { ptr: w.as_ptr().add(grp * cg * cpg), rs: cpg as isize, cs: 1 },
                    Mat { ptr: xg.as_ptr(), rs: p as isize, cs: 1 },
                    false,
                );
            }
        }
    });
}

/// dx_j[grp] = W_gᵀ · dy_j[grp]
pub fn backward_data<T: Float>(g: &ConvGeom, dy: &[T], w: &[T], dx: &mut [T]) {
    let (p, cpg, cg) = (g.out_pixels(), g.c_in / g.groups, g.c_out / g.groups);
    if pixel_major(g) {
        // the weight operand W_g [cg × cpg] as stored
        per_pixel(g, cpg, cg, dy, g.c_out, dx, g.c_in, w, (cpg, 1));
        return;
    }
    dx.par_chunks_mut(g.c_in * p).zip(dy.par_chunks(g.c_out * p)).for_each(|(dxj, dyj)| {
        for grp in 0..g.groups {
            let dyg = group(dyj, grp, cg, p);
            let dxg = &mut dxj[grp * cpg * p..(grp + 1) * cpg * p];
            // SAFETY: as in `forward`; W_gᵀ is read through swapped strides.
            unsafe {
                gemm_strided(
                    cpg,
                    p,
                    cg,
                    Mat { ptr: dxg.as_mut_ptr(), rs: p as isize, cs: 1 },
                    Mat { ptr: w.as_ptr().add(grp * cg * cpg), rs: 1, cs: cpg as isize },
                    Mat { ptr: dyg.as_ptr(), rs: p as isize, cs: 1 },
                    false,
                );
            }
        }
    });
}

/// dW_g = Σ_j dy_j[grp] · x_j[grp]ᵀ, images in batch order.
pub fn backward_weight<T: Float>(g: &ConvGeom, x: &[T], dy: &[T], dw: &mut [T]) {
    let (p, cpg, cg) = (g.out_pixels(), g.c_in / g.groups, g.c_out / g.groups);
    if pixel_major(g) {
        // dW_g = Σ_p dy_p[grp] · x_p[grp]ᵀ over the images, pixels in order.
        for px in 0..p {
            for grp in 0..g.groups {
                // SAFETY: dy_p[grp] is cg×n with element (r, j) at j·c_out·P + (grp·cg + r)·P + px,
                // x_p[grp]ᵀ is n×cpg read through swapped strides; dw's group rows hold cg×cpg.
                unsafe {
                    gemm_strided(
                        cg,
                        cpg,
                        g.n,
                        Mat { ptr: dw.as_mut_ptr().add(grp * cg * cpg), rs: cpg as isize, cs: 1 },
                        Mat { ptr: dy.as_ptr().add(grp * cg * p + px), rs: p as isize, cs: (g.c_out * p) as isize },
                        Mat { ptr: x.as_ptr().add(grp * cpg * p + px), rs: (g.c_in * p) as isize, cs: p as isize },
                        px > 0,
                    );
                }
            }
        }
        return;
    }
    for j in 0..g.n {
        let xj = &x[j * g.c_in * p..(j + 1) * g.c_in * p];
        let dyj = &dy[j * g.c_out * p..(j + 1) * g.c_out * p];
        for grp in 0..g.groups {
            let (xg, dyg) = (group(xj, grp, cpg, p), group(dyj, grp, cg, p));
            // SAFETY: dw's group rows hold cg×cpg; xgᵀ is read through swapped strides.
            unsafe {
                gemm_strided(
                    cg,
                    cpg,
                    p,
                    Mat { ptr: dw.as_mut_ptr().add(grp * cg * cpg), rs: cpg as isize, cs: 1 },
                    Mat { ptr: dyg.as_ptr(), rs: p as isize, cs: 1 },
                    Mat { ptr: xg.as_ptr(), rs: 1, cs: p as isize },
                    j > 0,
                );
            }
        }
    }
}
