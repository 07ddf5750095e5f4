//! How much a synthetic benchmark writes, computed before anything is written: every size comes
//! from user flags, so every product and sum is checked (a wrapped size would pass the disk-space
//! check and then fail, or panic, half-way), and the estimate is an upper bound that `generate`
//! compares with the free space of the output's file system.

use crate::data::synth::motion::{FPS, SIZE};
use crate::data::synth::SynthConfig;
use crate::error::{Error, Result};

/// Most videos per split accepted by `--videos` (≈ 1.8 TB at the default durations).
pub const MAX_VIDEOS_PER_SPLIT: usize = 1_000_000;
/// Most trimmed clips accepted by `--clips` (≈ 2.5 TB at 8 frames).
pub const MAX_CLIPS: usize = 100_000_000;

/// Bytes of one RGB frame.
pub const FRAME_BYTES: u64 = (SIZE * SIZE * 3) as u64;
/// An `.npy` header (the format pads it to a multiple of 64; 4- and 5-d u8 headers fit in 128).
const NPY_HEADER_BYTES: u64 = 128;
/// Upper bounds on the JSON text per item: a video's `meta.json`, its entry in
/// `annotations.json` (plus one per action), a clip's entry in `labels.json`, and `synth.json`.
const META_BYTES: u64 = 256;
const VIDEO_ENTRY_BYTES: u64 = 256;
const ACTION_ENTRY_BYTES: u64 = 160;
const CLIP_ENTRY_BYTES: u64 = 320;
const RECORD_BYTES: u64 = 8192;

/// The sizes of a run, each checked against overflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynthSizes {
    /// Videos in both splits.
    pub videos: usize,
    /// Bytes of the clip array's data (no header).
    pub clip_array_bytes: u64,
    /// Upper bound on everything written.
    pub total_bytes: u64,
}

fn overflow(flag: &str) -> Error {
    Error::Config { flag: flag.into(), msg: "the output size this implies overflows 64 bits".into() }
}

/// The sizes of `cfg`'s output (call after `cfg.validate()`).
pub fn sizes(cfg: &SynthConfig) -> Result<SynthSizes> {
    let videos = cfg.videos_per_split.checked_mul(2).ok_or_else(|| overflow("--videos"))?;
    // The longest video a duration range allows, in whole frames (rounded as the planner does).
    let max_frames = (cfg.duration_s[1] * FPS as f64).round();
    if !(0.0..1e12).contains(&max_frames) {
        return Err(overflow("duration_s"));
    }
    let per_video = (max_frames as u64)
        .checked_mul(FRAME_BYTES)
        .and_then(|b| b.checked_add(NPY_HEADER_BYTES + META_BYTES + VIDEO_ENTRY_BYTES))
        .and_then(|b| b.checked_add((cfg.actions[1] as u64).checked_mul(ACTION_ENTRY_BYTES)?))
        .ok_or_else(|| overflow("--videos"))?;
    let video_bytes = per_video.checked_mul(videos as u64).ok_or_else(|| overflow("--videos"))?;
    let clip_array_bytes = (cfg.clips as u64)
        .checked_mul(cfg.clip_frames as u64)
        .and_then(|n| n.checked_mul(FRAME_BYTES))
        .ok_or_else(|| overflow("--clips"))?;
    let clip_bytes = (cfg.clips as u64)
        .checked_mul(CLIP_ENTRY_BYTES)
        .and_then(|b| b.checked_add(clip_array_bytes))
        .and_then(|b| b.checked_add(NPY_HEADER_BYTES))
        .ok_or_else(|| overflow("--clips"))?;
    let total_bytes = video_bytes
        .checked_add(clip_bytes)
        .and_then(|b| b.checked_add(RECORD_BYTES))
        .ok_or_else(|| overflow("--videos"))?;
    Ok(SynthSizes { videos, clip_array_bytes, total_bytes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_size_is_bounded_above_the_real_output_and_huge_counts_do_not_wrap() {
        let s = sizes(&SynthConfig::default()).unwrap();
        assert_eq!(s.videos, 400);
        assert_eq!(s.clip_array_bytes, 6000 * 8 * 3072);
        // The real default output is ≈ 410 MB; the bound is above it and not absurdly so.
        assert!((410_000_000..600_000_000).contains(&s.total_bytes), "{}", s.total_bytes);
        let cfg = SynthConfig { videos_per_split: MAX_VIDEOS_PER_SPLIT, clips: MAX_CLIPS, ..SynthConfig::default() };
        let s = sizes(&cfg).unwrap();
        assert!(s.total_bytes > 2_000_000_000_000, "{}", s.total_bytes);
        let cfg = SynthConfig { videos_per_split: usize::MAX, ..SynthConfig::default() };
        assert!(sizes(&cfg).is_err());
    }
}
