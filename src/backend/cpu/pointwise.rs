//! CPU 1×1, stride-1, unpadded convolution: an image [c_in, P] is its own im2col matrix, so each
//! (image, group) is one GEMM straight between the tensors — no workspace, no copies. This is most
//! of G-TAD's 2-D head (its localization convs run on the 9216 × L × L map) and the 1×1 convs of
//! bottleneck blocks.
//!
//! Forward and data gradient are independent per image (parallel over images); the weight gradient
//! sums over images one after another in batch order, so results do not depend on thread count.

use rayon::prelude::*;

use super::matmul::{gemm_strided, Mat};
use crate::backend::ConvGeom;
use crate::tensor::Float;

/// The contiguous channels of group `grp` of one image: [channels_per_group, P].
fn group<T>(img: &[T], grp: usize, per_group: usize, p: usize) -> &[T] {
    &img[grp * per_group * p..(grp + 1) * per_group * p]
}

/// y_j[grp] = W_g · x_j[grp]
pub fn forward<T: Float>(g: &ConvGeom, x: &[T], w: &[T], y: &mut [T]) {
    let (p, cpg, cg) = (g.out_pixels(), g.c_in / g.groups, g.c_out / g.groups);
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
