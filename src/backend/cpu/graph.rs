//! CPU twins of the G-TAD graph kernels (future `kernels/graph.cu`): the kNN score and top-k
//! selection, the neighbour gather of `get_graph_feature` (styles 1 and 2) and its adjoint, and the
//! max over the last axis with first-maximum routing.
//!
//! Every kernel is parallel over rows it owns exclusively and accumulates in a fixed order, so the
//! results do not depend on the thread count. Indices are checked here (an out-of-range neighbour
//! is an error, never a panic); shapes were checked by `ops::graph`.

use rayon::prelude::*;

use crate::tensor::{Float, Tensor};
use crate::{Error, Result};

/// `[B, C, L]` of `x`.
fn bcl(x: &Tensor) -> Result<[usize; 3]> {
    x.shape().dims_n::<3>("graph")
}

/// The neighbour indices as usize, each checked against `l`.
fn neighbours(idx: &Tensor, l: usize) -> Result<Vec<usize>> {
    idx.cpu::<i64>()?
        .iter()
        .map(|&i| {
            usize::try_from(i)
                .ok()
                .filter(|&u| u < l)
                .ok_or_else(|| Error::invalid("graph_gather", format!("neighbour index {i} out of range 0..{l}")))
        })
        .collect()
}

pub fn knn_score<T: Float>(x: &Tensor, gram: &Tensor, score: &Tensor) -> Result<()> {
    let [_, c, l] = bcl(x)?;
    let xv = x.cpu::<T>()?;
    let gv = gram.cpu::<T>()?;
    let mut sv = score.cpu_mut::<T>()?;
    let ll = (l * l).max(1);
    let two = T::of(2.0);
    sv.par_chunks_mut(ll).zip(gv.par_chunks(ll)).zip(xv.par_chunks((c * l).max(1))).for_each(|((s, g), xb)| {
        // |x_j|² in the tensor dtype, summed over channels in order (PyTorch's sum(x**2, dim=1)).
        let mut sq = vec![T::zero(); l];
        for ch in 0..c {
            for (j, q) in sq.iter_mut().enumerate() {
                let v = xb[ch * l + j];
                *q += v * v;
            }
        }
        for i in 0..l {
            for j in 0..l {
                // G-TAD: −xx_j − (−2·⟨x_i, x_j⟩) − xx_i, left to right.
                s[i * l + j] = (two * g[i * l + j] - sq[j]) - sq[i];
            }
        }
    });
    Ok(())
}

pub fn knn_topk<T: Float>(score: &Tensor, idx: &Tensor, k: usize) -> Result<()> {
    let [_, _, l] = score.shape().dims_n::<3>("knn")?;
    let sv = score.cpu::<T>()?;
    let mut iv = idx.cpu_mut::<i64>()?;
    iv.par_chunks_mut(k.max(1)).zip(sv.par_chunks(l.max(1))).for_each(|(out, row)| {
        let mut order: Vec<usize> = (0..l).collect();
        // Descending by score; the stable sort keeps equal scores in index order (lower index first).
        order.sort_by(|&a, &b| row[b].as_f64().total_cmp(&row[a].as_f64()));
        for (o, &j) in out.iter_mut().zip(&order) {
            *o = j as i64;
        }
    });
    Ok(())
}

pub fn graph_gather_fwd<T: Float>(x: &Tensor, idx: &Tensor, y: &Tensor, with_self: bool) -> Result<()> {
    let [_, c, l] = bcl(x)?;
    let k = idx.dims().last().copied().unwrap_or(0);
    let ids = neighbours(idx, l)?;
    let xv = x.cpu::<T>()?;
    let mut yv = y.cpu_mut::<T>()?;
    let c_out = if with_self { 2 * c } else { c };
    let plane = (l * k).max(1);
    yv.par_chunks_mut(plane).enumerate().for_each(|(row, yr)| {
        let (b, co) = (row / c_out, row % c_out);
        let ib = &ids[b * l * k..(b + 1) * l * k];
        if co < c {
            let xr = &xv[(b * c + co) * l..(b * c + co + 1) * l];
            for (o, &j) in yr.iter_mut().zip(ib) {
                *o = xr[j];
            }
        } else {
            let xr = &xv[(b * c + co - c) * l..(b * c + co - c + 1) * l];
            for (i, chunk) in yr.chunks_mut(k.max(1)).enumerate() {
                chunk.iter_mut().for_each(|o| *o = xr[i]);
            }
        }
    });
    Ok(())
}

pub fn graph_gather_bwd<T: Float>(dy: &Tensor, idx: &Tensor, dx: &Tensor, with_self: bool) -> Result<()> {
    let [_, c, l] = bcl(dx)?;
    let k = idx.dims().last().copied().unwrap_or(0);
    let ids = neighbours(idx, l)?;
    let dyv = dy.cpu::<T>()?;
    let mut dxv = dx.cpu_mut::<T>()?;
    let c_out = if with_self { 2 * c } else { c };
    let plane = l * k;
    dxv.par_chunks_mut(l.max(1)).enumerate().for_each(|(row, dxr)| {
        let (b, ch) = (row / c.max(1), row % c.max(1));
        let ib = &ids[b * plane..(b + 1) * plane];
        dxr.iter_mut().for_each(|v| *v = T::zero());
        let from = (b * c_out + ch) * plane;
        // Fixed order (i, then n) for the scatter of repeated neighbours: deterministic sums.
        for (&j, &g) in ib.iter().zip(&dyv[from..from + plane]) {
            dxr[j] += g;
        }
        if with_self {
            let from = (b * c_out + c + ch) * plane;
            for (i, chunk) in dyv[from..from + plane].chunks(k.max(1)).enumerate() {
                for &g in chunk {
                    dxr[i] += g;
                }
            }
        }
    });
    Ok(())
}

pub fn max_lastdim_fwd<T: Float>(x: &Tensor, y: &Tensor, argmax: &Tensor, k: usize) -> Result<()> {
    let xv = x.cpu::<T>()?;
    let mut yv = y.cpu_mut::<T>()?;
    let mut av = argmax.cpu_mut::<i64>()?;
    yv.par_iter_mut().zip(av.par_iter_mut()).zip(xv.par_chunks(k.max(1))).for_each(|((y, a), row)| {
        let mut at = 0;
        for (n, &v) in row.iter().enumerate() {
            // strict '>' keeps the first maximum (G-TAD's sconvs output has no exact ties in practice)
            if v > row[at] {
                at = n;
            }
        }
        *y = row.get(at).copied().unwrap_or_else(T::zero);
        *a = at as i64;
    });
    Ok(())
}

pub fn max_lastdim_bwd<T: Float>(dy: &Tensor, argmax: &Tensor, dx: &Tensor, k: usize) -> Result<()> {
    let dyv = dy.cpu::<T>()?;
    let av = argmax.cpu::<i64>()?;
    let mut dxv = dx.cpu_mut::<T>()?;
    dxv.par_chunks_mut(k.max(1)).zip(dyv.par_iter()).zip(av.par_iter()).for_each(|((row, &g), &a)| {
        for (n, v) in row.iter_mut().enumerate() {
            *v = if n as i64 == a { g } else { T::zero() };
        }
    });
    Ok(())
}
