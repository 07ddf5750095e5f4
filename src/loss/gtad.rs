//! G-TAD's loss (SPEC §d, official `gtad_lib/loss_function.py`): total = TEM + 10·PEM-reg +
//! PEM-cls, every count taken over the whole batch, ε = 1e-6.
//!
//! - TEM, per boundary: P = [g > 0.5], r = N/n+, weighted BCE with c1 = 0.5r, c0 = 0.5r/(r − 1).
//! - PEM regression on G = IoU ⊙ mask: buckets H = [G > 0.7], M = [0.3 < G ≤ 0.7],
//!   Lo = [0 < G ≤ 0.3] ⊙ mask (G = 0 is excluded); sm = [M·u_m > 1 − n_H/n_M],
//!   sl = [Lo·u_l > 1 − n_H/n_Lo]; w = H + sm + sl; L = 0.5·Σ(w·p − w·G)²/Σw.
//! - PEM classification: P = [G > 0.9], Nn = [G ≤ 0.9] ⊙ mask, weighted BCE over P ∪ Nn with
//!   r = (n_P + n_Nn)/n_P.
//!
//! Thresholds, counts, ratios and the sampling compare in f32 with IEEE semantics, as the reference
//! does on its f32 tensors (golden README items 3–4): `G > 0.3` means `G > 0.3f32`.
//! Reference quirk (kept, golden `gtad_loss_ratio_gt1`): when n_H > n_M the threshold is negative
//! and every entry is selected, masked ones included, so w reaches 3 and enters squared.
//! Guards (lofi's, SPEC §d), used only where the reference formula is not finite: TEM with n+ = 0
//! or n+ = N and PEM-cls with n_P = 0 or n_Nn = 0 fall back to the plain (masked) BCE mean; PEM-reg
//! with Σw = 0 falls back to 0.5·Σ mask·(p − G)²/Σ mask.
//! Built from differentiable ops (slice, gather, mul, weighted BCE, mean), so it runs on every
//! device, Meta included; the targets are host data and only their derived constants are uploaded.

use super::constant;
use crate::autograd::Var;
use crate::ops::elementwise::{add, mul, scale, sub};
use crate::ops::loss::weighted_bce;
use crate::ops::shape;
use crate::rng::Rng;
use crate::tensor::Tensor;
use crate::{Error, Result};

/// Targets of a batch at L snippets (D = L), host f32 as the label code stores them.
#[derive(Debug, Clone, PartialEq)]
pub struct GtadTargets {
    pub batch: usize,
    pub snippets: usize,
    /// [B, D, L] indexed [b, d, s], unmasked.
    pub iou_map: Vec<f32>,
    /// [B, L] each.
    pub start: Vec<f32>,
    pub end: Vec<f32>,
}

impl GtadTargets {
    pub fn new(batch: usize, snippets: usize, iou_map: Vec<f32>, start: Vec<f32>, end: Vec<f32>) -> Result<Self> {
        let (b, l) = (batch, snippets);
        if b == 0 || l == 0 || iou_map.len() != b * l * l || start.len() != b * l || end.len() != b * l {
            return Err(Error::shape(
                "gtad_loss",
                format!(
                    "targets for B = {b}, L = {l}: {} IoU values, {} starts, {} ends",
                    iou_map.len(),
                    start.len(),
                    end.len()
                ),
            ));
        }
        Ok(GtadTargets { batch, snippets, iou_map, start, end })
    }

    /// The official `get_mask(L)` repeated over the batch: 1 where s + d ≤ L − 1.
    pub fn mask(&self) -> Vec<f32> {
        let l = self.snippets;
        (0..self.batch * l * l).map(|i| if (i % l) + (i / l) % l < l { 1.0 } else { 0.0 }).collect()
    }
}

/// The uniform draws of the PEM-regression sampling, [B, D, L] each, f32.
#[derive(Debug, Clone, PartialEq)]
pub struct RegDraws {
    pub u_m: Vec<f32>,
    pub u_l: Vec<f32>,
}

impl RegDraws {
    /// `n` draws for the M bucket, then `n` for Lo (the reference's two `np.random.rand` calls).
    pub fn sample(rng: &mut Rng, n: usize) -> RegDraws {
        let mut draw = || (0..n).map(|_| rng.uniform() as f32).collect::<Vec<f32>>();
        let u_m = draw();
        RegDraws { u_m, u_l: draw() }
    }
}

/// The loss and its parts, each [1].
pub struct GtadLoss {
    pub total: Var,
    pub tem: Var,
    pub reg: Var,
    pub cls: Var,
    /// The regression weights [B, D, L] the loss used (host f32): w, or the mask under the guard.
    pub reg_weights: Vec<f32>,
}

/// G-TAD's loss of (map [B, 2, D, L], start [B, L], end [B, L]) against `targets`.
pub fn gtad_loss(map: &Var, start: &Var, end: &Var, targets: &GtadTargets, draws: &RegDraws) -> Result<GtadLoss> {
    let (b, l) = (targets.batch, targets.snippets);
    let n = b * l * l;
    if map.dims() != [b, 2, l, l] || start.dims() != [b, l] || end.dims() != [b, l] {
        return Err(Error::shape(
            "gtad_loss",
            format!("predictions {:?}, {:?}, {:?} for B = {b}, L = {l}", map.dims(), start.dims(), end.dims()),
        ));
    }
    if draws.u_m.len() != n || draws.u_l.len() != n {
        return Err(Error::shape(
            "gtad_loss",
            format!("{} / {} draws for {n} map entries", draws.u_m.len(), draws.u_l.len()),
        ));
    }
    let mask = targets.mask();
    let g: Vec<f32> = targets.iou_map.iter().zip(&mask).map(|(v, m)| v * m).collect();
    let channel = |ch| shape::reshape(&shape::slice(map, 1, ch, 1)?, [n]);
    let (reg, reg_weights) = pem_reg_loss(&channel(0)?, &g, &mask, draws)?;
    let cls = pem_cls_loss(&channel(1)?, &g, &mask)?;
    let tem = add(&tem_loss(start, &targets.start)?, &tem_loss(end, &targets.end)?)?;
    let total = add(&add(&tem, &scale(&reg, 10.0)?)?, &cls)?;
    Ok(GtadLoss { total, tem, reg, cls, reg_weights })
}

