//! Layout and reduction ops: reshape, permute (materialising), slice, concat, gather along an
//! axis, sum/mean over an axis, cast, and top-k (not differentiable).

use super::{check_same, empty_like};
use crate::autograd::{record, Var};
use crate::backend::{launch, scatter_workspace_len};
use crate::tensor::{DType, Shape, Tensor};
use crate::{Error, Result};

/// (outer, axis, inner) sizes of `dims` split at `axis`.
fn split(op: &'static str, dims: &[usize], axis: usize) -> Result<(usize, usize, usize)> {
    let a = *dims.get(axis).ok_or_else(|| Error::shape(op, format!("axis {axis} out of range for {dims:?}")))?;
    Ok((dims[..axis].iter().product(), a, dims[axis + 1..].iter().product()))
}

pub fn reshape(x: &Var, shape: impl Into<Shape>) -> Result<Var> {
    let y = x.tensor().reshape(shape)?;
    let in_shape = x.tensor().shape().clone();
    Ok(record("reshape", &[x], y, move |g| Ok(vec![Some(g.reshape(in_shape)?)])))
}

pub fn permute_fwd(x: &Tensor, perm: &[usize]) -> Result<Tensor> {
    let mut seen = vec![false; x.rank()];
    if perm.len() != x.rank() || perm.iter().any(|&p| p >= x.rank() || std::mem::replace(&mut seen[p], true)) {
        return Err(Error::shape("permute", format!("{perm:?} is not a permutation of {} axes", x.rank())));
    }
    let dims: Vec<usize> = perm.iter().map(|&p| x.dims()[p]).collect();
    let y = empty_like(x, dims, x.dtype())?;
    launch(x.device(), |be| be.permute(x, perm, &y))?;
    Ok(y)
}

pub fn permute(x: &Var, perm: &[usize]) -> Result<Var> {
    let y = permute_fwd(x.tensor(), perm)?;
    let mut inverse = vec![0; perm.len()];
    for (i, &p) in perm.iter().enumerate() {
        inverse[p] = i;
    }
    Ok(record("permute", &[x], y, move |g| Ok(vec![Some(permute_fwd(g, &inverse)?)])))
}

/// x[..., start..start+len, ...] along `axis`, materialised.
pub fn slice_fwd(x: &Tensor, axis: usize, start: usize, len: usize) -> Result<Tensor> {
    let (outer, n, inner) = split("slice", x.dims(), axis)?;
    if start + len > n {
        return Err(Error::shape("slice", format!("{start}..{} on an axis of {n}", start + len)));
    }
    let mut dims = x.dims().to_vec();
    dims[axis] = len;
    let y = empty_like(x, dims, x.dtype())?;
    launch(x.device(), |be| be.copy_from_axis(x, &y, outer, inner, start))?;
    Ok(y)
}

pub fn slice(x: &Var, axis: usize, start: usize, len: usize) -> Result<Var> {
    let y = slice_fwd(x.tensor(), axis, start, len)?;
    let in_dims = x.dims().to_vec();
    Ok(record("slice", &[x], y, move |g| {
        let (outer, _, inner) = split("slice", &in_dims, axis)?;
        // copy_into_axis writes only the slice's range; the rest of the gradient is zero.
        let dx = Tensor::zeros(in_dims.clone(), g.dtype(), g.device())?;
        launch(g.device(), |be| be.copy_into_axis(g, &dx, outer, inner, start))?;
        Ok(vec![Some(dx)])
    }))
}

pub fn concat_fwd(xs: &[&Tensor], axis: usize) -> Result<Tensor> {
    let first = xs.first().ok_or_else(|| Error::invalid("concat", "no tensors"))?;
    check_same("concat", xs)?;
    let mut dims = first.dims().to_vec();
    let mut total = 0;
    for x in xs {
        let (mut a, mut b) = (x.dims().to_vec(), first.dims().to_vec());
        if a.len() != b.len() || axis >= a.len() {
            return Err(Error::shape("concat", format!("{} vs {} at axis {axis}", x.shape(), first.shape())));
        }
        total += a[axis];
        a[axis] = 0;
        b[axis] = 0;
        if a != b {
            return Err(Error::shape("concat", format!("{} vs {} at axis {axis}", x.shape(), first.shape())));
        }
    }
    dims[axis] = total;
    let (outer, _, inner) = split("concat", &dims, axis)?;
    let y = empty_like(first, dims, first.dtype())?;
    let mut offset = 0;
    for x in xs {
        launch(x.device(), |be| be.copy_into_axis(x, &y, outer, inner, offset))?;
        offset += x.dims()[axis];
    }
    Ok(y)
}

pub fn concat(xs: &[&Var], axis: usize) -> Result<Var> {
    let ts: Vec<&Tensor> = xs.iter().map(|v| v.tensor()).collect();
    let y = concat_fwd(&ts, axis)?;
    let sizes: Vec<usize> = xs.iter().map(|v| v.dims()[axis]).collect();
    Ok(record("concat", xs, y, move |g| {
        let mut start = 0;
        let mut grads = Vec::with_capacity(sizes.len());
        for &n in &sizes {
            grads.push(Some(slice_fwd(g, axis, start, n)?));
            start += n;
        }
        Ok(grads)
    }))
}

