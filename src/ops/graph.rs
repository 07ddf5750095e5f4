//! G-TAD graph ops (SPEC §b, official `knn` / `get_graph_feature`) on snippet features x [B, C, L]:
//!
//! - `knn`: the k nearest nodes of every node, self included, by G-TAD's score
//!   −|x_j|² + 2⟨x_i, x_j⟩ − |x_i|² (the Gram matrix comes from the batched matmul kernel), sorted by
//!   decreasing score, lower index first on ties. Indices are data, not differentiable.
//! - `graph_feature`: the neighbour gather, style 1 = concat(neighbour, self) → [B, 2C, L, k]
//!   (not EdgeConv's offset form), style 2 = neighbours only → [B, C, L, k].
//! - `max_lastdim`: the max over k of GCNeXt's semantic stream, gradient to the first maximum.
//!   The mean over k of SGAlign's context is `shape::mean_axis`.

use super::empty_like;
use crate::autograd::{record, Var};
use crate::backend::launch;
use crate::tensor::{DType, Tensor};
use crate::{Error, Result};

/// Which graph feature `get_graph_feature` builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphStyle {
    /// Style 1: [neighbour; self] along channels.
    NeighbourSelf,
    /// Style 2: the neighbours only.
    Neighbours,
}

fn bcl(op: &'static str, x: &Tensor) -> Result<[usize; 3]> {
    let d = x.shape().dims_n::<3>(op)?;
    if d[2] == 0 {
        return Err(Error::shape(op, format!("features {} have no temporal positions", x.shape())));
    }
    Ok(d)
}

/// G-TAD's pairwise score −‖x_i − x_j‖² [B, L, L], evaluated as the reference does.
pub fn knn_scores(x: &Tensor) -> Result<Tensor> {
    let [b, c, l] = bcl("knn", x)?;
    let gram = empty_like(x, [b, l, l], x.dtype())?;
    super::cost::add_gemm(b * l, l, c, x.dtype());
    launch(x.device(), |be| be.matmul(x, x, &gram, b, l, c, l, true, false, 0.0))?;
    let score = empty_like(x, [b, l, l], x.dtype())?;
    launch(x.device(), |be| be.knn_score(x, &gram, &score))?;
    Ok(score)
}

/// Indices (i64 [B, L, k]) of the k nearest nodes of every node, nearest (itself) first.
pub fn knn(x: &Tensor, k: usize) -> Result<Tensor> {
    let [b, _, l] = bcl("knn", x)?;
    if k == 0 || k > l {
        return Err(Error::shape("knn", format!("k = {k} neighbours among {l} nodes")));
    }
    let score = knn_scores(x)?;
    let idx = empty_like(x, [b, l, k], DType::I64)?;
    launch(x.device(), |be| be.knn_topk(&score, &idx, k))?;
    Ok(idx)
}

fn check_idx(x: &Tensor, idx: &Tensor) -> Result<usize> {
    let [b, _, l] = bcl("graph_feature", x)?;
    let [ib, il, k] = idx.shape().dims_n::<3>("graph_feature")?;
    if idx.dtype() != DType::I64 || ib != b || il != l || k == 0 {
        return Err(Error::shape(
            "graph_feature",
            format!("neighbours {} {} for features {}", idx.dtype(), idx.shape(), x.shape()),
        ));
    }
    if idx.device() != x.device() {
        return Err(Error::DeviceMismatch {
            op: "graph_feature",
            a: format!("{:?}", x.device()),
            b: format!("{:?}", idx.device()),
        });
    }
    Ok(k)
}

pub fn graph_feature_fwd(x: &Tensor, idx: &Tensor, style: GraphStyle) -> Result<Tensor> {
    let k = check_idx(x, idx)?;
    let [b, c, l] = bcl("graph_feature", x)?;
    let with_self = style == GraphStyle::NeighbourSelf;
    let y = empty_like(x, [b, if with_self { 2 * c } else { c }, l, k], x.dtype())?;
    launch(x.device(), |be| be.graph_gather_fwd(x, idx, &y, with_self))?;
    Ok(y)
}

/// The graph feature of x for the neighbours `idx`; backward sums into every gathered node.
pub fn graph_feature(x: &Var, idx: &Tensor, style: GraphStyle) -> Result<Var> {
    let y = graph_feature_fwd(x.tensor(), idx, style)?;
    let (in_shape, idx) = (x.tensor().shape().clone(), idx.clone());
    Ok(record("graph_feature", &[x], y, move |dy| {
        let dx = empty_like(dy, in_shape, dy.dtype())?;
        launch(dy.device(), |be| be.graph_gather_bwd(dy, &idx, &dx, style == GraphStyle::NeighbourSelf))?;
        Ok(vec![Some(dx)])
    }))
}

/// Max over the last axis (removed from the shape); the gradient goes to the first maximum.
pub fn max_lastdim(x: &Var) -> Result<Var> {
    let t = x.tensor();
    let (&k, outer) = t.dims().split_last().ok_or_else(|| Error::shape("max_lastdim", "a scalar has no axis"))?;
    if k == 0 {
        return Err(Error::shape("max_lastdim", format!("max over an empty axis of {}", t.shape())));
    }
    let y = empty_like(t, outer.to_vec(), t.dtype())?;
    let argmax = empty_like(t, outer.to_vec(), DType::I64)?;
    launch(t.device(), |be| be.max_lastdim_fwd(t, &y, &argmax, k))?;
    let in_shape = t.shape().clone();
    Ok(record("max_lastdim", &[x], y, move |dy| {
        let dx = empty_like(dy, in_shape, dy.dtype())?;
        launch(dy.device(), |be| be.max_lastdim_bwd(dy, &argmax, &dx, k))?;
        Ok(vec![Some(dx)])
    }))
}
