//! The CUDA implementation of the `Backend` kernel contracts: each method forwards to its family's
//! launcher. Kernels not written yet keep the trait's default, an error naming the kernel (never a
//! silent no-op).

use super::{align, conv, convert, elementwise, gather, graph, layout, loss, matmul, norm, optim, pool, reduce, shift};
use crate::backend::{AdamStep, Backend, Binary, ConvGeom, PoolGeom, SgdStep, ShiftGeom, Unary};
use crate::normalization::Normalization;
use crate::tensor::Tensor;
use crate::Result;

pub struct CudaBackend;

impl Backend for CudaBackend {
    fn name(&self) -> &'static str {
        "cuda"
    }
    fn unary_fwd(&self, op: Unary, x: &Tensor, y: &Tensor) -> Result<()> {
        elementwise::unary_fwd(op, x, y)
    }
    fn unary_bwd(&self, op: Unary, saved: &Tensor, dy: &Tensor, dx: &Tensor) -> Result<()> {
        elementwise::unary_bwd(op, saved, dy, dx)
    }
    fn binary_fwd(&self, op: Binary, a: &Tensor, b: &Tensor, y: &Tensor) -> Result<()> {
        elementwise::binary_fwd(op, a, b, y)
    }
    fn scale(&self, x: &Tensor, alpha: f64, y: &Tensor) -> Result<()> {
        elementwise::scale(x, alpha, y)
    }
    fn fill(&self, y: &Tensor, value: f64) -> Result<()> {
        elementwise::fill(y, value)
    }
    fn add_channel(
        &self,
        x: &Tensor,
        b: &Tensor,
        y: &Tensor,
        outer: usize,
        channels: usize,
        inner: usize,
    ) -> Result<()> {
        elementwise::add_channel(x, b, y, outer, channels, inner)
    }
    fn sum_axis(&self, x: &Tensor, y: &Tensor, outer: usize, axis: usize, inner: usize, alpha: f64) -> Result<()> {
        reduce::sum_axis(x, y, outer, axis, inner, alpha)
    }
    fn broadcast_axis(
        &self,
        x: &Tensor,
        y: &Tensor,
        outer: usize,
        axis: usize,
        inner: usize,
        alpha: f64,
    ) -> Result<()> {
        reduce::broadcast_axis(x, y, outer, axis, inner, alpha)
    }
    fn matmul(
        &self,
        a: &Tensor,
        w: &Tensor,
        y: &Tensor,
        batch: usize,
        m: usize,
        k: usize,
        n: usize,
        trans_a: bool,
        trans_w: bool,
        beta: f64,
    ) -> Result<()> {
        matmul::matmul(a, w, y, batch, m, k, n, trans_a, trans_w, beta)
    }
    fn shift_fwd(&self, g: &ShiftGeom, x: &Tensor, y: &Tensor) -> Result<()> {
        shift::shift_fwd(g, x, y)
    }
    fn shift_bwd(&self, g: &ShiftGeom, dy: &Tensor, dx: &Tensor) -> Result<()> {
        shift::shift_bwd(g, dy, dx)
    }
    fn sgd_step(&self, param: &Tensor, grad: &Tensor, momentum_buf: Option<&Tensor>, o: &SgdStep) -> Result<()> {
        optim::sgd_step(param, grad, momentum_buf, o)
    }
    fn knn_score(&self, x: &Tensor, gram: &Tensor, score: &Tensor) -> Result<()> {
        graph::knn_score(x, gram, score)
    }
    fn knn_topk(&self, score: &Tensor, idx: &Tensor, k: usize) -> Result<()> {
        graph::knn_topk(score, idx, k)
    }
    fn graph_gather_fwd(&self, x: &Tensor, idx: &Tensor, y: &Tensor, with_self: bool) -> Result<()> {
        graph::graph_gather_fwd(x, idx, y, with_self)
    }
    fn graph_gather_bwd(&self, dy: &Tensor, idx: &Tensor, dx: &Tensor, with_self: bool) -> Result<()> {
        graph::graph_gather_bwd(dy, idx, dx, with_self)
    }
    fn max_lastdim_fwd(&self, x: &Tensor, y: &Tensor, argmax: &Tensor, k: usize) -> Result<()> {
        graph::max_lastdim_fwd(x, y, argmax, k)
    }
    fn max_lastdim_bwd(&self, dy: &Tensor, argmax: &Tensor, dx: &Tensor, k: usize) -> Result<()> {
        graph::max_lastdim_bwd(dy, argmax, dx, k)
    }
    fn align1d_fwd(&self, x: &Tensor, rois: &Tensor, y: &Tensor, bins: usize) -> Result<()> {
        align::align1d_fwd(x, rois, y, bins)
    }
    fn align1d_bwd(&self, dy: &Tensor, rois: &Tensor, dx: &Tensor, bins: usize) -> Result<()> {
        align::align1d_bwd(dy, rois, dx, bins)
    }
    fn softmax_xent_fwd(&self, logits: &Tensor, target: &Tensor, loss: &Tensor, probs: &Tensor) -> Result<()> {
        loss::softmax_xent_fwd(logits, target, loss, probs)
    }
    fn softmax_xent_bwd(&self, probs: &Tensor, target: &Tensor, dloss: &Tensor, dlogits: &Tensor) -> Result<()> {
        loss::softmax_xent_bwd(probs, target, dloss, dlogits)
    }
    fn weighted_bce_fwd(&self, p: &Tensor, t: &Tensor, loss: &Tensor, w1: f64, w0: f64, eps: f64) -> Result<()> {
        loss::weighted_bce_fwd(p, t, loss, w1, w0, eps)
    }
    fn weighted_bce_bwd(
        &self,
        p: &Tensor,
        t: &Tensor,
        dloss: &Tensor,
        dp: &Tensor,
        w1: f64,
        w0: f64,
        eps: f64,
    ) -> Result<()> {
        loss::weighted_bce_bwd(p, t, dloss, dp, w1, w0, eps)
    }
    fn gather_axis(&self, x: &Tensor, idx: &Tensor, y: &Tensor, outer: usize, inner: usize) -> Result<()> {
        gather::gather_axis(x, idx, y, outer, inner)
    }
    fn scatter_add_axis(
        &self,
        dy: &Tensor,
        idx: &Tensor,
        dx: &Tensor,
        workspace: &Tensor,
        outer: usize,
        inner: usize,
    ) -> Result<()> {
        gather::scatter_add_axis(dy, idx, dx, workspace, outer, inner)
    }
    fn adam_step(
        &self,
        param: &Tensor,
        grad: &Tensor,
        exp_avg: &Tensor,
        exp_avg_sq: &Tensor,
        o: &AdamStep,
    ) -> Result<()> {
        optim::adam_step(param, grad, exp_avg, exp_avg_sq, o)
    }
    fn maxpool2d_fwd(&self, g: &PoolGeom, x: &Tensor, y: &Tensor, argmax: &Tensor) -> Result<()> {
        pool::maxpool2d_fwd(g, x, y, argmax)
    }
    fn maxpool2d_bwd(&self, g: &PoolGeom, dy: &Tensor, argmax: &Tensor, dx: &Tensor) -> Result<()> {
        pool::maxpool2d_bwd(g, dy, argmax, dx)
    }
    fn cast(&self, x: &Tensor, y: &Tensor) -> Result<()> {
        convert::cast(x, y)
    }
    fn normalize_frames(&self, x: &Tensor, y: &Tensor, norm: &Normalization) -> Result<()> {
        convert::normalize_frames(x, y, norm)
    }
    fn permute(&self, x: &Tensor, perm: &[usize], y: &Tensor) -> Result<()> {
        layout::permute(x, perm, y)
    }
    fn copy_into_axis(&self, x: &Tensor, y: &Tensor, outer: usize, inner: usize, offset: usize) -> Result<()> {
        layout::copy_into_axis(x, y, outer, inner, offset)
    }
    fn copy_from_axis(&self, x: &Tensor, y: &Tensor, outer: usize, inner: usize, offset: usize) -> Result<()> {
        layout::copy_from_axis(x, y, outer, inner, offset)
    }
    fn bn_fwd_train(
        &self,
        x: &Tensor,
        gamma: &Tensor,
        beta: &Tensor,
        y: &Tensor,
        mean: &Tensor,
        var: &Tensor,
        n: usize,
        c: usize,
        hw: usize,
        eps: f64,
    ) -> Result<()> {
        norm::bn_fwd_train(x, gamma, beta, y, mean, var, n, c, hw, eps)
    }
    fn bn_fwd_stats(
        &self,
        x: &Tensor,
        gamma: &Tensor,
        beta: &Tensor,
        y: &Tensor,
        mean: &Tensor,
        var: &Tensor,
        n: usize,
        c: usize,
        hw: usize,
        eps: f64,
    ) -> Result<()> {
        norm::bn_fwd_stats(x, gamma, beta, y, mean, var, n, c, hw, eps)
    }
    fn bn_bwd_train(
        &self,
        x: &Tensor,
        dy: &Tensor,
        gamma: &Tensor,
        mean: &Tensor,
        var: &Tensor,
        dx: &Tensor,
        dgamma: &Tensor,
        dbeta: &Tensor,
        n: usize,
        c: usize,
        hw: usize,
        eps: f64,
    ) -> Result<()> {
        norm::bn_bwd(true, x, dy, gamma, mean, var, dx, dgamma, dbeta, n, c, hw, eps)
    }
    fn bn_bwd_stats(
        &self,
        x: &Tensor,
        dy: &Tensor,
        gamma: &Tensor,
        mean: &Tensor,
        var: &Tensor,
        dx: &Tensor,
        dgamma: &Tensor,
        dbeta: &Tensor,
        n: usize,
        c: usize,
        hw: usize,
        eps: f64,
    ) -> Result<()> {
        norm::bn_bwd(false, x, dy, gamma, mean, var, dx, dgamma, dbeta, n, c, hw, eps)
    }
    fn bn_update_running(
        &self,
        mean: &Tensor,
        var: &Tensor,
        running_mean: &Tensor,
        running_var: &Tensor,
        count: usize,
        momentum: f64,
    ) -> Result<()> {
        norm::bn_update_running(mean, var, running_mean, running_var, count, momentum)
    }
    fn conv2d_fwd(&self, g: &ConvGeom, x: &Tensor, w: &Tensor, y: &Tensor, ws: &Tensor) -> Result<()> {
        conv::conv2d_fwd(g, x, w, y, ws)
    }
    fn conv2d_bwd_data(&self, g: &ConvGeom, dy: &Tensor, w: &Tensor, dx: &Tensor, ws: &Tensor) -> Result<()> {
        conv::conv2d_bwd_data(g, dy, w, dx, ws)
    }
    fn conv2d_bwd_weight(&self, g: &ConvGeom, x: &Tensor, dy: &Tensor, dw: &Tensor, ws: &Tensor) -> Result<()> {
        conv::conv2d_bwd_weight(g, x, dy, dw, ws)
    }
}
