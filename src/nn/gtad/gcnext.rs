//! GCNeXt (SPEC §b, official `GCNeXt`): a ResNeXt-style block over two graphs of the L snippets.
//!
//! - Temporal stream `tconvs`: Conv1d(c_in→w, 1) → ReLU → Conv1d(w→w, 3, pad 1, groups) → ReLU →
//!   Conv1d(w→c_out, 1), w = width_group·groups (4·32 = 128, hard-wired in G-TAD).
//! - Semantic stream `sconvs`: kNN (self included) on the block input, style-1 graph feature
//!   [neighbour; self] → Conv2d(2c_in→w, 1×1) → ReLU → Conv2d(w→w, 1×1, groups) → ReLU →
//!   Conv2d(w→c_out, 1×1), then the max over the k neighbours.
//! - Output ReLU(temporal + input + semantic). Every conv has a bias; no BN, no dropout.
//!
//! Parameter names follow the official `nn.Sequential` indices (`tconvs.0`, `tconvs.2`,
//! `tconvs.4`, `sconvs.0`, …), so G-TAD checkpoints load by name.

use crate::autograd::Var;
use crate::nn::builder::Builder;
use crate::nn::layers::{Conv1d, Conv2d, Module};
use crate::nn::param::Param;
use crate::ops::conv::Conv2dOpts;
use crate::ops::elementwise::{add, relu};
use crate::ops::graph::{self, GraphStyle};
use crate::tensor::Tensor;
use crate::{Error, Result};

/// Widths of one GCNeXt block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GcnextConfig {
    /// Input and output channels (G-TAD uses the same for both: the residual needs it).
    pub channels: usize,
    /// Neighbours of the semantic graph (3).
    pub k: usize,
    /// Groups of the grouped convs (32).
    pub groups: usize,
    /// Channels per group (4): the inner width is groups·width_group.
    pub width_group: usize,
}

impl GcnextConfig {
    pub fn width(&self) -> usize {
        self.groups * self.width_group
    }
    /// Number of learnable parameters (weights and biases of the six convs).
    pub fn param_count(&self) -> usize {
        let (c, w) = (self.channels, self.width());
        let t = (c * w + w) + (w * self.width_group * 3 + w) + (w * c + c);
        let s = (2 * c * w + w) + (w * self.width_group + w) + (w * c + c);
        t + s
    }
    fn validate(&self) -> Result<()> {
        if self.channels == 0 || self.k == 0 || self.groups == 0 || self.width_group == 0 {
            return Err(Error::Config {
                flag: "gcnext".into(),
                msg: format!("channels, k, groups and width per group must be positive: {self:?}"),
            });
        }
        Ok(())
    }
}

#[derive(Clone)]
pub struct Gcnext {
    cfg: GcnextConfig,
    tconvs: [Conv1d; 3],
    sconvs: [Conv2d; 3],
}

impl Gcnext {
    pub fn new(b: &Builder, cfg: GcnextConfig) -> Result<Gcnext> {
        cfg.validate()?;
        let (c, w, g) = (cfg.channels, cfg.width(), cfg.groups);
        let t = b.pp("tconvs");
        let s = b.pp("sconvs");
        let one = |groups| Conv2dOpts::new(1, 0, groups);
        Ok(Gcnext {
            cfg,
            tconvs: [
                Conv1d::new(&t.pp(0), c, w, 1, 1, 0, 1, true)?,
                Conv1d::new(&t.pp(2), w, w, 3, 1, 1, g, true)?,
                Conv1d::new(&t.pp(4), w, c, 1, 1, 0, 1, true)?,
            ],
            sconvs: [
                Conv2d::new(&s.pp(0), 2 * c, w, 1, one(1), true, None)?,
                Conv2d::new(&s.pp(2), w, w, 1, one(g), true, None)?,
                Conv2d::new(&s.pp(4), w, c, 1, one(1), true, None)?,
            ],
        })
    }

    pub fn config(&self) -> &GcnextConfig {
        &self.cfg
    }

    /// The block on x [B, C, L]; also returns the kNN indices [B, L, k] it used.
    pub fn forward(&self, x: &Var) -> Result<(Var, Tensor)> {
        let [t0, t1, t2] = &self.tconvs;
        let tout = t2.forward(&relu(&t1.forward(&relu(&t0.forward(x)?)?)?)?)?;
        let idx = graph::knn(x.tensor(), self.cfg.k)?;
        let feature = graph::graph_feature(x, &idx, GraphStyle::NeighbourSelf)?;
        let [s0, s1, s2] = &self.sconvs;
        let sout = s2.forward(&relu(&s1.forward(&relu(&s0.forward(&feature)?)?)?)?)?;
        let sout = graph::max_lastdim(&sout)?;
        Ok((relu(&add(&add(&tout, x)?, &sout)?)?, idx))
    }
}

impl Module for Gcnext {
    fn params(&self) -> Vec<Param> {
        let t = self.tconvs.iter().flat_map(Module::params);
        t.chain(self.sconvs.iter().flat_map(Module::params)).collect()
    }
}
