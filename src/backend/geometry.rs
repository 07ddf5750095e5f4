//! Geometry of the windowed ops, shared by the ops layer (shapes, workspace sizes) and every
//! backend (index arithmetic). Pure arithmetic, no tensors.

use crate::{Error, Result};

/// A 2-D convolution over NCHW input with OIHW weights (`[c_out, c_in/groups, kh, kw]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvGeom {
    pub n: usize,
    pub c_in: usize,
    pub h: usize,
    pub w: usize,
    pub c_out: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: (usize, usize),
    pub pad: (usize, usize),
    pub groups: usize,
    pub ho: usize,
    pub wo: usize,
    /// Images per im2col chunk: fixed by shapes alone (never by thread count), so the workspace
    /// is the same on every device and every machine.
    pub chunk: usize,
}

/// Upper bound of the im2col workspace in elements (64 MiB of f32). Bounded and accounted.
pub const CONV_WORKSPACE_ELEMS: usize = 16 << 20;

impl ConvGeom {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        x: [usize; 4],
        w: [usize; 4],
        stride: (usize, usize),
        pad: (usize, usize),
        groups: usize,
    ) -> Result<ConvGeom> {
        let [n, c_in, h, wd] = x;
        let [c_out, cpg, kh, kw] = w;
        let bad = |m: String| Err(Error::shape("conv2d", m));
        if groups == 0 || c_in % groups != 0 || c_out % groups != 0 {
            return bad(format!("groups {groups} must divide c_in {c_in} and c_out {c_out}"));
        }
        if cpg != c_in / groups {
            return bad(format!("weight has {cpg} input channels per group, input has {c_in}/{groups}"));
        }
        if stride.0 == 0 || stride.1 == 0 || kh == 0 || kw == 0 {
            return bad("stride and kernel size must be positive".into());
        }
        if h + 2 * pad.0 < kh || wd + 2 * pad.1 < kw {
            return bad(format!("kernel {kh}x{kw} larger than padded input {h}x{wd}"));
        }
        let ho = (h + 2 * pad.0 - kh) / stride.0 + 1;
        let wo = (wd + 2 * pad.1 - kw) / stride.1 + 1;
        let per_image = (c_in / groups) * kh * kw * ho * wo;
        let chunk = (CONV_WORKSPACE_ELEMS / per_image.max(1)).clamp(1, n.max(1));
        Ok(ConvGeom { n, c_in, h, w: wd, c_out, kh, kw, stride, pad, groups, ho, wo, chunk })
    }
    /// The same convolution processed `chunk` images at a time (clamped to 1..=n); the result
    /// does not change, only the workspace size.
    pub fn with_chunk(mut self, chunk: usize) -> ConvGeom {
        self.chunk = chunk.clamp(1, self.n.max(1));
        self
    }
    /// Rows of the im2col matrix of one group: (c_in/groups)·kh·kw.
    pub fn col_rows(&self) -> usize {
        (self.c_in / self.groups) * self.kh * self.kw
    }
    /// Output pixels per image.
    pub fn out_pixels(&self) -> usize {
        self.ho * self.wo
    }
    /// A 1×1, stride-1, unpadded convolution: each image is already its own im2col matrix
    /// ([c_in, h·w]), so backends multiply it directly and need no workspace.
    pub fn is_pointwise(&self) -> bool {
        self.kh == 1 && self.kw == 1 && self.stride == (1, 1) && self.pad == (0, 0)
    }
    /// Elements of the workspace the backends need: none for a pointwise conv; otherwise the
    /// im2col matrix of one chunk for one group, [col_rows, chunk·ho·wo], plus an output-shaped
    /// staging buffer [c_out/groups, chunk·ho·wo].
    pub fn workspace_elems(&self) -> usize {
        if self.is_pointwise() {
            return 0;
        }
        (self.col_rows() + self.c_out / self.groups) * self.chunk * self.out_pixels()
    }
}

/// A 2-D max pool (NCHW) with square windows, padding with −∞.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolGeom {
    pub planes: usize,
    pub h: usize,
    pub w: usize,
    pub k: usize,
    pub stride: usize,
    pub pad: usize,
    pub ho: usize,
    pub wo: usize,
}

impl PoolGeom {
    pub fn new(planes: usize, h: usize, w: usize, k: usize, stride: usize, pad: usize) -> Result<PoolGeom> {
        if k == 0 || stride == 0 || 2 * pad > k || h + 2 * pad < k || w + 2 * pad < k {
            return Err(Error::shape("maxpool2d", format!("window {k}, stride {stride}, pad {pad} on {h}x{w}")));
        }
        let ho = (h + 2 * pad - k) / stride + 1;
        let wo = (w + 2 * pad - k) / stride + 1;
        Ok(PoolGeom { planes, h, w, k, stride, pad, ho, wo })
    }
}

/// The temporal shift of TSM: x is (N·T, C, H·W) with T frames per snippet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShiftGeom {
    pub snippets: usize,
    pub frames: usize,
    pub channels: usize,
    pub hw: usize,
    /// Channels shifted each way: C // 8 (SPEC §a, n_div = 8).
    pub fold: usize,
}

impl ShiftGeom {
    pub fn new(dims: [usize; 4], frames: usize) -> Result<ShiftGeom> {
        let [nt, c, h, w] = dims;
        if frames == 0 || nt % frames != 0 {
            return Err(Error::shape("temporal_shift", format!("{nt} frames is not a multiple of T = {frames}")));
        }
        Ok(ShiftGeom { snippets: nt / frames, frames, channels: c, hw: h * w, fold: c / 8 })
    }
}
