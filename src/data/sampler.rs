//! Snippet sampler: cuts a stored video into L snippets of T frames at H×W, for any fidelity.
//!
//! Temporal rule (one formula for every L, T, r): for a video of F frames, snippet k has centre
//! c_k = (k + 0.5)·F/L, where frame j spans [j, j+1), and its frame i (0 ≤ i < T) is
//! clamp(floor(c_k + r·(i − T/2 + 0.5)), 0, F − 1). It is evaluated in exact integer arithmetic,
//! so no rounding noise moves an index. Videos shorter than one snippet simply repeat frames.
//!
//! Spatial rule: resize so the short side is `round(ratio · max(H, W))` (at least H×W), then crop
//! H×W: a random window and a random horizontal flip for training, the centre for evaluation. One
//! window and one flip serve every frame of a video, so motion is not distorted.
//!
//! Ground-truth segments map to [0, 1] of the video by `segment / duration` (clipped), as OpenTAD's
//! end-to-end pipeline and SPEC §c.1 prescribe, and to snippet units by ×L.

use crate::data::frames::FrameStore;
use crate::data::resize::{resize_crop, CropWindow};
use crate::error::{Error, Result};
use crate::fidelity::{Fidelity, SnippetFrames};
use crate::normalization::Normalization;

/// Everything the sampler needs to know about one encoder preset at one fidelity.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SamplerConfig {
    pub fidelity: Fidelity,
    pub snippet: SnippetFrames,
    /// Short side before cropping, as a multiple of max(H, W): 256/224 for ImageNet-style presets.
    pub resize_ratio: f64,
    /// Random horizontal flip in training.
    pub flip: bool,
    pub normalization: Normalization,
}

impl SamplerConfig {
    /// The paper's TSM preset: 8 frames at stride 8, short side 8/7 of the crop (256 for 224),
    /// flips, ImageNet statistics.
    pub fn paper(fidelity: Fidelity) -> Self {
        SamplerConfig {
            fidelity,
            snippet: SnippetFrames::PAPER,
            resize_ratio: 256.0 / 224.0,
            flip: true,
            normalization: Normalization::IMAGENET,
        }
    }

    /// The synthetic benchmark's preset: 4 frames at stride 2, no extra resize margin (32² frames
    /// are seen whole) and no flip, because a mirror turns `orbit_cw` into `orbit_ccw`.
    pub fn synthetic(fidelity: Fidelity) -> Self {
        SamplerConfig {
            fidelity,
            snippet: SnippetFrames::SYNTHETIC,
            resize_ratio: 1.0,
            flip: false,
            normalization: Normalization::SYNTHETIC,
        }
    }

    /// Frames per video (L·T).
    pub fn frames_per_video(&self) -> usize {
        self.fidelity.snippets * self.snippet.frames
    }

    /// Bytes of one sampled video, u8 [L·T, H, W, 3].
    pub fn bytes_per_video(&self) -> usize {
        self.frames_per_video() * self.fidelity.height * self.fidelity.width * 3
    }

    /// Rejects configurations the sampler cannot serve.
    pub fn validate(&self) -> Result<()> {
        let f = &self.fidelity;
        let bad = |flag: &str, msg: String| Err(Error::Config { flag: flag.into(), msg });
        if f.snippets == 0 || f.height == 0 || f.width == 0 {
            return bad("fidelity", format!("{}x{}x{} has a zero dimension", f.snippets, f.height, f.width));
        }
        if self.snippet.frames == 0 {
            return bad("snippet frames", "must be at least 1".into());
        }
        if !(self.resize_ratio >= 1.0 && self.resize_ratio.is_finite()) {
            return bad("resize ratio", format!("{} (must be ≥ 1)", self.resize_ratio));
        }
        Ok(())
    }
}

/// Train (random crop, optional flip) or evaluation (centre crop).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Train,
    Eval,
}

/// Frame index of every sampled frame, snippet-major: entry k·T + i is frame i of snippet k.
pub fn frame_indices(num_frames: usize, snippets: usize, snippet: SnippetFrames) -> Result<Vec<usize>> {
    if num_frames == 0 || snippets == 0 || snippet.frames == 0 {
        return Err(Error::invalid(
            "frame_indices",
            format!("{num_frames} frames, {snippets} snippets, {} frames per snippet", snippet.frames),
        ));
    }
    // floor(c_k + r(i − T/2 + 0.5)) = floor(((2k+1)·F + r(2i − T + 1)·L) / 2L), in integers.
    let (f, l, t, r) = (num_frames as i128, snippets as i128, snippet.frames as i128, snippet.stride as i128);
    let mut out = Vec::with_capacity(snippets * snippet.frames);
    for k in 0..l {
        for i in 0..t {
            let numerator = (2 * k + 1) * f + r * (2 * i - t + 1) * l;
            let index = numerator.div_euclid(2 * l).clamp(0, f - 1);
            out.push(index as usize);
        }
    }
    Ok(out)
}

