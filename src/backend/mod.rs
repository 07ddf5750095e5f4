//! Backends: the primitive kernels behind every op. `cpu` is the reference oracle (rayon + the gemm
//! crate, generic over f32/f64) and what CI runs; `cuda` runs the same contracts on a GPU, and
//! `lofi selftest` compares the two.
//!
//! Contract: a kernel writes into outputs (and workspaces) that the ops layer has already allocated
//! through the device's pool. Backends never allocate tensors. The Meta device has no kernels — the
//! ops layer skips the call — so accounting is identical on every device by construction.
//! Gradient contract: every `*_bwd` kernel *overwrites* its output gradients (`=`); the tape does
//! the accumulation of reused values.

pub mod cpu;
pub mod cuda;
mod geometry;

pub use geometry::{ConvGeom, PoolGeom, ShiftGeom};

use crate::normalization::Normalization;
use crate::tensor::{Device, DeviceKind, Tensor};
use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unary {
    Relu,
    Sigmoid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binary {
    Add,
    Sub,
    Mul,
}

/// Options of one SGD step (PyTorch semantics, dampening 0, no Nesterov).
#[derive(Debug, Clone, Copy)]
pub struct SgdStep {
    pub lr: f64,
    pub weight_decay: f64,
    pub momentum: f64,
}

/// Options of one Adam step (L2-form weight decay: g += wd·p).
#[derive(Debug, Clone, Copy)]
pub struct AdamStep {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    /// 1-based step count (for the bias corrections).
    pub step: u64,
}

macro_rules! unsupported {
    ($($name:ident($($arg:ident: $ty:ty),*);)*) => {
        $(
            #[allow(unused_variables, clippy::too_many_arguments)]
            fn $name(&self, $($arg: $ty),*) -> Result<()> {
                Err(Error::invalid(stringify!($name), format!("no {} kernel on this backend", stringify!($name))))
            }
        )*
    };
}

/// The kernel set. Shapes have been validated by the ops layer; a kernel may still refuse a dtype.
/// A default method means "this backend has no such kernel" and is an error, never a silent no-op.
pub trait Backend: Sync {
    fn name(&self) -> &'static str;

    unsupported! {
        // ---- elementwise (same shapes) -------------------------------------------------------------
        unary_fwd(op: Unary, x: &Tensor, y: &Tensor);
        // `saved` is the forward output y for relu and sigmoid.
        unary_bwd(op: Unary, saved: &Tensor, dy: &Tensor, dx: &Tensor);
        binary_fwd(op: Binary, a: &Tensor, b: &Tensor, y: &Tensor);
        // y = alpha · x
        scale(x: &Tensor, alpha: f64, y: &Tensor);
        fill(y: &Tensor, value: f64);
        cast(x: &Tensor, y: &Tensor);
        // ---- layout -------------------------------------------------------------------------------
        // y = x permuted by `perm` (y.dims[i] = x.dims[perm[i]])
        permute(x: &Tensor, perm: &[usize], y: &Tensor);
        // Copies x viewed as [outer, x_mid, inner] into y viewed as [outer, y_mid, inner] at mid
        // offset `offset` (concat forward, slice backward); `y` is not cleared.
        copy_into_axis(x: &Tensor, y: &Tensor, outer: usize, inner: usize, offset: usize);
        // Reads y (viewed [outer, y_mid, inner]) from x (viewed [outer, x_mid, inner]) starting at mid
        // offset `offset` (slice forward, concat backward).
        copy_from_axis(x: &Tensor, y: &Tensor, outer: usize, inner: usize, offset: usize);
        // y[o, j, i] = x[o, idx[j], i]; x viewed [outer, n, inner], idx i64 of length m.
        gather_axis(x: &Tensor, idx: &Tensor, y: &Tensor, outer: usize, inner: usize);
        // dx (zeroed here) [o, idx[j], i] += dy[o, j, i]; workspace: i64 [n + m + 1] for a
        // backend that plans the buckets first (CUDA), allocated by the ops layer on every device
        scatter_add_axis(dy: &Tensor, idx: &Tensor, dx: &Tensor, workspace: &Tensor, outer: usize, inner: usize);
        // ---- reductions and broadcasts over [outer, axis, inner] ----------------------------------------
        // y[o, i] = alpha · Σ_a x[o, a, i]
        sum_axis(x: &Tensor, y: &Tensor, outer: usize, axis: usize, inner: usize, alpha: f64);
        // y[o, a, i] = alpha · x[o, i]
        broadcast_axis(x: &Tensor, y: &Tensor, outer: usize, axis: usize, inner: usize, alpha: f64);
        // y[o, c, i] = x[o, c, i] + b[c] (bias over channels)
        add_channel(x: &Tensor, b: &Tensor, y: &Tensor, outer: usize, channels: usize, inner: usize);
        // u8 frames [n, h, w, 3] → normalised float [n, 3, h, w]: (x/255 − mean[c]) / std[c]
        normalize_frames(x: &Tensor, y: &Tensor, norm: &Normalization);
        // ---- matrix products ------------------------------------------------------------------------
        // y[b] = op(a[b]) · op(w[b]) for `batch` matrices; op transposes when the flag is set;
        // a is [m, k] after op, w is [k, n] after op; `beta` 0 overwrites y, 1 accumulates.
        matmul(a: &Tensor, w: &Tensor, y: &Tensor, batch: usize, m: usize, k: usize, n: usize, trans_a: bool, trans_w: bool, beta: f64);
        // ---- convolution (NCHW; 1-D convs are H = 1) -----------------------------------------------------
        conv2d_fwd(g: &ConvGeom, x: &Tensor, w: &Tensor, y: &Tensor, workspace: &Tensor);
        conv2d_bwd_data(g: &ConvGeom, dy: &Tensor, w: &Tensor, dx: &Tensor, workspace: &Tensor);
        conv2d_bwd_weight(g: &ConvGeom, x: &Tensor, dy: &Tensor, dw: &Tensor, workspace: &Tensor);
        // ---- batch norm over (N, H, W) per channel; x viewed [n, c, hw] --------------------------------
        // writes y and the batch mean and biased variance per channel
        bn_fwd_train(x: &Tensor, gamma: &Tensor, beta: &Tensor, y: &Tensor, mean: &Tensor, var: &Tensor, n: usize, c: usize, hw: usize, eps: f64);
        // y = (x − mean)/sqrt(var + eps)·gamma + beta with given statistics
        bn_fwd_stats(x: &Tensor, gamma: &Tensor, beta: &Tensor, y: &Tensor, mean: &Tensor, var: &Tensor, n: usize, c: usize, hw: usize, eps: f64);
        // batch-statistics backward: writes dx, dgamma, dbeta
        bn_bwd_train(x: &Tensor, dy: &Tensor, gamma: &Tensor, mean: &Tensor, var: &Tensor, dx: &Tensor, dgamma: &Tensor, dbeta: &Tensor, n: usize, c: usize, hw: usize, eps: f64);
        // fixed-statistics backward: writes dx, dgamma, dbeta
        bn_bwd_stats(x: &Tensor, dy: &Tensor, gamma: &Tensor, mean: &Tensor, var: &Tensor, dx: &Tensor, dgamma: &Tensor, dbeta: &Tensor, n: usize, c: usize, hw: usize, eps: f64);
        // running = (1 − momentum)·running + momentum·batch, the variance made unbiased with count
        bn_update_running(mean: &Tensor, var: &Tensor, running_mean: &Tensor, running_var: &Tensor, count: usize, momentum: f64);
        // ---- pooling ------------------------------------------------------------------------------------
        // argmax (i64) holds the flat h·W + w of the first maximum in each input plane
        maxpool2d_fwd(g: &PoolGeom, x: &Tensor, y: &Tensor, argmax: &Tensor);
        maxpool2d_bwd(g: &PoolGeom, dy: &Tensor, argmax: &Tensor, dx: &Tensor);
        // ---- temporal shift (SPEC §a) --------------------------------------------------------------------
        shift_fwd(g: &ShiftGeom, x: &Tensor, y: &Tensor);
        shift_bwd(g: &ShiftGeom, dy: &Tensor, dx: &Tensor);
        // ---- graphs (G-TAD kNN, SPEC §b); x is [B, C, L] ------------------------------------------------
        // score[b, i, j] = (2·gram[b, i, j] − sq[b, j]) − sq[b, i] with sq = Σ_c x², G-TAD's evaluation
        // of −‖x_i − x_j‖²; gram [B, L, L] = xᵀx per sample
        knn_score(x: &Tensor, gram: &Tensor, score: &Tensor);
        // idx (i64) [B, L, k]: the k largest scores of each row, descending, lower index first on ties
        knn_topk(score: &Tensor, idx: &Tensor, k: usize);
        // with_self (style 1): y [B, 2C, L, k] = [x[b, c, idx[b, i, n]]; x[b, c, i]];
        // otherwise (style 2): y [B, C, L, k] = x[b, c, idx[b, i, n]]
        graph_gather_fwd(x: &Tensor, idx: &Tensor, y: &Tensor, with_self: bool);
        // dx [B, C, L]: the adjoint of graph_gather_fwd (neighbour and self parts summed)
        graph_gather_bwd(dy: &Tensor, idx: &Tensor, dx: &Tensor, with_self: bool);
        // x viewed [rows, k]: y[r] = max_n x[r, n], argmax (i64) = the first maximum
        max_lastdim_fwd(x: &Tensor, y: &Tensor, argmax: &Tensor, k: usize);
        // dx[r, argmax[r]] = dy[r], zero elsewhere
        max_lastdim_bwd(dy: &Tensor, argmax: &Tensor, dx: &Tensor, k: usize);
        // ---- Align1D (RoIAlign-1D with adaptive sampling, SPEC §b.5) -----------------------------------
        // x [B, C, L], rois [R, 3] rows (batch, start, end) in x's dtype, y [R, C, bins]
        align1d_fwd(x: &Tensor, rois: &Tensor, y: &Tensor, bins: usize);
        // dx [B, C, L] (overwritten): each sample scatters dy·w/grid to both of its taps
        align1d_bwd(dy: &Tensor, rois: &Tensor, dx: &Tensor, bins: usize);
        // ---- losses --------------------------------------------------------------------------------------
        // mean softmax cross-entropy of logits [n, k] against i64 targets; writes loss [1] and the
        // softmax probabilities (saved for backward)
        softmax_xent_fwd(logits: &Tensor, target: &Tensor, loss: &Tensor, probs: &Tensor);
        // dlogits = (probs − onehot) · dloss / n
        softmax_xent_bwd(probs: &Tensor, target: &Tensor, dloss: &Tensor, dlogits: &Tensor);
        // loss = −mean(w1·t·log(p + eps) + w0·(1 − t)·log(1 − p + eps)) with t ∈ {0, 1} (f32/f64)
        weighted_bce_fwd(p: &Tensor, t: &Tensor, loss: &Tensor, w1: f64, w0: f64, eps: f64);
        weighted_bce_bwd(p: &Tensor, t: &Tensor, dloss: &Tensor, dp: &Tensor, w1: f64, w0: f64, eps: f64);
        // ---- optimizers (in place on param and state) ---------------------------------------------------
        sgd_step(param: &Tensor, grad: &Tensor, momentum_buf: Option<&Tensor>, o: &SgdStep);
        adam_step(param: &Tensor, grad: &Tensor, exp_avg: &Tensor, exp_avg_sq: &Tensor, o: &AdamStep);
    }
}

/// Elements of the scatter-add's i64 workspace for `n` destination rows and `m` indices: bucket
/// ends, the ordered indices and a bad-index flag (the CUDA plan's layout; the CPU ignores it).
pub fn scatter_workspace_len(n: usize, m: usize) -> Result<usize> {
    n.checked_add(m)
        .and_then(|x| x.checked_add(1))
        .ok_or_else(|| Error::shape("scatter_add_axis", format!("n = {n}, m = {m} overflow")))
}

/// The backend that runs kernels for `device`, or `None` on Meta (nothing to compute).
pub fn for_device(device: &Device) -> Result<Option<&'static dyn Backend>> {
    match device.kind() {
        DeviceKind::Cpu => Ok(Some(&cpu::CpuBackend)),
        DeviceKind::Cuda(_) => Ok(Some(cuda::backend())),
        DeviceKind::Meta => Ok(None),
    }
}

/// Runs `kernel` on the backend of `device`; does nothing on Meta.
pub fn launch<K: FnOnce(&dyn Backend) -> Result<()>>(device: &Device, kernel: K) -> Result<()> {
    match for_device(device)? {
        Some(b) if crate::tensor::kernel_times::is_on() => {
            let started = std::time::Instant::now();
            let r = kernel(b);
            crate::tensor::kernel_times::record(std::any::type_name::<K>(), started.elapsed());
            r
        }
        Some(b) => kernel(b),
        None => Ok(()),
    }
}
