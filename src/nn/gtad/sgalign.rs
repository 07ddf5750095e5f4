//! SGAlign (SPEC §b.4, official `GraphAlign` with goi_style 1): for every anchor (s, d) of a
//! sample, the inner feature Align1D(g, roi, inner_bins) and the context feature
//! Align1D(ctx, roi, context_bins), where ctx is the mean of g over each node's k nearest
//! neighbours (kNN recomputed on g, style 2). Bins are concatenated per channel (channel index
//! c·(inner + context) + bin) and laid out as the 2-D map (B, C·bins, D, L) indexed [d, s].
//!
//! Anchors: s outer, d inner; roi = [s − 0.5(d+1), s + d + 0.5(d+1)] when s + d < L, else [0, 0]
//! (masked by the loss). Reference quirk (SPEC §j.8, kept): the roi ends at s + d, where OpenTAD's
//! variant ends one unit later. No parameters; D = L.

use crate::autograd::Var;
use crate::ops::graph::{self, GraphStyle};
use crate::ops::{align, shape};
use crate::tensor::{Device, Tensor};
use crate::{Error, Result};

/// G-TAD's expand ratio: the roi reaches half the proposal's length beyond each end.
const EXPAND_RATIO: f64 = 0.5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SgAlign {
    /// Neighbours of the context graph (3).
    pub k: usize,
    /// Bins sampled inside each roi (32).
    pub inner_bins: usize,
    /// Bins sampled on the neighbour-mean context (4).
    pub context_bins: usize,
}

/// The official anchor table (B·L·D, 3) of rows [b, start, end], b outer, s, then d innermost.
pub fn anchors(batch: usize, l: usize) -> Vec<[f64; 3]> {
    let mut rows = Vec::with_capacity(batch * l * l);
    for b in 0..batch {
        for s in 0..l {
            for d in 0..l {
                rows.push(if s + d < l {
                    let center_len = d as f64 + 1.0;
                    [b as f64, s as f64 - center_len * EXPAND_RATIO, (s + d) as f64 + center_len * EXPAND_RATIO]
                } else {
                    [b as f64, 0.0, 0.0]
                });
            }
        }
    }
    rows
}

impl SgAlign {
    /// Channels of the output map for `channels` input channels.
    pub fn out_channels(&self, channels: usize) -> usize {
        channels * (self.inner_bins + self.context_bins)
    }

    /// The map (B, C·(inner + context), L, L) of g [B, C, L]; also the context kNN indices.
    pub fn forward(&self, g: &Var) -> Result<(Var, Tensor)> {
        let [b, c, l] = g.tensor().shape().dims_n::<3>("sgalign")?;
        let (rows, idx) = self.forward_rows(g)?;
        // (B·L·D, C·bins) → (B, L_s, D, C·bins) → (B, C·bins, D, L_s)
        let feat = shape::reshape(&rows, [b, l, l, self.out_channels(c)])?;
        Ok((shape::permute(&feat, &[0, 3, 2, 1])?, idx))
    }

    /// The same features as rows (B·L·D, C·(inner + context)), one per anchor in the anchor
    /// table's order (b, then s, then d): the layout a 1×1 conv over the map multiplies directly,
    /// without first moving the whole map into channel-major order.
    pub fn forward_rows(&self, g: &Var) -> Result<(Var, Tensor)> {
        let [b, c, l] = g.tensor().shape().dims_n::<3>("sgalign")?;
        let (inner, context, idx) = self.forward_parts(g)?;
        let feat = shape::concat(&[&inner, &context], 2)?;
        Ok((shape::reshape(&feat, [b * l * l, self.out_channels(c)])?, idx))
    }

    /// The inner (B·L·D, C, inner) and context (B·L·D, C, context) features apart, before the
    /// per-channel concatenation of `forward_rows`: a product with the rows can take the two
    /// parts with the matching columns of its weight and skip the concatenation (and its
    /// backward) of the widest tensor of the head.
    pub fn forward_parts(&self, g: &Var) -> Result<(Var, Var, Tensor)> {
        let [b, _, l] = g.tensor().shape().dims_n::<3>("sgalign")?;
        if self.inner_bins == 0 || self.context_bins == 0 {
            return Err(Error::Config { flag: "sgalign".into(), msg: format!("bins must be positive: {self:?}") });
        }
        let rois = anchor_tensor(b, l, g.tensor())?;
        let idx = graph::knn(g.tensor(), self.k)?;
        let inner = align::align1d(g, &rois, self.inner_bins)?;
        // Scoped so the neighbour mean is freed once aligned: at L = 100 each full-size
        // intermediate here is ~350 MiB per sample (docs/memory.md).
        let context = {
            let ctx = shape::mean_axis(&graph::graph_feature(g, &idx, GraphStyle::Neighbours)?, 3)?;
            align::align1d(&ctx, &rois, self.context_bins)?
        };
        Ok((inner, context, idx))
    }
}

/// The anchors as a tensor of `like`'s dtype on its device.
fn anchor_tensor(batch: usize, l: usize, like: &Tensor) -> Result<Tensor> {
    let flat: Vec<f64> = anchors(batch, l).into_iter().flatten().collect();
    let host = Tensor::from_vec(flat, [batch * l * l, 3], &Device::cpu())?;
    shape::cast_fwd(&host, like.dtype())?.to_device(like.device())
}
