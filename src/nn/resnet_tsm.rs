//! The TSM-ResNet video encoder (SPEC §a): a torchvision ResNet whose residual blocks shift 1/8 of
//! the channels one frame forward and 1/8 back before `conv1`, on the residual branch only
//! ("blockres"; the identity/downsample path sees the unshifted x). Frames come as (N·T, C, H, W)
//! with T frames per snippet; a frame's feature is the global-average-pooled last stage, and the
//! snippet feature is the mean over its T frames. No fc: lofi uses the encoder for features.
//!
//! Presets: `resnet18`, `resnet50` (torchvision topology, ImageNet normalisation, T = 8) and
//! `synthetic-tiny` (SYNTHETIC.md §3). Parameter names match torchvision (`layer1.0.bn1.weight`).

use super::builder::{Builder, Init};
use super::layers::{BatchNorm2d, Conv2d, Module};
use super::param::Param;
use crate::autograd::{recompute, Var};
use crate::normalization::Normalization;
use crate::ops::conv::Conv2dOpts;
use crate::ops::norm::BnMode;
use crate::ops::{elementwise, pool, shape, shift};
use crate::tensor::{DType, Tensor};
use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlockKind {
    Basic,
    Bottleneck,
}

impl BlockKind {
    fn expansion(self) -> usize {
        match self {
            BlockKind::Basic => 1,
            BlockKind::Bottleneck => 4,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stem {
    /// 7×7 stride 2 + BN + ReLU + 3×3 stride-2 max pool (torchvision).
    Imagenet,
    /// 3×3 stride 1 + BN + ReLU, no pool (small frames).
    Small,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ResNetTsmConfig {
    pub block: BlockKind,
    pub blocks_per_stage: Vec<usize>,
    /// Stem output channels.
    pub stem_width: usize,
    /// Base width of each stage (output is width · expansion).
    pub widths: Vec<usize>,
    pub stage_strides: Vec<usize>,
    pub stem: Stem,
    /// Frames per snippet T: the temporal shift never crosses a group of T frames.
    pub frames: usize,
    pub norm: Normalization,
    pub bn_mode: BnMode,
}

impl ResNetTsmConfig {
    pub fn resnet18() -> Self {
        ResNetTsmConfig {
            block: BlockKind::Basic,
            blocks_per_stage: vec![2, 2, 2, 2],
            stem_width: 64,
            widths: vec![64, 128, 256, 512],
            stage_strides: vec![1, 2, 2, 2],
            stem: Stem::Imagenet,
            frames: 8,
            norm: Normalization::IMAGENET,
            bn_mode: BnMode::Train,
        }
    }
    pub fn resnet50() -> Self {
        ResNetTsmConfig { block: BlockKind::Bottleneck, blocks_per_stage: vec![3, 4, 6, 3], ..Self::resnet18() }
    }
    /// SYNTHETIC.md §3: widths 8/16/32/64, one block per stage, each stride 2, 3×3 stem, T = 4.
    pub fn synthetic_tiny() -> Self {
        ResNetTsmConfig {
            block: BlockKind::Basic,
            blocks_per_stage: vec![1, 1, 1, 1],
            stem_width: 8,
            widths: vec![8, 16, 32, 64],
            stage_strides: vec![2, 2, 2, 2],
            stem: Stem::Small,
            frames: 4,
            norm: Normalization::SYNTHETIC,
            bn_mode: BnMode::Train,
        }
    }
    pub fn preset(name: &str) -> Result<Self> {
        match name {
            "resnet18" => Ok(Self::resnet18()),
            "resnet50" => Ok(Self::resnet50()),
            "synthetic-tiny" => Ok(Self::synthetic_tiny()),
            other => Err(Error::Config {
                flag: "--encoder".into(),
                msg: format!("unknown preset '{other}' (resnet18, resnet50, synthetic-tiny)"),
            }),
        }
    }
    /// Channels of the snippet feature.
    pub fn feature_dim(&self) -> usize {
        self.widths.last().copied().unwrap_or(self.stem_width) * self.block.expansion()
    }
    fn validate(&self) -> Result<()> {
        let n = self.blocks_per_stage.len();
        let bad = |msg: String| Err(Error::Config { flag: "encoder".into(), msg });
        if n == 0 || self.widths.len() != n || self.stage_strides.len() != n {
            return bad(format!("{n} stages need as many widths and strides"));
        }
        if self.frames == 0 || self.stem_width == 0 || self.widths.contains(&0) || self.stage_strides.contains(&0) {
            return bad("frames, widths and strides must be positive".into());
        }
        Ok(())
    }
}

/// He-normal, fan_out, as torchvision initialises ResNet convs.
fn he_fan_out(c_out: usize, k: usize) -> Init {
    Init::Normal((2.0 / (c_out * k * k) as f64).sqrt())
}

/// One residual block (BasicBlock or Bottleneck) with the temporal shift on its residual branch.
#[derive(Clone)]
pub struct ResidualBlock {
    convs: Vec<Conv2d>,
    bns: Vec<BatchNorm2d>,
    downsample: Option<(Conv2d, BatchNorm2d)>,
    frames: usize,
}

impl ResidualBlock {
    /// A block of `kind` from `c_in` channels to `width·expansion`; `cfg` gives T and the BN mode.
    pub fn new(
        b: &Builder,
        kind: BlockKind,
        c_in: usize,
        width: usize,
        stride: usize,
        cfg: &ResNetTsmConfig,
    ) -> Result<ResidualBlock> {
        let out = width * kind.expansion();
        // (in, out, kernel, stride) of each conv; torchvision v1.5 puts the stride on the 3×3.
        let plan: Vec<(usize, usize, usize, usize)> = match kind {
            BlockKind::Basic => vec![(c_in, width, 3, stride), (width, width, 3, 1)],
            BlockKind::Bottleneck => vec![(c_in, width, 1, 1), (width, width, 3, stride), (width, out, 1, 1)],
        };
        let mut convs = Vec::new();
        let mut bns = Vec::new();
        for (i, &(ci, co, k, s)) in plan.iter().enumerate() {
            let opts = Conv2dOpts::new(s, k / 2, 1);
            convs.push(Conv2d::new(&b.pp(format!("conv{}", i + 1)), ci, co, k, opts, false, Some(he_fan_out(co, k)))?);
            bns.push(BatchNorm2d::new(&b.pp(format!("bn{}", i + 1)), co, cfg.bn_mode)?);
        }
        let downsample = if stride != 1 || c_in != out {
            let d = b.pp("downsample");
            let conv =
                Conv2d::new(&d.pp(0), c_in, out, 1, Conv2dOpts::new(stride, 0, 1), false, Some(he_fan_out(out, 1)))?;
            Some((conv, BatchNorm2d::new(&d.pp(1), out, cfg.bn_mode)?))
        } else {
            None
        };
        Ok(ResidualBlock { convs, bns, downsample, frames: cfg.frames })
    }

    pub fn forward(&self, x: &Var) -> Result<Var> {
        // blockres: only the residual branch sees the shifted input
        let mut h = shift::temporal_shift(x, self.frames)?;
        let last = self.convs.len() - 1;
        for (i, (conv, bn)) in self.convs.iter().zip(&self.bns).enumerate() {
            h = bn.forward(&conv.forward(&h)?)?;
            if i < last {
                h = elementwise::relu(&h)?;
            }
        }
        let identity = match &self.downsample {
            Some((conv, bn)) => bn.forward(&conv.forward(x)?)?,
            None => x.clone(),
        };
        elementwise::relu(&elementwise::add(&h, &identity)?)
    }

    fn block_params(&self) -> Vec<Param> {
        let mut p = Vec::new();
        for (conv, bn) in self.convs.iter().zip(&self.bns) {
            p.extend(conv.params());
            p.extend(bn.params());
        }
        if let Some((conv, bn)) = &self.downsample {
            p.extend(conv.params());
            p.extend(bn.params());
        }
        p
    }

    fn bns_mut(&mut self) -> impl Iterator<Item = &mut BatchNorm2d> {
        self.bns.iter_mut().chain(self.downsample.iter_mut().map(|(_, bn)| bn))
    }
}

/// Which activations of an encoder call are rebuilt in backward instead of kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Recompute {
    /// Keep every activation.
    None,
    /// Each encoder call is one recompute segment: only its input is kept.
    Chunk,
    /// Each residual stage is a segment: the stages' inputs are kept.
    Stage,
}

/// The encoder. Cloning shares the parameters (cheap), which recompute segments rely on.
#[derive(Clone)]
pub struct ResNetTsm {
    cfg: ResNetTsmConfig,
    conv1: Conv2d,
    bn1: BatchNorm2d,
    stages: Vec<Vec<ResidualBlock>>,
}

impl ResNetTsm {
    pub fn new(b: &Builder, cfg: &ResNetTsmConfig) -> Result<ResNetTsm> {
        cfg.validate()?;
        let (k, s) = match cfg.stem {
            Stem::Imagenet => (7, 2),
            Stem::Small => (3, 1),
        };
        let conv1 = Conv2d::new(
            &b.pp("conv1"),
            3,
            cfg.stem_width,
            k,
            Conv2dOpts::new(s, k / 2, 1),
            false,
            Some(he_fan_out(cfg.stem_width, k)),
        )?;
        let bn1 = BatchNorm2d::new(&b.pp("bn1"), cfg.stem_width, cfg.bn_mode)?;
        let mut c_in = cfg.stem_width;
        let mut stages = Vec::new();
        for (si, ((&n, &width), &stride)) in
            cfg.blocks_per_stage.iter().zip(&cfg.widths).zip(&cfg.stage_strides).enumerate()
        {
            let sb = b.pp(format!("layer{}", si + 1));
            let mut blocks = Vec::new();
            for bi in 0..n {
                blocks.push(ResidualBlock::new(
                    &sb.pp(bi),
                    cfg.block,
                    c_in,
                    width,
                    if bi == 0 { stride } else { 1 },
                    cfg,
                )?);
                c_in = width * cfg.block.expansion();
            }
            stages.push(blocks);
        }
        Ok(ResNetTsm { cfg: cfg.clone(), conv1, bn1, stages })
    }

    pub fn config(&self) -> &ResNetTsmConfig {
        &self.cfg
    }

    /// Sets the BN mode of every layer (train / eval / frozen).
    pub fn set_bn_mode(&mut self, mode: BnMode) {
        self.cfg.bn_mode = mode;
        self.bn1.set_mode(mode);
        for bn in self.stages.iter_mut().flatten().flat_map(ResidualBlock::bns_mut) {
            bn.set_mode(mode);
        }
    }

    /// Per-frame pooled features [N·T, C] of normalised frames x (N·T, 3, H, W).
    pub fn frame_features(&self, x: &Var) -> Result<Var> {
        let mut h = elementwise::relu(&self.bn1.forward(&self.conv1.forward(x)?)?)?;
        if self.cfg.stem == Stem::Imagenet {
            h = pool::maxpool2d(&h, 3, 2, 1)?;
        }
        for block in self.stages.iter().flatten() {
            h = block.forward(&h)?;
        }
        pool::global_avg_pool(&h)
    }

    /// Snippet features [N, C]: the mean of each snippet's T frame features.
    pub fn forward(&self, x: &Var) -> Result<Var> {
        let f = self.frame_features(x)?;
        let (nt, c) = (f.dims()[0], f.dims()[1]);
        let t = self.cfg.frames;
        if nt % t != 0 {
            return Err(Error::shape("resnet_tsm", format!("{nt} frames is not a multiple of T = {t}")));
        }
        shape::mean_axis(&shape::reshape(&f, [nt / t, t, c])?, 1)
    }

    /// `forward` over chunks of `chunk` snippets (an encoder *call* per chunk: BN in train mode
    /// normalises with per-call statistics, as OpenTAD's snippet-chunk checkpointing does), with
    /// activations kept or rebuilt as `policy` says (`Recompute`). Recompute is exact: shifts stay
    /// inside a snippet, so a chunk or a stage re-run in backward gives the same values.
    pub fn forward_chunked(&self, x: &Var, chunk: usize, policy: Recompute) -> Result<Var> {
        let t = self.cfg.frames;
        let frames = x.dims().first().copied().unwrap_or(0);
        let snippets = frames / t.max(1);
        if chunk == 0 {
            return Err(Error::Config { flag: "chunk".into(), msg: "snippets per chunk must be positive".into() });
        }
        let call = |piece: Var| -> Result<Var> {
            match policy {
                Recompute::None => self.forward(&piece),
                Recompute::Chunk => {
                    let me = self.clone();
                    recompute(&[piece], move |xs| me.forward(&xs[0]))
                }
                Recompute::Stage => self.forward_stages_recomputed(&piece),
            }
        };
        if snippets <= chunk {
            return call(x.clone());
        }
        let mut parts = Vec::new();
        for start in (0..snippets).step_by(chunk) {
            let len = chunk.min(snippets - start);
            parts.push(call(shape::slice(x, 0, start * t, len * t)?)?);
        }
        let refs: Vec<&Var> = parts.iter().collect();
        shape::concat(&refs, 0)
    }

    /// `forward` with each residual stage a recompute segment: only the stages' inputs stay alive
    /// between forward and backward.
    fn forward_stages_recomputed(&self, x: &Var) -> Result<Var> {
        let mut h = elementwise::relu(&self.bn1.forward(&self.conv1.forward(x)?)?)?;
        if self.cfg.stem == Stem::Imagenet {
            h = pool::maxpool2d(&h, 3, 2, 1)?;
        }
        for stage in &self.stages {
            let blocks = stage.clone();
            h = recompute(&[h], move |xs| {
                let mut y = xs[0].clone();
                for block in &blocks {
                    y = block.forward(&y)?;
                }
                Ok(y)
            })?;
        }
        let f = pool::global_avg_pool(&h)?;
        let (nt, c) = (f.dims()[0], f.dims()[1]);
        let t = self.cfg.frames;
        if nt % t != 0 {
            return Err(Error::shape("resnet_tsm", format!("{nt} frames is not a multiple of T = {t}")));
        }
        shape::mean_axis(&shape::reshape(&f, [nt / t, t, c])?, 1)
    }

    /// Normalises u8 frames [N·T, H, W, 3] with the preset's statistics into (N·T, 3, H, W).
    pub fn prepare_frames(&self, frames: &Tensor, dtype: DType) -> Result<Var> {
        Ok(Var::constant(elementwise::normalize_frames(frames, &self.cfg.norm, dtype)?))
    }
}

impl Module for ResNetTsm {
    fn params(&self) -> Vec<Param> {
        let mut p = self.conv1.params();
        p.extend(self.bn1.params());
        for block in self.stages.iter().flatten() {
            p.extend(block.block_params());
        }
        p
    }
}

impl Module for ResidualBlock {
    fn params(&self) -> Vec<Param> {
        self.block_params()
    }
}
