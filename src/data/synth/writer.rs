//! Writes a synthetic benchmark to disk:
//! - `DIR/frames/<video id>/` — `frames.npy` u8 [T, 32, 32, 3] + `meta.json` (frame store layout;
//!   npy, not JPEG, because JPEG would destroy the one-pixel motions and the noise);
//! - `DIR/clips/frames.npy` u8 [N, 8, 32, 32, 3] + `DIR/clips/labels.json` (classes, per-clip draws);
//! - `DIR/annotations.json` (ActivityNet format, `training`/`validation`, seconds);
//! - `DIR/synth.json` (every generator parameter and the seed), written last.
//!
//! Videos and clips are generated in parallel (rayon); each comes from its own random stream, so
//! the bytes do not depend on the thread count. Every file is written under a temporary name and
//! renamed.

use crate::data::atomic::{fresh_dir, replace_dir, temp_sibling, write_json};
use crate::data::frames::{write_meta, FrameFormat, VideoMeta, NPY_FILE};
use crate::data::npy;
use crate::data::synth::clips::{clip_bytes, render_clip, ClipInfo};
use crate::data::synth::motion::{Motion, FPS, SIZE};
use crate::data::synth::video::{plan_video, render_video, Split};
use crate::data::synth::SynthConfig;
use crate::error::{Error, Result};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// Format tag of `synth.json`.
pub const SYNTH_FORMAT: &str = "lofi-synth-1";

#[derive(serde::Serialize)]
struct AnnotationFile {
    version: String,
    taxonomy: Vec<TaxonomyNode>,
    database: BTreeMap<String, AnnotatedVideo>,
}

/// ActivityNet's taxonomy entry. Listing the classes as leaves fixes their order (class id =
/// label index), which a reader would otherwise take from the sorted label names.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct TaxonomyNode {
    node_id: usize,
    node_name: String,
    parent_id: Option<usize>,
    parent_name: Option<String>,
}

fn taxonomy() -> Vec<TaxonomyNode> {
    let root = "synthetic motion";
    let mut nodes = vec![TaxonomyNode { node_id: 0, node_name: root.into(), parent_id: None, parent_name: None }];
    for m in Motion::ALL {
        nodes.push(TaxonomyNode {
            node_id: m.label() + 1,
            node_name: m.name().into(),
            parent_id: Some(0),
            parent_name: Some(root.into()),
        });
    }
    nodes
}

#[derive(serde::Serialize)]
struct AnnotatedVideo {
    subset: String,
    duration: f64,
    resolution: String,
    annotations: Vec<Annotation>,
}

#[derive(serde::Serialize)]
struct Annotation {
    segment: [f64; 2],
    label: String,
}

#[derive(serde::Serialize)]
struct ClipLabels<'a> {
    classes: Vec<&'static str>,
    frames_per_clip: usize,
    clips: &'a [ClipInfo],
}

#[derive(serde::Serialize)]
struct SynthRecord<'a> {
    format: &'static str,
    dataset_seed: u64,
    fps: usize,
    size: usize,
    classes: Vec<&'static str>,
    config: &'a SynthConfig,
}

/// What `generate` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthSummary {
    pub out: PathBuf,
    pub videos: usize,
    pub actions: usize,
    pub clips: usize,
}

fn class_names() -> Vec<&'static str> {
    Motion::ALL.iter().map(|m| m.name()).collect()
}

fn create_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))
}

/// Generates the benchmark described by `cfg` into `out`, ticking `progress` once per video and
/// once per 100 clips.
pub fn generate(out: &Path, cfg: &SynthConfig, progress: &indicatif::ProgressBar) -> Result<SynthSummary> {
    cfg.validate()?;
    let frames_dir = out.join("frames");
    let clips_dir = out.join("clips");
    create_dir(&frames_dir)?;
    create_dir(&clips_dir)?;
    progress.set_length((2 * cfg.videos_per_split + cfg.clips.div_ceil(100)) as u64);

    let items: Vec<(Split, usize)> = [Split::Training, Split::Validation]
        .iter()
        .flat_map(|&split| (0..cfg.videos_per_split).map(move |i| (split, i)))
        .collect();
    let videos: Vec<(String, AnnotatedVideo)> = items
        .par_iter()
        .map(|&(split, index)| {
            let entry = write_video(&frames_dir, cfg, split, index);
            progress.inc(1);
            entry
        })
        .collect::<Result<_>>()?;
    let actions = videos.iter().map(|(_, v)| v.annotations.len()).sum();

    let infos = write_clips(&clips_dir, cfg, progress)?;

    let annotations =
        AnnotationFile { version: SYNTH_FORMAT.into(), taxonomy: taxonomy(), database: videos.into_iter().collect() };
    write_json(&out.join("annotations.json"), &annotations)?;
    let record = SynthRecord {
        format: SYNTH_FORMAT,
        dataset_seed: cfg.dataset_seed(),
        fps: FPS,
        size: SIZE,
        classes: class_names(),
        config: cfg,
    };
    write_json(&out.join("synth.json"), &record)?;
    Ok(SynthSummary { out: out.to_path_buf(), videos: 2 * cfg.videos_per_split, actions, clips: infos.len() })
}

/// Plans, renders and stores one video; returns its annotation entry.
fn write_video(frames_dir: &Path, cfg: &SynthConfig, split: Split, index: usize) -> Result<(String, AnnotatedVideo)> {
    let plan = plan_video(cfg, split, index);
    let pixels = render_video(cfg, &plan);
    let dest = frames_dir.join(&plan.id);
    let tmp = temp_sibling(&dest);
    fresh_dir(&tmp)?;
    npy::write_u8(&tmp.join(NPY_FILE), &[plan.frames, SIZE, SIZE, 3], &pixels)?;
    let meta = VideoMeta { format: FrameFormat::Npy, fps: FPS as f64, frames: plan.frames, height: SIZE, width: SIZE };
    write_meta(&tmp, &meta)?;
    replace_dir(&tmp, &dest)?;
    let label = plan.motion.name().to_string();
    let entry = AnnotatedVideo {
        subset: split.subset().into(),
        duration: plan.duration(),
        resolution: format!("{SIZE}x{SIZE}"),
        annotations: plan.segments().into_iter().map(|segment| Annotation { segment, label: label.clone() }).collect(),
    };
    Ok((plan.id, entry))
}

/// Renders every clip (in parallel, into one array) and stores the array and the labels.
fn write_clips(clips_dir: &Path, cfg: &SynthConfig, progress: &indicatif::ProgressBar) -> Result<Vec<ClipInfo>> {
    let bytes = clip_bytes(cfg);
    let mut pixels = vec![0u8; cfg.clips * bytes];
    let infos: Vec<ClipInfo> = pixels
        .par_chunks_mut(bytes.max(1))
        .enumerate()
        .map(|(i, out)| {
            let info = render_clip(cfg, i, out);
            if i % 100 == 99 || i + 1 == cfg.clips {
                progress.inc(1);
            }
            info
        })
        .collect();
    let array = clips_dir.join(NPY_FILE);
    let tmp = temp_sibling(&array);
    npy::write_u8(&tmp, &[cfg.clips, cfg.clip_frames, SIZE, SIZE, 3], &pixels)?;
    fs::rename(&tmp, &array).map_err(|e| Error::io(&array, e))?;
    let labels = ClipLabels { classes: class_names(), frames_per_clip: cfg.clip_frames, clips: &infos };
    write_json(&clips_dir.join("labels.json"), &labels)?;
    Ok(infos)
}