/// Weighted BCE of positives `pos` (0/1) with the reference's balancing, or the plain BCE mean
/// when one class is empty (the guard: the reference's coefficients are then inf or NaN).
fn balanced_bce(p: &Var, pos: Vec<f32>) -> Result<Var> {
    let count = pos.len();
    let n_pos = pos.iter().filter(|&&v| v > 0.0).count();
    let t = constant(&pos, [count], p.tensor())?;
    if n_pos == 0 || n_pos == count {
        return weighted_bce(p, &t, 1.0, 1.0);
    }
    let r = count as f64 / n_pos as f64;
    weighted_bce(p, &t, 0.5 * r, 0.5 * r / (r - 1.0))
}

/// TEM loss of one boundary: predictions [B, L] against targets g (host, same length).
pub fn tem_loss(p: &Var, g: &[f32]) -> Result<Var> {
    if p.tensor().numel() != g.len() || g.is_empty() {
        return Err(Error::shape("tem_loss", format!("{} targets for predictions {:?}", g.len(), p.dims())));
    }
    // `g > 0.5` is strict: exact 0.5 targets are negatives (golden README item 5).
    let pos = g.iter().map(|&v| if v > 0.5f32 { 1.0 } else { 0.0 }).collect();
    balanced_bce(&shape::reshape(p, [g.len()])?, pos)
}

/// PEM regression loss of p [N] against the masked G; returns the loss and the weights it used
/// (w, or the mask under the Σw = 0 guard).
pub fn pem_reg_loss(p: &Var, g: &[f32], mask: &[f32], draws: &RegDraws) -> Result<(Var, Vec<f32>)> {
    let n = g.len();
    if p.tensor().numel() != n || mask.len() != n || draws.u_m.len() != n || draws.u_l.len() != n {
        return Err(Error::shape("pem_reg_loss", format!("{n} targets for {} predictions", p.tensor().numel())));
    }
    let ind = |c: bool| if c { 1.0f32 } else { 0.0 };
    let h: Vec<f32> = g.iter().map(|&v| ind(v > 0.7f32)).collect();
    let m: Vec<f32> = g.iter().map(|&v| ind(v <= 0.7f32 && v > 0.3f32)).collect();
    let lo: Vec<f32> = g.iter().zip(mask).map(|(&v, &k)| ind(v <= 0.3f32 && v > 0.0) * k).collect();
    let (n_h, n_m, n_l): (f32, f32, f32) = (h.iter().sum(), m.iter().sum(), lo.iter().sum());
    // f32 ratios: n_M = 0 gives +inf (every entry selected) or NaN when n_H = 0 too (none).
    let (thr_m, thr_l) = (1.0f32 - n_h / n_m, 1.0f32 - n_h / n_l);
    let w: Vec<f32> =
        (0..n).map(|i| h[i] + ind(m[i] * draws.u_m[i] > thr_m) + ind(lo[i] * draws.u_l[i] > thr_l)).collect();
    let sum_w: f32 = w.iter().sum();
    // Guard: with Σw = 0 the reference divides 0 by 0; a plain masked MSE keeps training defined
    // (mask is 0/1, so w = mask gives Σ mask·(p − G)² / Σ mask).
    let (weights, denom) = if sum_w > 0.0 { (w, sum_w) } else { (mask.to_vec(), mask.iter().sum()) };
    let wg: Vec<f32> = weights.iter().zip(g).map(|(a, b)| a * b).collect();
    let like = p.tensor();
    let diff =
        sub(&mul(p, &Var::constant(constant(&weights, [n], like)?))?, &Var::constant(constant(&wg, [n], like)?))?;
    let loss = scale(&sum_all(&mul(&diff, &diff)?)?, 0.5 / denom as f64)?;
    Ok((loss, weights))
}

/// PEM classification loss of p [N] against the masked G.
pub fn pem_cls_loss(p: &Var, g: &[f32], mask: &[f32]) -> Result<Var> {
    let n = g.len();
    if p.tensor().numel() != n || mask.len() != n {
        return Err(Error::shape("pem_cls_loss", format!("{n} targets for {} predictions", p.tensor().numel())));
    }
    // P ⊆ mask because G is masked, so P ∪ Nn is exactly the masked entries: gather them and
    // average over their count N = n_P + n_Nn.
    let valid: Vec<i64> = (0..n).filter(|&i| mask[i] > 0.0).map(|i| i as i64).collect();
    let pos = valid.iter().map(|&i| if g[i as usize] > 0.9f32 { 1.0 } else { 0.0 }).collect();
    let idx = Tensor::from_vec(valid.clone(), [valid.len()], p.tensor().device())?;
    balanced_bce(&shape::gather(p, 0, &idx)?, pos)
}

/// Σ of all elements as a [1] value.
fn sum_all(x: &Var) -> Result<Var> {
    let n = x.tensor().numel();
    scale(&shape::mean_axis(&shape::reshape(x, [1, n])?, 1)?, n as f64)
}
