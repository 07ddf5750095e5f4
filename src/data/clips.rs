//! A trimmed clip set for action-classification pre-training (the ACP stage): one u8 array
//! `frames.npy` [N, F, H, W, 3] of N clips of F frames, and `labels.json` `{"classes": [names],
//! "frames_per_clip": F, "clips": [{"label": class id, …}, …]}` — the layout `lofi synth` writes
//! under `DATA/clips/`, and the one to convert another clip source (Kinetics-style trimmed videos)
//! into. Extra fields of a clip entry (the synthetic generator records its draws) are ignored.
//!
//! `sample_clip` cuts one snippet (T frames at stride r) from a clip with the ACP augmentations:
//! a random temporal offset inside the clip, a random crop window (a plain copy at the clip's own
//! size), and a random permutation of the colour channels — without it the tiny encoder of the
//! synthetic benchmark memorises object colours instead of learning motion.
//!
//! Relies on the frame-store conventions (`npy`, `resize`, `sampler::crop_window`); touches no
//! device. Clips are read by seeking, never the whole array.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::data::npy;
use crate::data::resize::resize_crop;
use crate::data::sampler::{crop_window, Mode, SamplerConfig};
use crate::error::{Error, Result};
use crate::jsonio::read_json;
use crate::rng::Rng;

/// File names inside a clip-set folder.
pub const CLIP_FRAMES: &str = "frames.npy";
pub const CLIP_LABELS: &str = "labels.json";

#[derive(serde::Deserialize)]
struct LabelFile {
    classes: Vec<String>,
    frames_per_clip: usize,
    clips: Vec<ClipLabel>,
}

#[derive(serde::Deserialize)]
struct ClipLabel {
    label: usize,
}

/// An opened clip set.
#[derive(Debug, Clone)]
pub struct ClipSet {
    dir: PathBuf,
    pub classes: Vec<String>,
    /// Class id of each clip.
    pub labels: Vec<usize>,
    pub frames_per_clip: usize,
    pub height: usize,
    pub width: usize,
    data_offset: u64,
}

impl ClipSet {
    /// Opens `dir` (holding `frames.npy` and `labels.json`) and checks that the two agree.
    pub fn open(dir: &Path) -> Result<ClipSet> {
        let labels_path = dir.join(CLIP_LABELS);
        let frames_path = dir.join(CLIP_FRAMES);
        if !labels_path.is_file() || !frames_path.is_file() {
            return Err(Error::data(
                format!("clip set {}", dir.display()),
                format!("needs {CLIP_FRAMES} and {CLIP_LABELS} (the layout `lofi synth` writes under DATA/clips)"),
            ));
        }
        let file: LabelFile = read_json(&labels_path)?;
        let header = npy::read_header(&frames_path)?;
        let bad = |msg: String| Err(Error::data(frames_path.display().to_string(), msg));
        let [n, f, h, w, c] = match header.shape.as_slice() {
            &[n, f, h, w, c] => [n, f, h, w, c],
            other => return bad(format!("shape {other:?}, expected [clips, frames, height, width, 3]")),
        };
        if c != 3 || h == 0 || w == 0 || f == 0 {
            return bad(format!("shape {:?} is not [clips, frames > 0, H > 0, W > 0, 3]", header.shape));
        }
        if n != file.clips.len() || f != file.frames_per_clip {
            return bad(format!(
                "{n} clips of {f} frames, but {} lists {} clips of {} frames",
                labels_path.display(),
                file.clips.len(),
                file.frames_per_clip
            ));
        }
        if file.classes.is_empty() {
            return Err(Error::data(labels_path.display().to_string(), "no classes"));
        }
        let labels: Vec<usize> = file.clips.iter().map(|c| c.label).collect();
        if let Some((i, &l)) = labels.iter().enumerate().find(|(_, &l)| l >= file.classes.len()) {
            return Err(Error::data(
                labels_path.display().to_string(),
                format!("clips[{i}].label = {l}, but there are {} classes", file.classes.len()),
            ));
        }
        Ok(ClipSet {
            dir: dir.to_path_buf(),
            classes: file.classes,
            labels,
            frames_per_clip: f,
            height: h,
            width: w,
            data_offset: header.data_offset,
        })
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    pub fn dir(&self) -> &Path {
        &self.dir
    }
    fn frame_bytes(&self) -> usize {
        self.height * self.width * 3
    }

    /// Opens the frame array for reading (one handle per batch builder).
    pub fn reader(&self) -> Result<ClipReader<'_>> {
        let path = self.dir.join(CLIP_FRAMES);
        let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
        Ok(ClipReader { set: self, file, path })
    }
}

/// Reads clips of one set.
pub struct ClipReader<'a> {
    set: &'a ClipSet,
    file: File,
    path: PathBuf,
}

