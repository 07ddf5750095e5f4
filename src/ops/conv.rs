//! Convolutions: conv2d (stride, padding, groups, optional bias) and conv1d as conv2d with H = 1.
//! Every call allocates its im2col workspace through the pool and drops it on return, so the
//! workspace is part of the measured peak on every device.

use super::{check_same, elementwise, empty_like};
use crate::autograd::{record, Var};
use crate::backend::{launch, ConvGeom};
use crate::tensor::Tensor;
use crate::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2dOpts {
    pub stride: (usize, usize),
    pub pad: (usize, usize),
    pub groups: usize,
}

impl Conv2dOpts {
    pub fn new(stride: usize, pad: usize, groups: usize) -> Self {
        Conv2dOpts { stride: (stride, stride), pad: (pad, pad), groups }
    }
}

pub fn geometry(x: &Tensor, w: &Tensor, o: Conv2dOpts) -> Result<ConvGeom> {
    ConvGeom::new(x.shape().dims_n::<4>("conv2d")?, w.shape().dims_n::<4>("conv2d")?, o.stride, o.pad, o.groups)
}

fn workspace(g: &ConvGeom, like: &Tensor) -> Result<Tensor> {
    empty_like(like, [g.workspace_elems()], like.dtype())
}

pub fn conv2d_fwd(x: &Tensor, w: &Tensor, o: Conv2dOpts) -> Result<Tensor> {
    check_same("conv2d", &[x, w])?;
    forward(&geometry(x, w, o)?, x, w)
}

fn forward(g: &ConvGeom, x: &Tensor, w: &Tensor) -> Result<Tensor> {
    let y = empty_like(x, [g.n, g.c_out, g.ho, g.wo], x.dtype())?;
    let ws = workspace(g, x)?;
    super::cost::add_conv(g, x.dtype());
    launch(x.device(), |be| be.conv2d_fwd(g, x, w, &y, &ws))?;
    Ok(y)
}

pub fn conv2d_bwd_data(g: &ConvGeom, dy: &Tensor, w: &Tensor) -> Result<Tensor> {
    let dx = empty_like(dy, [g.n, g.c_in, g.h, g.w], dy.dtype())?;
    let ws = workspace(g, dy)?;
    super::cost::add_conv(g, dy.dtype());
    launch(dy.device(), |be| be.conv2d_bwd_data(g, dy, w, &dx, &ws))?;
    Ok(dx)
}

pub fn conv2d_bwd_weight(g: &ConvGeom, x: &Tensor, dy: &Tensor) -> Result<Tensor> {
    let dw = empty_like(dy, [g.c_out, g.c_in / g.groups, g.kh, g.kw], dy.dtype().weight_grad())?;
    let ws = workspace(g, dy)?;
    super::cost::add_conv(g, dy.dtype());
    launch(dy.device(), |be| be.conv2d_bwd_weight(g, x, dy, &dw, &ws))?;
    Ok(dw)
}

/// NCHW convolution with OIHW weights, optional bias [c_out].
pub fn conv2d(x: &Var, w: &Var, bias: Option<&Var>, o: Conv2dOpts) -> Result<Var> {
    check_same("conv2d", &[x.tensor(), w.tensor()])?;
    let g = geometry(x.tensor(), w.tensor(), o)?;
    let y = forward(&g, x.tensor(), w.tensor())?;
    // Save x only if the weight needs a gradient and w only if x does.
    let sx = w.requires_grad().then(|| x.tensor().clone());
    let sw = x.requires_grad().then(|| w.tensor().clone());
    let y = record("conv2d", &[x, w], y, move |dy| {
        let dx = sw.map(|w| conv2d_bwd_data(&g, dy, &w)).transpose()?;
        let dw = sx.map(|x| conv2d_bwd_weight(&g, &x, dy)).transpose()?;
        Ok(vec![dx, dw])
    });
    match bias {
        Some(b) => elementwise::add_channel(&y, b),
        None => Ok(y),
    }
}

/// NCL convolution with [c_out, c_in/groups, k] weights: conv2d on an H = 1 view.
pub fn conv1d(x: &Var, w: &Var, bias: Option<&Var>, stride: usize, pad: usize, groups: usize) -> Result<Var> {
    let [n, c, l] = x.tensor().shape().dims_n::<3>("conv1d")?;
    let [co, cpg, k] = w.tensor().shape().dims_n::<3>("conv1d")?;
    let x4 = super::shape::reshape(x, [n, c, 1, l])?;
    let w4 = super::shape::reshape(w, [co, cpg, 1, k])?;
    let o = Conv2dOpts { stride: (1, stride), pad: (0, pad), groups };
    let y = conv2d(&x4, &w4, bias, o)?;
    let lo = y.dims()[3];
    super::shape::reshape(&y, [n, co, lo])
}