/// Size of a `src_h`×`src_w` frame resized so its short side is `short_side`, enlarged if needed
/// so that an `out_h`×`out_w` crop fits.
pub fn resized_size(src_h: usize, src_w: usize, short_side: usize, out_h: usize, out_w: usize) -> (usize, usize) {
    let scale =
        (short_side as f64 / src_h.min(src_w) as f64).max(out_h as f64 / src_h as f64).max(out_w as f64 / src_w as f64);
    let h = ((src_h as f64 * scale).round() as usize).max(out_h);
    let w = ((src_w as f64 * scale).round() as usize).max(out_w);
    (h, w)
}

/// Chooses the crop window of one video: the centre in evaluation, uniform position and a coin
/// flip (when the preset allows it) in training.
pub fn crop_window<R: rand::Rng + ?Sized>(
    cfg: &SamplerConfig,
    src_h: usize,
    src_w: usize,
    mode: Mode,
    rng: &mut R,
) -> CropWindow {
    let (h, w) = (cfg.fidelity.height, cfg.fidelity.width);
    let short_side = (cfg.resize_ratio * h.max(w) as f64).round() as usize;
    let (resized_h, resized_w) = resized_size(src_h, src_w, short_side, h, w);
    let (top, left, flip) = match mode {
        Mode::Eval => ((resized_h - h) / 2, (resized_w - w) / 2, false),
        Mode::Train => {
            (rng.random_range(0..=resized_h - h), rng.random_range(0..=resized_w - w), cfg.flip && rng.random_bool(0.5))
        }
    };
    CropWindow { resized_h, resized_w, top, left, height: h, width: w, flip }
}

/// Samples one video into `out`, u8 [L·T, H, W, 3] (`cfg.bytes_per_video()` bytes). Each distinct
/// frame is decoded and resized once, however many snippets share it.
pub fn sample_video<R: rand::Rng + ?Sized>(
    store: &dyn FrameStore,
    cfg: &SamplerConfig,
    mode: Mode,
    rng: &mut R,
    out: &mut [u8],
) -> Result<()> {
    cfg.validate()?;
    if out.len() != cfg.bytes_per_video() {
        return Err(Error::shape(
            "sample_video",
            format!("output of {} bytes, need {}", out.len(), cfg.bytes_per_video()),
        ));
    }
    let meta = store.meta();
    let indices = frame_indices(meta.frames, cfg.fidelity.snippets, cfg.snippet)?;
    let window = crop_window(cfg, meta.height, meta.width, mode, rng);
    // Output slots grouped by source frame, in ascending frame order (the order readers prefer).
    let mut order: Vec<usize> = (0..indices.len()).collect();
    order.sort_by_key(|&slot| indices[slot]);
    let mut unique: Vec<usize> = order.iter().map(|&slot| indices[slot]).collect();
    unique.dedup();
    let frame_out = cfg.fidelity.height * cfg.fidelity.width * 3;
    let mut scratch = Vec::new();
    let mut cursor = 0;
    store.read_frames(&unique, &mut |index, rgb| {
        let first = order[cursor];
        resize_crop(rgb, meta.height, meta.width, &window, &mut out[first * frame_out..][..frame_out], &mut scratch);
        cursor += 1;
        while cursor < order.len() && indices[order[cursor]] == index {
            let slot = order[cursor];
            out.copy_within(first * frame_out..(first + 1) * frame_out, slot * frame_out);
            cursor += 1;
        }
        Ok(())
    })?;
    if cursor != order.len() {
        return Err(Error::data(store.id().to_string(), "frame reader skipped frames"));
    }
    Ok(())
}

/// Segments in seconds → fractions of the video, clipped to [0, 1].
pub fn segments_to_unit(segments: &[[f64; 2]], duration: f64) -> Vec<[f64; 2]> {
    segments.iter().map(|s| [(s[0] / duration).clamp(0.0, 1.0), (s[1] / duration).clamp(0.0, 1.0)]).collect()
}

/// Fractions of the video → seconds.
pub fn unit_to_seconds(segments: &[[f64; 2]], duration: f64) -> Vec<[f64; 2]> {
    segments.iter().map(|s| [s[0] * duration, s[1] * duration]).collect()
}

/// Fractions of the video → snippet units (snippet k spans [k, k+1)).
pub fn unit_to_snippets(segments: &[[f64; 2]], snippets: usize) -> Vec<[f64; 2]> {
    let l = snippets as f64;
    segments.iter().map(|s| [s[0] * l, s[1] * l]).collect()
}

/// Snippet units → fractions of the video.
pub fn snippets_to_unit(segments: &[[f64; 2]], snippets: usize) -> Vec<[f64; 2]> {
    let l = snippets as f64;
    segments.iter().map(|s| [s[0] / l, s[1] / l]).collect()
}
