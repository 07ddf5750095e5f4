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

use super::matmul::{gemm_strided, gemm_strided_on, Mat, Threads};
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

/// Runs `f(i, row)` for the consecutive rows of `row_len` elements of `data`, in parallel or on
/// the calling thread (inside a parallel loop over blocks of images). Each row is written by one
/// call, so the result is the same either way.
fn for_rows<T: Send>(data: &mut [T], row_len: usize, parallel: bool, f: impl Fn(usize, &mut [T]) + Sync) {
    let row_len = row_len.max(1);
    if parallel {
        data.par_chunks_mut(row_len).enumerate().for_each(|(i, row)| f(i, row));
    } else {
        data.chunks_mut(row_len).enumerate().for_each(|(i, row)| f(i, row));
    }
}

/// Fills col[r, j·P + p] for images n0..n0+nc and the channels of group `grp`.
#[allow(clippy::too_many_arguments)]
fn im2col<T: Float>(g: &ConvGeom, x: &[T], col: &mut [T], n0: usize, nc: usize, grp: usize, parallel: bool) {
    let cols = nc * g.out_pixels();
    for_rows(&mut col[..g.col_rows() * cols], cols, parallel, |r, row| im2col_row(g, x, row, r, n0, nc, grp));
}

/// Row r (one channel and kernel tap) of the im2col matrix of images n0..n0+nc.
fn im2col_row<T: Float>(g: &ConvGeom, x: &[T], row: &mut [T], r: usize, n0: usize, nc: usize, grp: usize) {
    let p_img = g.out_pixels();
    let cpg = g.c_in / g.groups;
    let s = g.stride.1;
    let kx = r % g.kw;
    let ky = (r / g.kw) % g.kh;
    let ci = grp * cpg + r / (g.kw * g.kh);
    let (lo, hi) = valid_cols(g, kx);
    // Stride 1 with output rows as wide as input rows: the valid part of the whole plane is one
    // shifted contiguous copy, after which the few columns that wrapped around are zeroed — one
    // memcpy per plane instead of one per output row (at 2–16 pixels a row, most of the cost).
    let whole_plane = g.stride == (1, 1) && g.wo == g.w && lo < hi;
    for j in 0..nc {
        let plane = &x[((n0 + j) * g.c_in + ci) * g.h * g.w..][..g.h * g.w];
        let out = &mut row[j * p_img..(j + 1) * p_img];
        if whole_plane {
            // Output rows oy with input row iy = oy + ky − pad inside [0, h).
            let oy0 = g.pad.0.saturating_sub(ky).min(g.ho);
            let oy1 = (g.h + g.pad.0).saturating_sub(ky).min(g.ho).max(oy0);
            out[..oy0 * g.wo].fill(T::zero());
            out[oy1 * g.wo..].fill(T::zero());
            if oy0 < oy1 {
                // out[oy·wo + ox] = plane[(oy + ky − pad)·w + ox + kx − pad] for ox in lo..hi; as
                // wo == w the source advances exactly like the destination.
                let (d0, d1) = (oy0 * g.wo + lo, (oy1 - 1) * g.wo + hi);
                let s0 = (oy0 + ky - g.pad.0) * g.w + lo + kx - g.pad.1;
                out[d0..d1].copy_from_slice(&plane[s0..s0 + (d1 - d0)]);
                for oy in oy0..oy1 {
                    out[oy * g.wo..oy * g.wo + lo].fill(T::zero());
                    out[oy * g.wo + hi..(oy + 1) * g.wo].fill(T::zero());
                }
            }
            continue;
        }
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
            let n = hi - lo;
            if s == 1 {
                dst[lo..hi].copy_from_slice(&src[first..first + n]);
            } else {
                // Every s-th element: fixed-size chunks (the last one may be short) compile to a
                // plain strided loop, where `step_by` did not (it was most of im2col's time).
                let from = &src[first..(first + (n - 1) * s + 1)];
                for (d, c) in dst[lo..hi].iter_mut().zip(from.chunks(s)) {
                    *d = c[0];
                }
            }
        }
    }
}

/// dx[n0+j, grp channels] = Σ over the kernel taps of col (the adjoint of `im2col`) for the
/// images of one block; `dx` holds exactly those images. One call per (image, channel) plane, so
/// no two write the same element.
fn col2im<T: Float>(g: &ConvGeom, col: &[T], dx: &mut [T], nc: usize, grp: usize, parallel: bool) {
    for_rows(dx, g.h * g.w, parallel, |idx, plane| col2im_plane(g, col, plane, idx, nc, grp));
}

