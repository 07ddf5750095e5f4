//! The CPU backend: the reference every CUDA kernel is checked against, and what CI runs. Float
//! kernels are generic over f32/f64 (f64 serves gradcheck); one `match` per kernel picks the type.
//! Parallel with rayon; every reduction has a fixed order, so results do not depend on the number
//! of threads.

pub mod align;
mod conv;
mod elementwise;
mod graph;
mod layout;
mod loss;
mod matmul;
mod norm;
mod optim;
mod pointwise;
mod pool;
mod reduce;
mod shift;

pub use matmul::{gemm_strided, Mat};

use crate::backend::{AdamStep, Backend, Binary, ConvGeom, PoolGeom, SgdStep, ShiftGeom, Unary};
use crate::normalization::Normalization;
use crate::tensor::{float_dtype, DType, Tensor};
use crate::Result;

pub struct CpuBackend;

/// Calls the f32 or f64 instance of a generic kernel, by the dtype of `$t`.
macro_rules! float {
    ($op:literal, $t:expr, $m:ident::$f:ident, ($($a:expr),*)) => {{
        float_dtype($op, $t.dtype())?;
        if $t.dtype() == DType::F32 { $m::$f::<f32>($($a),*) } else { $m::$f::<f64>($($a),*) }
    }};
}

