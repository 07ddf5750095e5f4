//! Snippets cut from inside the ground-truth segments of untrimmed videos: the samples of ACP+
//! (classification fine-tuning on the target videos, paper Table 1). Each sample is one snippet —
//! T frames at stride r — lying wholly inside one segment at a uniformly drawn position, resized
//! and cropped like a training video, optionally with its colour channels permuted.
//!
//! Relies on the frame store and the sampler's spatial rule; touches no device.

use crate::data::annotations::Video;
use crate::data::clips::{random_colour_order, reorder_channels};
use crate::data::frames::{open_video, FrameStore};
use crate::data::resize::resize_crop;
use crate::data::sampler::{crop_window, Mode, SamplerConfig};
use crate::error::{Error, Result};
use crate::rng::Rng;
use std::path::Path;

/// One labelled segment, in frames of its video.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentWindow {
    /// Index into the set's videos.
    pub video: usize,
    /// First and last frame (inclusive) inside the segment.
    pub first: usize,
    pub last: usize,
    pub class: usize,
}

/// The segments of a set of videos that can hold a snippet, with the videos' frame stores.
pub struct SegmentSet {
    stores: Vec<Box<dyn FrameStore>>,
    pub windows: Vec<SegmentWindow>,
    /// Segments too short for one snippet (left out).
    pub too_short: usize,
}

impl SegmentSet {
    /// Opens `videos` in the frame store at `root` and lists their segments that span at least
    /// `span` frames.
    pub fn open(root: &Path, videos: &[Video], span: usize) -> Result<SegmentSet> {
        let mut stores = Vec::with_capacity(videos.len());
        let mut windows = Vec::new();
        let mut too_short = 0;
        for (i, v) in videos.iter().enumerate() {
            let store = open_video(root, &v.id)?;
            let (fps, frames) = (store.meta().fps, store.meta().frames);
            for s in &v.segments {
                let first = (s.start * fps).ceil().max(0.0) as usize;
                let last = ((s.end * fps).floor() as usize).min(frames).saturating_sub(1);
                if last + 1 >= first + span {
                    windows.push(SegmentWindow { video: i, first, last, class: s.class });
                } else {
                    too_short += 1;
                }
            }
            stores.push(store);
        }
        if windows.is_empty() {
            return Err(Error::data(
                format!("frames {}", root.display()),
                format!("no segment spans a snippet of {span} frames"),
            ));
        }
        Ok(SegmentSet { stores, windows, too_short })
    }

    /// Samples window `index` into `out` (u8 [T, H, W, 3] at the sampler's fidelity); returns its
    /// class.
    pub fn sample(
        &self,
        index: usize,
        cfg: &SamplerConfig,
        permute: bool,
        rng: &mut Rng,
        out: &mut [u8],
    ) -> Result<usize> {
        let w = self.windows.get(index).ok_or_else(|| Error::invalid("segment windows", format!("window {index}")))?;
        let (t, r) = (cfg.snippet.frames, cfg.snippet.stride.max(1));
        let span = r * t.saturating_sub(1) + 1;
        let (h, wd) = (cfg.fidelity.height, cfg.fidelity.width);
        let frame_out = h * wd * 3;
        if out.len() != t * frame_out {
            return Err(Error::shape(
                "segment windows",
                format!("output of {} bytes, need {}", out.len(), t * frame_out),
            ));
        }
        let room = (w.last + 1).saturating_sub(w.first + span);
        let start = w.first + rng.below(room as u64 + 1) as usize;
        let indices: Vec<usize> = (0..t).map(|i| start + r * i).collect();
        let store = &self.stores[w.video];
        let meta = store.meta();
        let window = crop_window(cfg, meta.height, meta.width, Mode::Train, rng);
        let order = if permute { random_colour_order(rng) } else { [0, 1, 2] };
        let mut scratch = Vec::new();
        let mut slot = 0;
        store.read_frames(&indices, &mut |_, rgb| {
            let dst = &mut out[slot * frame_out..(slot + 1) * frame_out];
            resize_crop(rgb, meta.height, meta.width, &window, dst, &mut scratch);
            reorder_channels(dst, order);
            slot += 1;
            Ok(())
        })?;
        Ok(w.class)
    }
}