/// Plane `idx` (image idx / c_in of the block, channel idx % c_in) of col2im.
fn col2im_plane<T: Float>(g: &ConvGeom, col: &[T], plane: &mut [T], idx: usize, nc: usize, grp: usize) {
    let p_img = g.out_pixels();
    let cols = nc * p_img;
    let cpg = g.c_in / g.groups;
    let s = g.stride.1;
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
}

/// stage[co, j·P + p] = nchw[n0 + j, grp·cg + co, p] (the channels of group `grp`).
#[allow(clippy::too_many_arguments)]
fn to_stage<T: Float>(g: &ConvGeom, nchw: &[T], stage: &mut [T], n0: usize, nc: usize, grp: usize, parallel: bool) {
    let p_img = g.out_pixels();
    let cg = g.c_out / g.groups;
    let cols = nc * p_img;
    for_rows(&mut stage[..cg * cols], cols, parallel, |co, row| {
        for j in 0..nc {
            let src = &nchw[((n0 + j) * g.c_out + grp * cg + co) * p_img..][..p_img];
            row[j * p_img..(j + 1) * p_img].copy_from_slice(src);
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

/// Images per block of the blocked paths for a unit of `nc` images: as many as keep one block's
/// im2col matrix within `BLOCK_COL_ELEMS` (so it is still in the core's cache when the product
/// reads it), but few enough that the unit has `MIN_BLOCKS` blocks when it has that many images
/// (a unit of 8 frames in one block would run on one core) unless that makes blocks narrower
/// than `MIN_BLOCK_COLS`; at least one. Fixed by the shapes alone, so results never depend on
/// the thread count.
fn block_images(g: &ConvGeom, nc: usize) -> usize {
    let fits = (BLOCK_COL_ELEMS / (g.col_rows() * g.out_pixels()).max(1)).max(1);
    let wide_enough = MIN_BLOCK_COLS.div_ceil(g.out_pixels().max(1));
    nc.div_ceil(MIN_BLOCKS).max(wide_enough).min(fits).max(1)
}

/// Blocks a unit is cut into at least (when it has the images), for the cores of a workstation.
const MIN_BLOCKS: usize = 8;
/// Columns a block's product has at least (when the cache allows): narrower products (the deep
/// layers at 2² or 4² pixels) waste most of a GEMM tile; one block then runs its product on every
/// core instead.
const MIN_BLOCK_COLS: usize = 32;

/// 256 Ki elements (1 MiB of f32): a quarter to a half of one core's L2 on the machines we use.
const BLOCK_COL_ELEMS: usize = 1 << 18;

/// One block of a unit's images: images j0..j0+nc of the unit, with its own contiguous
/// [rows × nc·P] im2col matrix and [cg × nc·P] stage inside the unit's workspace.
struct ImageBlock<'a, T> {
    j0: usize,
    nc: usize,
    col: &'a mut [T],
    stage: &'a mut [T],
}

/// Splits a unit's workspace into its image blocks (in image order).
fn image_blocks<'a, T>(g: &ConvGeom, u: Unit, mut col: &'a mut [T], mut stage: &'a mut [T]) -> Vec<ImageBlock<'a, T>> {
    let (rows, cg, p) = (g.col_rows(), g.c_out / g.groups, g.out_pixels());
    let sb = block_images(g, u.nc);
    let mut out = Vec::with_capacity(u.nc.div_ceil(sb));
    for j0 in (0..u.nc).step_by(sb) {
        let nc = sb.min(u.nc - j0);
        let (c, c_rest) = std::mem::take(&mut col).split_at_mut(rows * nc * p);
        let (st, st_rest) = std::mem::take(&mut stage).split_at_mut(cg * nc * p);
        out.push(ImageBlock { j0, nc, col: c, stage: st });
        col = c_rest;
        stage = st_rest;
    }
    out
}

/// Pairs every image block with its images' part of an NCHW tensor (`per_image` elements each).
fn with_images<'a, 'b, T, U>(
    blocks: Vec<ImageBlock<'a, T>>,
    mut images: &'b mut [U],
    per_image: usize,
) -> Vec<(ImageBlock<'a, T>, &'b mut [U])> {
    blocks
        .into_iter()
        .map(|b| {
            let (mine, rest) = std::mem::take(&mut images).split_at_mut(b.nc * per_image);
            images = rest;
            (b, mine)
        })
        .collect()
}

// The CPU paths work a unit (chunk of images, group) in blocks of `block_images` images, one
// block per task: im2col, product and copy-out of a block run on one core while its im2col matrix
// is still in that core's cache, instead of streaming the whole chunk's matrix (up to 64 MiB)
// through memory between steps. At the synthetic encoder's widths (3 → 64 channels) this is the
// difference between a memory-bound and a compute-bound convolution (docs/perf-cpu.md).

/// How a unit's blocks run: one task per block, each on its own core; a unit of one block runs
/// its copies and product on every core instead. (single block, the product's threads)
fn block_threads(blocks: usize) -> (bool, Threads) {
    if blocks == 1 {
        (true, Threads::Auto)
    } else {
        (false, Threads::Caller)
    }
}

pub fn conv2d_fwd<T: Float>(g: &ConvGeom, x: &Tensor, w: &Tensor, y: &Tensor, ws: &Tensor) -> Result<()> {
    let xv = x.cpu::<T>()?;
    let wv = w.cpu::<T>()?;
    let mut yv = y.cpu_mut::<T>()?;
    if g.is_pointwise() {
        pointwise::forward(g, &xv, &wv, &mut yv);
        return Ok(());
    }
    let (rows, cg, p) = (g.col_rows(), g.c_out / g.groups, g.out_pixels());
    let per_image = g.c_out * p;
    for_each_unit::<T>(g, ws, |u, col, stage| {
        let y_unit = &mut yv[u.n0 * per_image..(u.n0 + u.nc) * per_image];
        let blocks = with_images(image_blocks(g, u, col, stage), y_unit, per_image);
        let (single, threads) = block_threads(blocks.len());
        blocks.into_par_iter().for_each(|(b, y_blk)| {
            im2col(g, &xv, b.col, u.n0 + b.j0, b.nc, u.grp, single);
            let cols = b.nc * p;
            // stage[cg×cols] = W_g[cg×rows] · col[rows×cols]
            // SAFETY: w rows grp·cg.. hold cg×rows weights; the block's col holds rows×cols and its
            // stage cg×cols — disjoint slices of the checked workspace.
            unsafe {
                gemm_strided_on(
                    threads,
                    cg,
                    cols,
                    rows,
                    Mat { ptr: b.stage.as_mut_ptr(), rs: cols as isize, cs: 1 },
                    Mat { ptr: wv.as_ptr().add(u.grp * cg * rows), rs: rows as isize, cs: 1 },
                    Mat { ptr: b.col.as_ptr(), rs: cols as isize, cs: 1 },
                    false,
                );
            }
            // y[j, grp·cg + co, :] = stage[co, j·P..]
            for j in 0..b.nc {
                for co in 0..cg {
                    let dst = &mut y_blk[j * per_image + (u.grp * cg + co) * p..][..p];
                    dst.copy_from_slice(&b.stage[co * cols + j * p..][..p]);
                }
            }
        });
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
    let (rows, cg, p) = (g.col_rows(), g.c_out / g.groups, g.out_pixels());
    let per_image = g.c_in * g.h * g.w;
    for_each_unit::<T>(g, ws, |u, col, stage| {
        let dx_unit = &mut dxv[u.n0 * per_image..(u.n0 + u.nc) * per_image];
        let blocks = with_images(image_blocks(g, u, col, stage), dx_unit, per_image);
        let (single, threads) = block_threads(blocks.len());
        blocks.into_par_iter().for_each(|(b, dx_blk)| {
            let cols = b.nc * p;
            to_stage(g, &dyv, b.stage, u.n0 + b.j0, b.nc, u.grp, single);
            // dcol[rows×cols] = W_gᵀ[rows×cg] · stage[cg×cols]
            // SAFETY: as in the forward; W_gᵀ is read through swapped strides.
            unsafe {
                gemm_strided_on(
                    threads,
                    rows,
                    cols,
                    cg,
                    Mat { ptr: b.col.as_mut_ptr(), rs: cols as isize, cs: 1 },
                    Mat { ptr: wv.as_ptr().add(u.grp * cg * rows), rs: 1, cs: rows as isize },
                    Mat { ptr: b.stage.as_ptr(), rs: cols as isize, cs: 1 },
                    false,
                );
            }
            col2im(g, b.col, dx_blk, b.nc, u.grp, single);
        });
    })
}

/// Weight gradients at most this large (cg × rows) are summed in `WEIGHT_PARTS` partial products
/// over the blocks, in parallel: a product with a few dozen rows and columns has too few tiles
/// for the GEMM to split between cores, and the column count (images × pixels) is what is large.
const SMALL_WEIGHT_ELEMS: usize = 1 << 16;
const WEIGHT_PARTS: usize = 8;

pub fn conv2d_bwd_weight<T: Float>(g: &ConvGeom, x: &Tensor, dy: &Tensor, dw: &Tensor, ws: &Tensor) -> Result<()> {
    let xv = x.cpu::<T>()?;
    let dyv = dy.cpu::<T>()?;
    let mut dwv = dw.cpu_mut::<T>()?;
    if g.is_pointwise() {
        pointwise::backward_weight(g, &xv, &dyv, &mut dwv);
        return Ok(());
    }
    let (rows, cg, p) = (g.col_rows(), g.c_out / g.groups, g.out_pixels());
    let small = cg * rows <= SMALL_WEIGHT_ELEMS;
    for_each_unit::<T>(g, ws, |u, col, stage| {
        let dw_g = &mut dwv[u.grp * cg * rows..(u.grp + 1) * cg * rows];
        // One block: no partial products to run in parallel; the product itself is parallel.
        if !small || u.nc.div_ceil(block_images(g, u.nc)) < 2 {
            im2col(g, &xv, col, u.n0, u.nc, u.grp, true);
            to_stage(g, &dyv, stage, u.n0, u.nc, u.grp, true);
            // dW_g[cg×rows] (+)= stage[cg×cols] · colᵀ[cols×rows]; chunks accumulate in order
            // SAFETY: dw_g holds cg×rows elements; colᵀ is read through swapped strides.
            unsafe {
                gemm_strided(
                    cg,
                    rows,
                    u.cols,
                    Mat { ptr: dw_g.as_mut_ptr(), rs: rows as isize, cs: 1 },
                    Mat { ptr: stage.as_ptr(), rs: u.cols as isize, cs: 1 },
                    Mat { ptr: col.as_ptr(), rs: 1, cs: u.cols as isize },
                    u.n0 > 0,
                );
            }
            return;
        }
        // Partial products over fixed ranges of blocks (fixed by the shapes, never by the thread
        // count), added in part order: deterministic.
        let mut blocks = image_blocks(g, u, col, stage);
        let n_blocks = blocks.len();
        let parts = WEIGHT_PARTS.min(n_blocks);
        let mut groups: Vec<Vec<ImageBlock<T>>> = Vec::with_capacity(parts);
        for i in (0..parts).rev() {
            groups.push(blocks.split_off(i * n_blocks / parts));
        }
        groups.reverse();
        let partials: Vec<Vec<T>> = groups
            .into_par_iter()
            .map(|group| {
                let mut acc = vec![T::zero(); cg * rows];
                for (i, b) in group.into_iter().enumerate() {
                    let cols = b.nc * p;
                    im2col(g, &xv, b.col, u.n0 + b.j0, b.nc, u.grp, false);
                    to_stage(g, &dyv, b.stage, u.n0 + b.j0, b.nc, u.grp, false);
                    // SAFETY: acc holds cg×rows; the block's stage cg×cols and col rows×cols.
                    unsafe {
                        gemm_strided_on(
                            Threads::Caller,
                            cg,
                            rows,
                            cols,
                            Mat { ptr: acc.as_mut_ptr(), rs: rows as isize, cs: 1 },
                            Mat { ptr: b.stage.as_ptr(), rs: cols as isize, cs: 1 },
                            Mat { ptr: b.col.as_ptr(), rs: 1, cs: cols as isize },
                            i > 0,
                        );
                    }
                }
                acc
            })
            .collect();
        for (i, part) in partials.iter().enumerate() {
            if i == 0 && u.n0 == 0 {
                dw_g.copy_from_slice(part);
            } else {
                dw_g.iter_mut().zip(part).for_each(|(d, v)| *d += *v);
            }
        }
    })
}
