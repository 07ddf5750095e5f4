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
pub mod reduced;
mod shift;

pub use matmul::{gemm_strided, Mat};

use crate::backend::{AdamStep, Backend, Binary, ConvGeom, PoolGeom, SgdStep, ShiftGeom, Unary};
use crate::normalization::Normalization;
use crate::tensor::{float_dtype, DType, Tensor};
use crate::Result;
use reduced::widened;

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
        if reduced::any_reduced(&[x, y]) {
            return widened!(read [x] write [y] => self.unary_fwd(op, x, y));
        }
        float!("unary", x, elementwise::unary_fwd, (op, x, y))
    }
    fn unary_bwd(&self, op: Unary, saved: &Tensor, dy: &Tensor, dx: &Tensor) -> Result<()> {
        if reduced::any_reduced(&[saved, dy, dx]) {
            return widened!(read [saved, dy] write [dx] => self.unary_bwd(op, saved, dy, dx));
        }
        float!("unary", dy, elementwise::unary_bwd, (op, saved, dy, dx))
    }
    fn binary_fwd(&self, op: Binary, a: &Tensor, b: &Tensor, y: &Tensor) -> Result<()> {
        if reduced::any_reduced(&[a, b, y]) {
            return widened!(read [a, b] write [y] => self.binary_fwd(op, a, b, y));
        }
        float!("binary", a, elementwise::binary_fwd, (op, a, b, y))
    }
    fn scale(&self, x: &Tensor, alpha: f64, y: &Tensor) -> Result<()> {
        if reduced::any_reduced(&[x, y]) {
            return widened!(read [x] write [y] => self.scale(x, alpha, y));
        }
        float!("scale", x, elementwise::scale, (x, alpha, y))
    }
    fn fill(&self, y: &Tensor, value: f64) -> Result<()> {
        elementwise::fill(y, value)
    }
    fn cast(&self, x: &Tensor, y: &Tensor) -> Result<()> {
        elementwise::cast(x, y)
    }
    fn normalize_frames(&self, x: &Tensor, y: &Tensor, norm: &Normalization) -> Result<()> {
        if reduced::any_reduced(&[y]) {
            return widened!(read [] write [y] => self.normalize_frames(x, y, norm));
        }
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
        if reduced::any_reduced(&[dy, dx]) {
            return widened!(read [dy] write [dx] => self.scatter_add_axis(dy, idx, dx, _workspace, outer, inner));
        }
        float!("scatter_add", dy, layout::scatter_add_axis, (dy, idx, dx, outer, inner))
    }
    fn sum_axis(&self, x: &Tensor, y: &Tensor, outer: usize, axis: usize, inner: usize, alpha: f64) -> Result<()> {
        if reduced::any_reduced(&[x, y]) {
            return widened!(read [x] write [y] => self.sum_axis(x, y, outer, axis, inner, alpha));
        }
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
        if reduced::any_reduced(&[x, y]) {
            return widened!(read [x] write [y] => self.broadcast_axis(x, y, outer, axis, inner, alpha));
        }
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
        if reduced::any_reduced(&[x, b, y]) {
            return widened!(read [x, b] write [y] => self.add_channel(x, b, y, outer, channels, inner));
        }
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
        if reduced::any_reduced(&[a, w, y]) {
            return widened!(read [a, w] write [y] => self.matmul(a, w, y, batch, m, k, n, trans_a, trans_w, beta));
        }
        float!("matmul", a, matmul::matmul, (a, w, y, batch, m, k, n, trans_a, trans_w, beta))
    }
    fn conv2d_fwd(&self, g: &ConvGeom, x: &Tensor, w: &Tensor, y: &Tensor, ws: &Tensor) -> Result<()> {
        if reduced::any_reduced(&[x, w, y, ws]) {
            let (g, ws) = reduced::conv_scratch(g)?;
            let (g, ws) = (&g, &ws);
            return widened!(read [x, w] write [y] => self.conv2d_fwd(g, x, w, y, ws));
        }
        float!("conv2d", x, conv::conv2d_fwd, (g, x, w, y, ws))
    }
    fn conv2d_bwd_data(&self, g: &ConvGeom, dy: &Tensor, w: &Tensor, dx: &Tensor, ws: &Tensor) -> Result<()> {
        if reduced::any_reduced(&[dy, w, dx, ws]) {
            let (g, ws) = reduced::conv_scratch(g)?;
            let (g, ws) = (&g, &ws);
            return widened!(read [dy, w] write [dx] => self.conv2d_bwd_data(g, dy, w, dx, ws));
        }
        float!("conv2d", dy, conv::conv2d_bwd_data, (g, dy, w, dx, ws))
    }
    fn conv2d_bwd_weight(&self, g: &ConvGeom, x: &Tensor, dy: &Tensor, dw: &Tensor, ws: &Tensor) -> Result<()> {
        if reduced::any_reduced(&[x, dy, dw, ws]) {
            let (g, ws) = reduced::conv_scratch(g)?;
            let (g, ws) = (&g, &ws);
            return widened!(read [x, dy] write [dw] => self.conv2d_bwd_weight(g, x, dy, dw, ws));
        }
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
        if reduced::any_reduced(&[x, gamma, beta, y, mean, var]) {
            return widened!(read [x, gamma, beta] write [y, mean, var] => self.bn_fwd_train(x, gamma, beta, y, mean, var, n, c, hw, eps));
        }
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
        if reduced::any_reduced(&[x, gamma, beta, mean, var, y]) {
            return widened!(read [x, gamma, beta, mean, var] write [y] => self.bn_fwd_stats(x, gamma, beta, y, mean, var, n, c, hw, eps));
        }
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
        if reduced::any_reduced(&[x, dy, gamma, mean, var, dx, dgamma, dbeta]) {
            return widened!(read [x, dy, gamma, mean, var] write [dx, dgamma, dbeta] => self.bn_bwd_train(x, dy, gamma, mean, var, dx, dgamma, dbeta, n, c, hw, eps));
        }
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
        if reduced::any_reduced(&[x, dy, gamma, mean, var, dx, dgamma, dbeta]) {
            return widened!(read [x, dy, gamma, mean, var] write [dx, dgamma, dbeta] => self.bn_bwd_stats(x, dy, gamma, mean, var, dx, dgamma, dbeta, n, c, hw, eps));
        }
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
        if reduced::any_reduced(&[mean, var, running_mean, running_var]) {
            return widened!(read [mean, var] write [running_mean, running_var] => self.bn_update_running(mean, var, running_mean, running_var, count, momentum));
        }
        float!("batch_norm", mean, norm::bn_update_running, (mean, var, running_mean, running_var, count, momentum))
    }
    fn maxpool2d_fwd(&self, g: &PoolGeom, x: &Tensor, y: &Tensor, argmax: &Tensor) -> Result<()> {
        if reduced::any_reduced(&[x, y]) {
            return widened!(read [x] write [y] => self.maxpool2d_fwd(g, x, y, argmax));
        }
        float!("maxpool2d", x, pool::maxpool2d_fwd, (g, x, y, argmax))
    }
    fn maxpool2d_bwd(&self, g: &PoolGeom, dy: &Tensor, argmax: &Tensor, dx: &Tensor) -> Result<()> {
        if reduced::any_reduced(&[dy, dx]) {
            return widened!(read [dy] write [dx] => self.maxpool2d_bwd(g, dy, argmax, dx));
        }
        float!("maxpool2d", dy, pool::maxpool2d_bwd, (g, dy, argmax, dx))
    }
    fn shift_fwd(&self, g: &ShiftGeom, x: &Tensor, y: &Tensor) -> Result<()> {
        if reduced::any_reduced(&[x, y]) {
            return widened!(read [x] write [y] => self.shift_fwd(g, x, y));
        }
        float!("temporal_shift", x, shift::shift_fwd, (g, x, y))
    }
    fn shift_bwd(&self, g: &ShiftGeom, dy: &Tensor, dx: &Tensor) -> Result<()> {
        if reduced::any_reduced(&[dy, dx]) {
            return widened!(read [dy] write [dx] => self.shift_bwd(g, dy, dx));
        }
        float!("temporal_shift", dy, shift::shift_bwd, (g, dy, dx))
    }
    fn knn_score(&self, x: &Tensor, gram: &Tensor, score: &Tensor) -> Result<()> {
        if reduced::any_reduced(&[x, gram, score]) {
            return widened!(read [x] write [gram, score] => self.knn_score(x, gram, score));
        }
        float!("knn", x, graph::knn_score, (x, gram, score))
    }
    fn knn_topk(&self, score: &Tensor, idx: &Tensor, k: usize) -> Result<()> {
        if reduced::any_reduced(&[score]) {
            return widened!(read [score] write [] => self.knn_topk(score, idx, k));
        }
        float!("knn", score, graph::knn_topk, (score, idx, k))
    }
    fn graph_gather_fwd(&self, x: &Tensor, idx: &Tensor, y: &Tensor, with_self: bool) -> Result<()> {
        if reduced::any_reduced(&[x, y]) {
            return widened!(read [x] write [y] => self.graph_gather_fwd(x, idx, y, with_self));
        }
        float!("graph_gather", x, graph::graph_gather_fwd, (x, idx, y, with_self))
    }
    fn graph_gather_bwd(&self, dy: &Tensor, idx: &Tensor, dx: &Tensor, with_self: bool) -> Result<()> {
        if reduced::any_reduced(&[dy, dx]) {
            return widened!(read [dy] write [dx] => self.graph_gather_bwd(dy, idx, dx, with_self));
        }
        float!("graph_gather", dy, graph::graph_gather_bwd, (dy, idx, dx, with_self))
    }
    fn max_lastdim_fwd(&self, x: &Tensor, y: &Tensor, argmax: &Tensor, k: usize) -> Result<()> {
        if reduced::any_reduced(&[x, y]) {
            return widened!(read [x] write [y] => self.max_lastdim_fwd(x, y, argmax, k));
        }
        float!("max_lastdim", x, graph::max_lastdim_fwd, (x, y, argmax, k))
    }
    fn max_lastdim_bwd(&self, dy: &Tensor, argmax: &Tensor, dx: &Tensor, k: usize) -> Result<()> {
        if reduced::any_reduced(&[dy, dx]) {
            return widened!(read [dy] write [dx] => self.max_lastdim_bwd(dy, argmax, dx, k));
        }
        float!("max_lastdim", dy, graph::max_lastdim_bwd, (dy, argmax, dx, k))
    }
    fn align1d_fwd(&self, x: &Tensor, rois: &Tensor, y: &Tensor, bins: usize) -> Result<()> {
        if reduced::any_reduced(&[x, rois, y]) {
            return widened!(read [x, rois] write [y] => self.align1d_fwd(x, rois, y, bins));
        }
        float!("align1d", x, align::align1d_fwd, (x, rois, y, bins))
    }
    fn align1d_bwd(&self, dy: &Tensor, rois: &Tensor, dx: &Tensor, bins: usize) -> Result<()> {
        if reduced::any_reduced(&[dy, rois, dx]) {
            return widened!(read [dy, rois] write [dx] => self.align1d_bwd(dy, rois, dx, bins));
        }
        float!("align1d", dy, align::align1d_bwd, (dy, rois, dx, bins))
    }
    fn softmax_xent_fwd(&self, logits: &Tensor, target: &Tensor, loss: &Tensor, probs: &Tensor) -> Result<()> {
        if reduced::any_reduced(&[logits, target, loss, probs]) {
            return widened!(read [logits, target] write [loss, probs] => self.softmax_xent_fwd(logits, target, loss, probs));
        }
        float!("cross_entropy", logits, loss::softmax_xent_fwd, (logits, target, loss, probs))
    }
    fn softmax_xent_bwd(&self, probs: &Tensor, target: &Tensor, dloss: &Tensor, dlogits: &Tensor) -> Result<()> {
        if reduced::any_reduced(&[probs, target, dloss, dlogits]) {
            return widened!(read [probs, target, dloss] write [dlogits] => self.softmax_xent_bwd(probs, target, dloss, dlogits));
        }
        float!("cross_entropy", probs, loss::softmax_xent_bwd, (probs, target, dloss, dlogits))
    }
    fn weighted_bce_fwd(&self, p: &Tensor, t: &Tensor, loss: &Tensor, w1: f64, w0: f64, eps: f64) -> Result<()> {
        if reduced::any_reduced(&[p, t, loss]) {
            return widened!(read [p, t] write [loss] => self.weighted_bce_fwd(p, t, loss, w1, w0, eps));
        }
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
        if reduced::any_reduced(&[p, t, dloss, dp]) {
            return widened!(read [p, t, dloss] write [dp] => self.weighted_bce_bwd(p, t, dloss, dp, w1, w0, eps));
        }
        float!("weighted_bce", p, loss::weighted_bce_bwd, (p, t, dloss, dp, w1, w0, eps))
    }
    fn sgd_step(&self, param: &Tensor, grad: &Tensor, momentum_buf: Option<&Tensor>, o: &SgdStep) -> Result<()> {
        // (The bf16 policy keeps parameters f32; an all-bf16 update is the kernels' own form.)
        if reduced::any_reduced(&[param, grad]) || momentum_buf.is_some_and(reduced::is_reduced) {
            return match momentum_buf {
                Some(buf) => widened!(read [grad] write [param, buf] => self.sgd_step(param, grad, Some(buf), o)),
                None => widened!(read [grad] write [param] => self.sgd_step(param, grad, None, o)),
            };
        }
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
        if reduced::any_reduced(&[param, grad, exp_avg, exp_avg_sq]) {
            return widened!(read [grad] write [param, exp_avg, exp_avg_sq] => self.adam_step(param, grad, exp_avg, exp_avg_sq, o));
        }
        float!("adam", param, optim::adam_step, (param, grad, exp_avg, exp_avg_sq, o))
    }
}