impl ClipReader<'_> {
    /// All frames of clip `index`, u8 [F, H, W, 3].
    pub fn read(&mut self, index: usize, out: &mut Vec<u8>) -> Result<()> {
        let set = self.set;
        if index >= set.len() {
            return Err(Error::invalid("clip set", format!("clip {index} of {}", set.len())));
        }
        let clip_bytes = set.frames_per_clip * set.frame_bytes();
        out.resize(clip_bytes, 0);
        let offset = set.data_offset + (index * clip_bytes) as u64;
        let io = |e| Error::io(&self.path, e);
        self.file.seek(SeekFrom::Start(offset)).map_err(io)?;
        self.file.read_exact(out).map_err(io)
    }
}

/// Frame indices (within a clip of `clip_frames`) of one snippet of `frames` frames at `stride`,
/// centred in the clip and moved by `shift` frames, clamped to the clip.
pub fn snippet_in_clip(clip_frames: usize, frames: usize, stride: usize, shift: isize) -> Vec<usize> {
    // The sampler's rule for one snippet (L = 1): frame i at floor((F + r(2i − T + 1)) / 2).
    let (f, t, r) = (clip_frames as isize, frames as isize, stride as isize);
    (0..t).map(|i| ((f + r * (2 * i - t + 1)).div_euclid(2) + shift).clamp(0, f - 1) as usize).collect()
}

/// One ACP sample: a snippet of clip `index` at the sampler's fidelity (u8 [T, H, W, 3] into
/// `out`); returns the clip's class. `Mode::Train` applies the augmentations of the module doc
/// (colour permutation only with `permute_colours`); `Mode::Eval` takes the centred snippet and
/// the centre crop, unpermuted.
#[allow(clippy::too_many_arguments)]
pub fn sample_clip(
    reader: &mut ClipReader,
    index: usize,
    cfg: &SamplerConfig,
    mode: Mode,
    permute_colours: bool,
    rng: &mut Rng,
    scratch: &mut Vec<u8>,
    out: &mut [u8],
) -> Result<usize> {
    let set = reader.set;
    let (t, r) = (cfg.snippet.frames, cfg.snippet.stride);
    let (h, w) = (cfg.fidelity.height, cfg.fidelity.width);
    let frame_out = h * w * 3;
    if out.len() != t * frame_out {
        return Err(Error::shape("sample_clip", format!("output of {} bytes, need {}", out.len(), t * frame_out)));
    }
    reader.read(index, scratch)?;
    // The centred snippet leaves `before` free frames ahead of it and `after` behind: a uniform
    // shift in [−before, after] keeps every frame inside the clip.
    let centred = snippet_in_clip(set.frames_per_clip, t, r, 0);
    let before = centred.first().copied().unwrap_or(0) as isize;
    let after = (set.frames_per_clip - 1).saturating_sub(centred.last().copied().unwrap_or(0)) as isize;
    let train = mode == Mode::Train;
    let shift = if train { rng.below((before + after) as u64 + 1) as isize - before } else { 0 };
    let frames = snippet_in_clip(set.frames_per_clip, t, r, shift);
    let window = crop_window(cfg, set.height, set.width, mode, rng);
    let perm = if train && permute_colours { random_colour_order(rng) } else { [0, 1, 2] };
    let mut resize_scratch = Vec::new();
    let in_frame = set.frame_bytes();
    for (slot, &f) in frames.iter().enumerate() {
        let dst = &mut out[slot * frame_out..(slot + 1) * frame_out];
        resize_crop(
            &scratch[f * in_frame..(f + 1) * in_frame],
            set.height,
            set.width,
            &window,
            dst,
            &mut resize_scratch,
        );
        reorder_channels(dst, perm);
    }
    Ok(set.labels[index])
}

/// The six orders of (R, G, B): output channel c reads input channel perm[c].
const COLOUR_PERMUTATIONS: [[usize; 3]; 6] = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];

/// One of the six channel orders, uniformly.
pub fn random_colour_order(rng: &mut Rng) -> [usize; 3] {
    COLOUR_PERMUTATIONS[rng.below(6) as usize]
}

/// Reorders the channels of RGB pixels: output channel c takes input channel `order[c]`.
pub fn reorder_channels(rgb: &mut [u8], order: [usize; 3]) {
    if order == [0, 1, 2] {
        return;
    }
    for px in rgb.chunks_exact_mut(3) {
        let src = [px[0], px[1], px[2]];
        for (c, &from) in order.iter().enumerate() {
            px[c] = src[from];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_centred_snippet_matches_the_sampler_rule() {
        // 8-frame clip, 4 frames at stride 2: offsets −3, −1, +1, +3 around frame 4.
        assert_eq!(snippet_in_clip(8, 4, 2, 0), vec![1, 3, 5, 7]);
        assert_eq!(snippet_in_clip(8, 4, 2, -1), vec![0, 2, 4, 6]);
        // Moved past the end, the indices clamp.
        assert_eq!(snippet_in_clip(8, 4, 2, 2), vec![3, 5, 7, 7]);
        // The paper's 8 frames at stride 8 in a 64-frame window.
        assert_eq!(snippet_in_clip(64, 8, 8, 0), vec![4, 12, 20, 28, 36, 44, 52, 60]);
    }
}
