//! The G-TAD network (SPEC §b "Network"), every width configurable:
//!
//! 1. `backbone1`: Conv1d(C_in→h1, 3, pad 1, groups 4) → ReLU → GCNeXt: `base` (B, h1, L).
//! 2. `regu_s`, `regu_e`: each its own GCNeXt(base) → Conv1d(h1→1, 1) → Sigmoid: start, end (B, L).
//!    Both read `base`, not backbone2's output.
//! 3. `backbone2`: GCNeXt(base) = g.
//! 4. SGAlign(g) → (B, h1·(inner + context), L, L).
//! 5. `localization`: 1×1 Conv2d h_goi→h3 → ReLU → h3→h2 → ReLU → h2→h2 → ReLU → h2→h2 → ReLU →
//!    h2→2 → Sigmoid: the (B, 2, D, L) map, channel 0 = regression (IoU), channel 1 =
//!    classification, indexed [d, s].
//!
//! Initialisation is PyTorch's default, as in the official code.

use super::gcnext::{Gcnext, GcnextConfig};
use super::sgalign::SgAlign;
use crate::autograd::Var;
use crate::nn::builder::Builder;
use crate::nn::layers::{Conv1d, Conv2d, Module};
use crate::nn::param::Param;
use crate::ops::conv::Conv2dOpts;
use crate::ops::elementwise::{add, relu, sigmoid};
use crate::ops::matmul::linear;
use crate::ops::shape;
use crate::tensor::Tensor;
use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GtadConfig {
    /// Channels of the snippet features (400 CUHK, 512 TSM-R18, 2048 R50 / I3D).
    pub in_channels: usize,
    /// Width of the 1-D graph features (256).
    pub h_dim_1d: usize,
    /// Width of the later 2-D convs (128).
    pub h_dim_2d: usize,
    /// Width of the first 2-D conv's output (512).
    pub h_dim_3d: usize,
    /// Groups of backbone1's first conv (4).
    pub input_groups: usize,
    /// GCNeXt groups and channels per group (32 × 4 = 128).
    pub gcnext_groups: usize,
    pub gcnext_width_group: usize,
    /// Neighbours of every kNN graph (3).
    pub k: usize,
    /// SGAlign bins inside the roi and on the context (32 / 4).
    pub inner_bins: usize,
    pub context_bins: usize,
}

impl GtadConfig {
    /// The official ActivityNet widths for `in_channels` input features.
    pub fn activitynet(in_channels: usize) -> GtadConfig {
        GtadConfig {
            in_channels,
            h_dim_1d: 256,
            h_dim_2d: 128,
            h_dim_3d: 512,
            input_groups: 4,
            gcnext_groups: 32,
            gcnext_width_group: 4,
            k: 3,
            inner_bins: 32,
            context_bins: 4,
        }
    }

    fn gcnext(&self) -> GcnextConfig {
        GcnextConfig {
            channels: self.h_dim_1d,
            k: self.k,
            groups: self.gcnext_groups,
            width_group: self.gcnext_width_group,
        }
    }

    fn sgalign(&self) -> SgAlign {
        SgAlign { k: self.k, inner_bins: self.inner_bins, context_bins: self.context_bins }
    }

    /// Channels entering the localization module (256·36 = 9216 at the official widths).
    pub fn goi_channels(&self) -> usize {
        self.sgalign().out_channels(self.h_dim_1d)
    }

    /// Number of learnable parameters (5,584,772 at the official widths with C_in = 512).
    pub fn param_count(&self) -> usize {
        let (h1, h2, h3) = (self.h_dim_1d, self.h_dim_2d, self.h_dim_3d);
        let conv = |ci: usize, co: usize, k: usize, groups: usize| co * (ci / groups) * k + co;
        let input = conv(self.in_channels, h1, 3, self.input_groups);
        let heads = 2 * conv(h1, 1, 1, 1);
        let loc = conv(self.goi_channels(), h3, 1, 1) + conv(h3, h2, 1, 1) + 2 * conv(h2, h2, 1, 1) + conv(h2, 2, 1, 1);
        input + 4 * self.gcnext().param_count() + heads + loc
    }

    fn validate(&self) -> Result<()> {
        let bad = |msg: String| Err(Error::Config { flag: "gtad".into(), msg });
        let dims = [self.in_channels, self.h_dim_1d, self.h_dim_2d, self.h_dim_3d, self.input_groups];
        if dims.contains(&0) {
            return bad(format!("widths and groups must be positive: {self:?}"));
        }
        if !self.in_channels.is_multiple_of(self.input_groups) || !self.h_dim_1d.is_multiple_of(self.input_groups) {
            return bad(format!(
                "backbone1's conv has {} groups: C_in {} and h_dim_1d {} must be multiples",
                self.input_groups, self.in_channels, self.h_dim_1d
            ));
        }
        Ok(())
    }
}

/// What one forward pass produces.
pub struct GtadOutput {
    /// (B, 2, D, L): channel 0 regression, channel 1 classification.
    pub confidence_map: Var,
    pub start: Var,
    pub end: Var,
    /// backbone1's output (B, h1, L): the snippet features every branch reads (a snippet
    /// classifier attaches here).
    pub base: Var,
    /// kNN indices of the five graph calls in forward order: backbone1, backbone2, regu_s,
    /// regu_e, SGAlign context (golden `gtad_model`).
    pub knn_idx: Vec<Tensor>,
}

/// The G-TAD head. Cloning shares the parameters.
#[derive(Clone)]
pub struct Gtad {
    cfg: GtadConfig,
    input_conv: Conv1d,
    backbone1: Gcnext,
    regu_s: (Gcnext, Conv1d),
    regu_e: (Gcnext, Conv1d),
    backbone2: Gcnext,
    sgalign: SgAlign,
    localization: Vec<Conv2d>,
}