/// y = x[..., idx[j], ...] along `axis` (idx: i64 vector); backward scatters with `+`.
pub fn gather_fwd(x: &Tensor, axis: usize, idx: &Tensor) -> Result<Tensor> {
    if idx.dtype() != DType::I64 || idx.rank() != 1 {
        return Err(Error::invalid(
            "gather",
            format!("indices must be an i64 vector, got {} {}", idx.dtype(), idx.shape()),
        ));
    }
    let (outer, _, inner) = split("gather", x.dims(), axis)?;
    let mut dims = x.dims().to_vec();
    dims[axis] = idx.numel();
    let y = empty_like(x, dims, x.dtype())?;
    launch(x.device(), |be| be.gather_axis(x, idx, &y, outer, inner))?;
    Ok(y)
}

pub fn gather(x: &Var, axis: usize, idx: &Tensor) -> Result<Var> {
    let y = gather_fwd(x.tensor(), axis, idx)?;
    let (in_dims, idx) = (x.dims().to_vec(), idx.clone());
    Ok(record("gather", &[x], y, move |g| {
        let (outer, _, inner) = split("gather", &in_dims, axis)?;
        let dx = empty_like(g, in_dims.clone(), g.dtype())?;
        // The bucket plan's workspace, allocated here on every device so the accounting agrees.
        let n = in_dims.get(axis).copied().unwrap_or(0);
        let work = empty_like(g, [scatter_workspace_len(n, idx.numel())?], crate::tensor::DType::I64)?;
        launch(g.device(), |be| be.scatter_add_axis(g, &idx, &dx, &work, outer, inner))?;
        Ok(vec![Some(dx)])
    }))
}

/// y[o, i] = alpha · Σ_a x[o, a, i] for x viewed [outer, axis, inner]; y has shape [outer, inner].
pub fn sum_axis_fwd(x: &Tensor, outer: usize, axis: usize, inner: usize, alpha: f64) -> Result<Tensor> {
    if outer * axis * inner != x.numel() {
        return Err(Error::shape("sum_axis", format!("[{outer}, {axis}, {inner}] view of {}", x.shape())));
    }
    let y = empty_like(x, [outer, inner], x.dtype())?;
    launch(x.device(), |be| be.sum_axis(x, &y, outer, axis, inner, alpha))?;
    Ok(y)
}

/// Mean over `axis`, which is removed from the shape.
pub fn mean_axis(x: &Var, axis: usize) -> Result<Var> {
    let (outer, n, inner) = split("mean", x.dims(), axis)?;
    if n == 0 {
        return Err(Error::shape("mean", "mean over an empty axis"));
    }
    let mut dims = x.dims().to_vec();
    dims.remove(axis);
    let y = sum_axis_fwd(x.tensor(), outer, n, inner, 1.0 / n as f64)?.reshape(dims)?;
    let in_dims = x.dims().to_vec();
    Ok(record("mean", &[x], y, move |g| {
        let dx = empty_like(g, in_dims.clone(), g.dtype())?;
        launch(g.device(), |be| be.broadcast_axis(g, &dx, outer, n, inner, 1.0 / n as f64))?;
        Ok(vec![Some(dx)])
    }))
}

/// `x` converted to `dtype`, differentiable: the gradient comes back converted to x's dtype
/// (it may already be in it — a weight gradient the bf16 policy accumulated in f32). A cast to
/// x's own dtype is x itself.
pub fn cast(x: &Var, dtype: DType) -> Result<Var> {
    if x.tensor().dtype() == dtype {
        return Ok(x.clone());
    }
    let y = cast_fwd(x.tensor(), dtype)?;
    let from = x.tensor().dtype();
    Ok(record("cast", &[x], y, move |g| {
        let dx = if g.dtype() == from { g.clone() } else { cast_fwd(g, from)? };
        Ok(vec![Some(dx)])
    }))
}

/// Elementwise conversion to another dtype (not differentiable).
pub fn cast_fwd(x: &Tensor, dtype: DType) -> Result<Tensor> {
    let y = empty_like(x, x.shape().clone(), dtype)?;
    launch(x.device(), |be| be.cast(x, &y))?;
    Ok(y)
}

/// The `k` largest values of each row of a [rows, n] float tensor, descending, ties broken by the
/// lower index; returns (values, i64 indices), both [rows, k]. Not differentiable. Runs on the host.
pub fn topk(x: &Tensor, k: usize) -> Result<(Tensor, Tensor)> {
    let [rows, n] = x.shape().dims_n::<2>("topk")?;
    if k > n {
        return Err(Error::shape("topk", format!("k = {k} > {n} columns")));
    }
    let v = x.to_f64_vec()?;
    let mut vals = Vec::with_capacity(rows * k);
    let mut idxs = Vec::with_capacity(rows * k);
    for r in 0..rows {
        let row = &v[r * n..(r + 1) * n];
        let mut order: Vec<usize> = (0..n).collect();
        // total_cmp puts NaN above +inf; a stable sort keeps equal values in index order.
        order.sort_by(|&a, &b| row[b].total_cmp(&row[a]));
        for &i in &order[..k] {
            vals.push(row[i]);
            idxs.push(i as i64);
        }
    }
    let values = cast_fwd(&Tensor::from_vec(vals, [rows, k], x.device())?, x.dtype())?;
    Ok((values, Tensor::from_vec(idxs, [rows, k], x.device())?))
}