impl Backend for CpuBackend {
    fn name(&self) -> &'static str {
        "cpu"
    }
    fn unary_fwd(&self, op: Unary, x: &Tensor, y: &Tensor) -> Result<()> {
        float!("unary", x, elementwise::unary_fwd, (op, x, y))
    }
    fn unary_bwd(&self, op: Unary, saved: &Tensor, dy: &Tensor, dx: &Tensor) -> Result<()> {
        float!("unary", dy, elementwise::unary_bwd, (op, saved, dy, dx))
    }
    fn binary_fwd(&self, op: Binary, a: &Tensor, b: &Tensor, y: &Tensor) -> Result<()> {
        float!("binary", a, elementwise::binary_fwd, (op, a, b, y))
    }
    fn scale(&self, x: &Tensor, alpha: f64, y: &Tensor) -> Result<()> {
        float!("scale", x, elementwise::scale, (x, alpha, y))
    }
    fn fill(&self, y: &Tensor, value: f64) -> Result<()> {
        elementwise::fill(y, value)
    }
    fn cast(&self, x: &Tensor, y: &Tensor) -> Result<()> {
        elementwise::cast(x, y)
    }
    fn normalize_frames(&self, x: &Tensor, y: &Tensor, norm: &Normalization) -> Result<()> {
        float!("normalize_frames", y, elementwise::normalize_frames, (x, y, norm))
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
    fn gather_axis(&self, x: &Tensor, idx: &Tensor, y: &Tensor, outer: usize, inner: usize) -> Result<()> {
        layout::gather_axis(x, idx, y, outer, inner)
    }
    fn scatter_add_axis(
        &self,
        dy: &Tensor,
        idx: &Tensor,
        dx: &Tensor,
        _workspace: &Tensor,
        outer: usize,
        inner: usize,
    ) -> Result<()> {
        float!("scatter_add", dy, layout::scatter_add_axis, (dy, idx, dx, outer, inner))
    }
    fn sum_axis(&self, x: &Tensor, y: &Tensor, outer: usize, axis: usize, inner: usize, alpha: f64) -> Result<()> {
        float!("sum_axis", x, reduce::sum_axis, (x, y, outer, axis, inner, alpha))
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
        float!("broadcast_axis", x, reduce::broadcast_axis, (x, y, outer, axis, inner, alpha))
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
        float!("add_channel", x, elementwise::add_channel, (x, b, y, outer, channels, inner))
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
        float!("matmul", a, matmul::matmul, (a, w, y, batch, m, k, n, trans_a, trans_w, beta))
    }
    fn conv2d_fwd(&self, g: &ConvGeom, x: &Tensor, w: &Tensor, y: &Tensor, ws: &Tensor) -> Result<()> {
        float!("conv2d", x, conv::conv2d_fwd, (g, x, w, y, ws))
    }
    fn conv2d_bwd_data(&self, g: &ConvGeom, dy: &Tensor, w: &Tensor, dx: &Tensor, ws: &Tensor) -> Result<()> {
        float!("conv2d", dy, conv::conv2d_bwd_data, (g, dy, w, dx, ws))
    }
    fn conv2d_bwd_weight(&self, g: &ConvGeom, x: &Tensor, dy: &Tensor, dw: &Tensor, ws: &Tensor) -> Result<()> {
        float!("conv2d", x, conv::conv2d_bwd_weight, (g, x, dy, dw, ws))
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
        float!("batch_norm", x, norm::bn_fwd_train, (x, gamma, beta, y, mean, var, n, c, hw, eps))
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
        float!("batch_norm", x, norm::bn_fwd_stats, (x, gamma, beta, y, mean, var, n, c, hw, eps))
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
        float!("batch_norm", x, norm::bn_bwd, (x, dy, gamma, mean, var, dx, dgamma, dbeta, n, c, hw, eps, true))
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
        float!("batch_norm", x, norm::bn_bwd, (x, dy, gamma, mean, var, dx, dgamma, dbeta, n, c, hw, eps, false))
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
        float!("batch_norm", mean, norm::bn_update_running, (mean, var, running_mean, running_var, count, momentum))
    }
    fn maxpool2d_fwd(&self, g: &PoolGeom, x: &Tensor, y: &Tensor, argmax: &Tensor) -> Result<()> {
        float!("maxpool2d", x, pool::maxpool2d_fwd, (g, x, y, argmax))
    }
    fn maxpool2d_bwd(&self, g: &PoolGeom, dy: &Tensor, argmax: &Tensor, dx: &Tensor) -> Result<()> {
        float!("maxpool2d", dy, pool::maxpool2d_bwd, (g, dy, argmax, dx))
    }
    fn shift_fwd(&self, g: &ShiftGeom, x: &Tensor, y: &Tensor) -> Result<()> {
        float!("temporal_shift", x, shift::shift_fwd, (g, x, y))
    }
    fn shift_bwd(&self, g: &ShiftGeom, dy: &Tensor, dx: &Tensor) -> Result<()> {
        float!("temporal_shift", dy, shift::shift_bwd, (g, dy, dx))
    }
    fn knn_score(&self, x: &Tensor, gram: &Tensor, score: &Tensor) -> Result<()> {
        float!("knn", x, graph::knn_score, (x, gram, score))
    }
    fn knn_topk(&self, score: &Tensor, idx: &Tensor, k: usize) -> Result<()> {
        float!("knn", score, graph::knn_topk, (score, idx, k))
    }
    fn graph_gather_fwd(&self, x: &Tensor, idx: &Tensor, y: &Tensor, with_self: bool) -> Result<()> {
        float!("graph_gather", x, graph::graph_gather_fwd, (x, idx, y, with_self))
    }
    fn graph_gather_bwd(&self, dy: &Tensor, idx: &Tensor, dx: &Tensor, with_self: bool) -> Result<()> {
        float!("graph_gather", dy, graph::graph_gather_bwd, (dy, idx, dx, with_self))
    }
    fn max_lastdim_fwd(&self, x: &Tensor, y: &Tensor, argmax: &Tensor, k: usize) -> Result<()> {
        float!("max_lastdim", x, graph::max_lastdim_fwd, (x, y, argmax, k))
    }
    fn max_lastdim_bwd(&self, dy: &Tensor, argmax: &Tensor, dx: &Tensor, k: usize) -> Result<()> {
        float!("max_lastdim", dy, graph::max_lastdim_bwd, (dy, argmax, dx, k))
    }
    fn align1d_fwd(&self, x: &Tensor, rois: &Tensor, y: &Tensor, bins: usize) -> Result<()> {
        float!("align1d", x, align::align1d_fwd, (x, rois, y, bins))
    }
    fn align1d_bwd(&self, dy: &Tensor, rois: &Tensor, dx: &Tensor, bins: usize) -> Result<()> {
        float!("align1d", dy, align::align1d_bwd, (dy, rois, dx, bins))
    }
    fn softmax_xent_fwd(&self, logits: &Tensor, target: &Tensor, loss: &Tensor, probs: &Tensor) -> Result<()> {
        float!("cross_entropy", logits, loss::softmax_xent_fwd, (logits, target, loss, probs))
    }
    fn softmax_xent_bwd(&self, probs: &Tensor, target: &Tensor, dloss: &Tensor, dlogits: &Tensor) -> Result<()> {
        float!("cross_entropy", probs, loss::softmax_xent_bwd, (probs, target, dloss, dlogits))
    }
    fn weighted_bce_fwd(&self, p: &Tensor, t: &Tensor, loss: &Tensor, w1: f64, w0: f64, eps: f64) -> Result<()> {
        float!("weighted_bce", p, loss::weighted_bce_fwd, (p, t, loss, w1, w0, eps))
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
        float!("weighted_bce", p, loss::weighted_bce_bwd, (p, t, dloss, dp, w1, w0, eps))
    }
    fn sgd_step(&self, param: &Tensor, grad: &Tensor, momentum_buf: Option<&Tensor>, o: &SgdStep) -> Result<()> {
        float!("sgd", param, optim::sgd_step, (param, grad, momentum_buf, o))
    }
    fn adam_step(
        &self,
        param: &Tensor,
        grad: &Tensor,
        exp_avg: &Tensor,
        exp_avg_sq: &Tensor,
        o: &AdamStep,
    ) -> Result<()> {
        float!("adam", param, optim::adam_step, (param, grad, exp_avg, exp_avg_sq, o))
    }
}
