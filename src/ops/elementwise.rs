//! Elementwise ops: add, sub, mul, scale, relu, sigmoid, and the per-channel bias add.

use super::{check_same, empty_like};
use crate::autograd::{record, Var};
use crate::backend::{launch, Binary, Unary};
use crate::tensor::Tensor;
use crate::{Error, Result};

fn same_shape(op: &'static str, a: &Tensor, b: &Tensor) -> Result<()> {
    check_same(op, &[a, b])?;
    if a.shape() != b.shape() {
        return Err(Error::shape(op, format!("{} vs {}", a.shape(), b.shape())));
    }
    Ok(())
}

pub fn binary_fwd(op: Binary, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    same_shape("binary", a, b)?;
    let y = empty_like(a, a.shape().clone(), a.dtype())?;
    launch(a.device(), |be| be.binary_fwd(op, a, b, &y))?;
    Ok(y)
}

pub fn add_fwd(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    binary_fwd(Binary::Add, a, b)
}

pub fn mul_fwd(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    binary_fwd(Binary::Mul, a, b)
}

pub fn scale_fwd(x: &Tensor, alpha: f64) -> Result<Tensor> {
    let y = empty_like(x, x.shape().clone(), x.dtype())?;
    launch(x.device(), |be| be.scale(x, alpha, &y))?;
    Ok(y)
}

pub fn unary_fwd(op: Unary, x: &Tensor) -> Result<Tensor> {
    let y = empty_like(x, x.shape().clone(), x.dtype())?;
    launch(x.device(), |be| be.unary_fwd(op, x, &y))?;
    Ok(y)
}

pub fn unary_bwd(op: Unary, y: &Tensor, dy: &Tensor) -> Result<Tensor> {
    let dx = empty_like(dy, dy.shape().clone(), dy.dtype())?;
    launch(dy.device(), |be| be.unary_bwd(op, y, dy, &dx))?;
    Ok(dx)
}

pub fn add(a: &Var, b: &Var) -> Result<Var> {
    let y = add_fwd(a.tensor(), b.tensor())?;
    Ok(record("add", &[a, b], y, |g| Ok(vec![Some(g.clone()), Some(g.clone())])))
}

pub fn sub(a: &Var, b: &Var) -> Result<Var> {
    let y = binary_fwd(Binary::Sub, a.tensor(), b.tensor())?;
    Ok(record("sub", &[a, b], y, |g| Ok(vec![Some(g.clone()), Some(scale_fwd(g, -1.0)?)])))
}

pub fn mul(a: &Var, b: &Var) -> Result<Var> {
    let y = mul_fwd(a.tensor(), b.tensor())?;
    let (sa, sb) = (b.requires_grad().then(|| a.tensor().clone()), a.requires_grad().then(|| b.tensor().clone()));
    Ok(record("mul", &[a, b], y, move |g| {
        let ga = sb.map(|b| mul_fwd(g, &b)).transpose()?;
        let gb = sa.map(|a| mul_fwd(g, &a)).transpose()?;
        Ok(vec![ga, gb])
    }))
}

pub fn scale(x: &Var, alpha: f64) -> Result<Var> {
    let y = scale_fwd(x.tensor(), alpha)?;
    Ok(record("scale", &[x], y, move |g| Ok(vec![Some(scale_fwd(g, alpha)?)])))
}

fn unary(op: Unary, name: &'static str, x: &Var) -> Result<Var> {
    let y = unary_fwd(op, x.tensor())?;
    // relu and sigmoid both differentiate from their output alone.
    let saved = y.clone();
    Ok(record(name, &[x], y, move |g| Ok(vec![Some(unary_bwd(op, &saved, g)?)])))
}

pub fn relu(x: &Var) -> Result<Var> {
    unary(Unary::Relu, "relu", x)
}

pub fn sigmoid(x: &Var) -> Result<Var> {
    unary(Unary::Sigmoid, "sigmoid", x)
}

/// y = x + b broadcast over axis 1 (channels) of x: conv and linear biases.
pub fn add_channel_fwd(x: &Tensor, b: &Tensor) -> Result<Tensor> {
    check_same("add_channel", &[x, b])?;
    let dims = x.dims();
    let c =
        *dims.get(1).ok_or_else(|| Error::shape("add_channel", format!("input {} has no channel axis", x.shape())))?;
    if b.dims() != [c] {
        return Err(Error::shape("add_channel", format!("bias {} for {c} channels", b.shape())));
    }
    let (outer, inner) = (dims[0], dims[2..].iter().product());
    let y = empty_like(x, x.shape().clone(), x.dtype())?;
    launch(x.device(), |be| be.add_channel(x, b, &y, outer, c, inner))?;
    Ok(y)
}

pub fn add_channel(x: &Var, b: &Var) -> Result<Var> {
    let y = add_channel_fwd(x.tensor(), b.tensor())?;
    let dims = x.dims().to_vec();
    Ok(record("add_channel", &[x, b], y, move |g| {
        // db[c] = Σ over everything but the channel axis: sum inner, then sum over the batch.
        let (n, c, inner) = (dims[0], dims[1], dims[2..].iter().product::<usize>());
        let per_nc = super::shape::sum_axis_fwd(&g.reshape([n * c, inner, 1])?, n * c, inner, 1, 1.0)?;
        let db = super::shape::sum_axis_fwd(&per_nc.reshape([1, n, c])?, 1, n, c, 1.0)?.reshape([c])?;
        Ok(vec![Some(g.clone()), Some(db)])
    }))
}

/// u8 frames [n, h, w, 3] → normalised [n, 3, h, w] of `dtype` (not differentiable: frames are data).
pub fn normalize_frames(
    x: &Tensor,
    norm: &crate::normalization::Normalization,
    dtype: crate::tensor::DType,
) -> Result<Tensor> {
    let [n, h, w, c] = x.shape().dims_n::<4>("normalize_frames")?;
    if x.dtype() != crate::tensor::DType::U8 || c != 3 {
        return Err(Error::invalid(
            "normalize_frames",
            format!("expected u8 [n, h, w, 3], got {} {}", x.dtype(), x.shape()),
        ));
    }
    let y = empty_like(x, [n, 3, h, w], dtype)?;
    launch(x.device(), |be| be.normalize_frames(x, &y, norm))?;
    Ok(y)
}