impl Gtad {
    pub fn new(b: &Builder, cfg: &GtadConfig) -> Result<Gtad> {
        cfg.validate()?;
        let (h1, h2, h3) = (cfg.h_dim_1d, cfg.h_dim_2d, cfg.h_dim_3d);
        let g = cfg.gcnext();
        let regu = |name: &str| -> Result<(Gcnext, Conv1d)> {
            let r = b.pp(name);
            Ok((Gcnext::new(&r.pp(0), g)?, Conv1d::new(&r.pp(1), h1, 1, 1, 1, 0, 1, true)?))
        };
        let widths = [(cfg.goi_channels(), h3), (h3, h2), (h2, h2), (h2, h2), (h2, 2)];
        let loc = b.pp("localization");
        let localization = widths
            .iter()
            .enumerate()
            .map(|(i, &(ci, co))| Conv2d::new(&loc.pp(2 * i), ci, co, 1, Conv2dOpts::new(1, 0, 1), true, None))
            .collect::<Result<Vec<_>>>()?;
        Ok(Gtad {
            cfg: *cfg,
            input_conv: Conv1d::new(&b.pp("backbone1").pp(0), cfg.in_channels, h1, 3, 1, 1, cfg.input_groups, true)?,
            backbone1: Gcnext::new(&b.pp("backbone1").pp(2), g)?,
            regu_s: regu("regu_s")?,
            regu_e: regu("regu_e")?,
            backbone2: Gcnext::new(&b.pp("backbone2").pp(0), g)?,
            sgalign: cfg.sgalign(),
            localization,
        })
    }

    pub fn config(&self) -> &GtadConfig {
        &self.cfg
    }

    /// The head on snippet features x (B, C_in, L).
    pub fn forward(&self, x: &Var) -> Result<GtadOutput> {
        let [_, c, l] = x.tensor().shape().dims_n::<3>("gtad")?;
        if c != self.cfg.in_channels || l < self.cfg.k {
            return Err(Error::shape(
                "gtad",
                format!("features {} for C_in {} and k = {}", x.tensor().shape(), self.cfg.in_channels, self.cfg.k),
            ));
        }
        let (base, idx0) = self.backbone1.forward(&relu(&self.input_conv.forward(x)?)?)?;
        let (g, idx1) = self.backbone2.forward(&base)?;
        let boundary = |(block, conv): &(Gcnext, Conv1d)| -> Result<(Var, Tensor)> {
            let (h, idx) = block.forward(&base)?;
            let p = sigmoid(&conv.forward(&h)?)?;
            let (b, l) = (p.dims()[0], p.dims()[2]);
            Ok((shape::reshape(&p, [b, l])?, idx))
        };
        let (start, idx2) = boundary(&self.regu_s)?;
        let (end, idx3) = boundary(&self.regu_e)?;
        let (h, idx4) = self.localization_input(&g)?;
        let mut h = h;
        let last = self.localization.len() - 1;
        for (i, conv) in self.localization.iter().enumerate().skip(1) {
            h = conv.forward(&h)?;
            h = if i < last { relu(&h)? } else { sigmoid(&h)? };
        }
        Ok(GtadOutput { confidence_map: h, start, end, base, knn_idx: vec![idx0, idx1, idx2, idx3, idx4] })
    }
}

impl Gtad {
    /// SGAlign and the first localization conv (with its ReLU), (B, h3, D, L). The 1×1 conv is a
    /// product with the SGAlign rows before the result moves into the map layout: the same
    /// numbers as the conv on the map, without reordering the widest tensor of the head
    /// (C·36 channels at the official widths) forward and backward. The rows come in their inner
    /// and context parts, each multiplied by its columns of the weight (column c·bins + p, p below
    /// or from `inner_bins`), so the concatenation of the two parts is never built.
    fn localization_input(&self, g: &Var) -> Result<(Var, Tensor)> {
        let [b, c, l] = g.tensor().shape().dims_n::<3>("gtad")?;
        let (inner, context, idx) = self.sgalign.forward_parts(g)?;
        let first = &self.localization[0];
        let w = first.weight.var();
        let [o, _, _, _] = w.tensor().shape().dims_n::<4>("localization.0")?;
        let (ib, cb) = (self.sgalign.inner_bins, self.sgalign.context_bins);
        let w = shape::reshape(&w, [o, c, ib + cb])?;
        let w_inner = shape::reshape(&shape::slice(&w, 2, 0, ib)?, [o, c * ib])?;
        let w_context = shape::reshape(&shape::slice(&w, 2, ib, cb)?, [o, c * cb])?;
        let bias = first.bias.as_ref().map(|p| p.var());
        let rows = |part: &Var, bins: usize| shape::reshape(part, [b * l * l, c * bins]);
        let y = add(
            &linear(&rows(&inner, ib)?, &w_inner, None)?,
            &linear(&rows(&context, cb)?, &w_context, bias.as_ref())?,
        )?;
        // (B·L_s·D, h3) → (B, L_s, D, h3) → (B, h3, D, L_s)
        let y = shape::permute(&shape::reshape(&relu(&y)?, [b, l, l, o])?, &[0, 3, 2, 1])?;
        Ok((y, idx))
    }
}

impl Module for Gtad {
    fn params(&self) -> Vec<Param> {
        let mut p = self.input_conv.params();
        p.extend(self.backbone1.params());
        for (block, conv) in [&self.regu_s, &self.regu_e] {
            p.extend(block.params());
            p.extend(conv.params());
        }
        p.extend(self.backbone2.params());
        p.extend(self.localization.iter().flat_map(Module::params));
        p
    }
}
