//! Writes a synthetic benchmark to disk:
//! - `DIR/frames/<video id>/` — `frames.npy` u8 [T, 32, 32, 3] + `meta.json` (frame store layout;
//!   npy, not JPEG, because JPEG would destroy the one-pixel motions and the noise);
//! - `DIR/clips/frames.npy` u8 [N, 8, 32, 32, 3] + `DIR/clips/labels.json` (classes, per-clip draws);
//! - `DIR/annotations.json` (ActivityNet format, `training`/`validation`, seconds);
//! - `DIR/synth.json` (every generator parameter and the seed), written last.
//!
//! Videos and clips are generated in parallel (rayon); each comes from its own random stream, so
//! the bytes do not depend on the thread count. Clips are rendered and written in batches, so
//! memory stays bounded whatever `--clips` is. The whole dataset is built in a hidden sibling
//! folder and swapped in when complete (`output`), after the free space was checked against an
//! upper bound of what it needs (`budget`).

use crate::data::atomic::{replace_dir, sync_dir, Replaced};
use crate::data::disk::{free_bytes, human_bytes};
use crate::data::frames::{FrameFormat, VideoMeta, META_FILE, NPY_FILE};
use crate::data::npy;
use crate::data::synth::budget::sizes;
use crate::data::synth::clips::{clip_bytes, render_clip, ClipInfo};
use crate::data::synth::motion::{Motion, FPS, SIZE};
use crate::data::synth::output::{OutDir, RECORD_FILE};
use crate::data::synth::video::{plan_video, render_video, Split};
use crate::data::synth::SynthConfig;
use crate::error::{Error, Result};
use rayon::prelude::*;
use serde::ser::SerializeSeq;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
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
    clips: &'a StreamedClips<'a>,
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
    /// Upper bound of the bytes needed, checked against the free space before starting.
    pub estimated_bytes: u64,
    /// Things that went wrong without spoiling the output (an old copy that could not be removed).
    pub warnings: Vec<String>,
}

/// How `generate_with` treats an existing `--out`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SynthOptions {
    /// Replace a non-empty folder that is not a lofi synth output (and everything in it).
    pub force: bool,
}

fn class_names() -> Vec<&'static str> {
    Motion::ALL.iter().map(|m| m.name()).collect()
}

fn create_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))
}

/// Generates the benchmark described by `cfg` into `out` with the default options (a foreign
/// non-empty `out` is refused).
pub fn generate(out: &Path, cfg: &SynthConfig, progress: &indicatif::ProgressBar) -> Result<SynthSummary> {
    generate_with(out, cfg, SynthOptions::default(), progress)
}

/// Generates the benchmark described by `cfg` into `out`, ticking `progress` once per video and
/// once per 100 clips. `out` is replaced as a whole when the new dataset is complete.
pub fn generate_with(
    out: &Path,
    cfg: &SynthConfig,
    opts: SynthOptions,
    progress: &indicatif::ProgressBar,
) -> Result<SynthSummary> {
    cfg.validate()?;
    let sizes = sizes(cfg)?;
    let dir = OutDir::resolve(out)?;
    dir.check_replaceable(opts.force)?;
    create_dir(&dir.parent)?;
    dir.remove_stale_builds();
    if let Some(free) = free_bytes(&dir.parent)? {
        if sizes.total_bytes > free {
            return Err(Error::data(
                "free space",
                format!(
                    "the dataset needs up to {} but the file system of {} has {} free; lower --videos / --clips \
                     or free space",
                    human_bytes(sizes.total_bytes),
                    dir.parent.display(),
                    human_bytes(free)
                ),
            ));
        }
    }
    let build = dir.build_dir();
    create_dir(&build)?;
    let built = write_dataset(&build, cfg, progress);
    let (videos, actions, clips) = match built {
        Ok(counts) => counts,
        Err(e) => {
            // Best effort: a leftover is recognised and removed by the next run anyway.
            let _ = fs::remove_dir_all(&build);
            return Err(e);
        }
    };
    let mut warnings = Vec::new();
    if let Replaced::OldCopyLeft(old, why) = replace_dir(&build, &dir.path)? {
        warnings.push(format!("the previous output, moved to {}, could not be removed: {why}", old.display()));
    }
    Ok(SynthSummary { out: dir.path, videos, actions, clips, estimated_bytes: sizes.total_bytes, warnings })
}

/// Writes every file of the dataset into the (fresh) folder `out`; returns (videos, actions,
/// clips). `synth.json` comes last, and every file and folder is synced before returning.
fn write_dataset(out: &Path, cfg: &SynthConfig, progress: &indicatif::ProgressBar) -> Result<(usize, usize, usize)> {
    let frames_dir = out.join("frames");
    let clips_dir = out.join("clips");
    create_dir(&frames_dir)?;
    create_dir(&clips_dir)?;
    let videos_total = cfg.videos_per_split.saturating_mul(2);
    progress.set_length(videos_total.saturating_add(cfg.clips.div_ceil(100)) as u64);

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
    sync_dir(&frames_dir)?;
    let actions = videos.iter().map(|(_, v)| v.annotations.len()).sum();

    write_clips(&clips_dir, cfg, progress)?;

    let annotations =
        AnnotationFile { version: SYNTH_FORMAT.into(), taxonomy: taxonomy(), database: videos.into_iter().collect() };
    write_pretty(&out.join("annotations.json"), &annotations)?;
    let record = SynthRecord {
        format: SYNTH_FORMAT,
        dataset_seed: cfg.dataset_seed(),
        fps: FPS,
        size: SIZE,
        classes: class_names(),
        config: cfg,
    };
    write_pretty(&out.join(RECORD_FILE), &record)?;
    sync_dir(out)?;
    Ok((videos_total, actions, cfg.clips))
}

/// Writes `value` as pretty JSON plus a newline, streamed, and syncs the file. The build folder
/// is private until it is swapped in, so no temporary name is needed.
fn write_pretty<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let io = |e: std::io::Error| Error::io(path, e);
    let mut file = std::io::BufWriter::new(fs::File::create(path).map_err(io)?);
    serde_json::to_writer_pretty(&mut file, value)
        .map_err(|e| Error::data(path.display().to_string(), format!("cannot write: {e}")))?;
    file.write_all(b"\n").map_err(io)?;
    file.flush().map_err(io)?;
    file.get_ref().sync_all().map_err(io)
}

/// Plans, renders and stores one video; returns its annotation entry.
fn write_video(frames_dir: &Path, cfg: &SynthConfig, split: Split, index: usize) -> Result<(String, AnnotatedVideo)> {
    let plan = plan_video(cfg, split, index);
    let pixels = render_video(cfg, &plan);
    let dest = frames_dir.join(&plan.id);
    create_dir(&dest)?;
    npy::write_u8(&dest.join(NPY_FILE), &[plan.frames, SIZE, SIZE, 3], &pixels)?;
    let meta = VideoMeta { format: FrameFormat::Npy, fps: FPS as f64, frames: plan.frames, height: SIZE, width: SIZE };
    write_pretty(&dest.join(META_FILE), &meta)?;
    sync_dir(&dest)?;
    let label = plan.motion.name().to_string();
    let entry = AnnotatedVideo {
        subset: split.subset().into(),
        duration: plan.duration(),
        resolution: format!("{SIZE}x{SIZE}"),
        annotations: plan.segments().into_iter().map(|segment| Annotation { segment, label: label.clone() }).collect(),
    };
    Ok((plan.id, entry))
}

/// Clips rendered at once: 1024 × 8 frames ≈ 25 MB of pixels, whatever `--clips` is.
const CLIP_BATCH: usize = 1024;

/// Renders the clips batch by batch (each batch in parallel) into `clips/frames.npy`, and writes
/// `clips/labels.json` as the batches complete: the labels serialiser drives the rendering, so
/// neither the pixels nor the per-clip records are ever held for all clips at once.
fn write_clips(clips_dir: &Path, cfg: &SynthConfig, progress: &indicatif::ProgressBar) -> Result<()> {
    let shape = [cfg.clips, cfg.clip_frames, SIZE, SIZE, 3];
    let array = npy::ArrayWriter::create(&clips_dir.join(NPY_FILE), &shape)?;
    let clips = StreamedClips { cfg, progress, array: RefCell::new(Some(array)), failure: RefCell::new(None) };
    let labels = ClipLabels { classes: class_names(), frames_per_clip: cfg.clip_frames, clips: &clips };
    let written = write_pretty(&clips_dir.join("labels.json"), &labels);
    // A failure of the array writer surfaces through serde as a generic message; report the original.
    if let Some(e) = clips.failure.borrow_mut().take() {
        return Err(e);
    }
    written?;
    let array = clips.array.borrow_mut().take();
    match array {
        Some(a) => a.finish()?,
        None => return Err(Error::data(clips_dir.display().to_string(), "clip array writer lost")),
    }
    sync_dir(clips_dir)
}

/// The clip records as a JSON sequence that renders and stores each batch of clips as it is
/// serialised (interior mutability because `Serialize` takes `&self`).
struct StreamedClips<'a> {
    cfg: &'a SynthConfig,
    progress: &'a indicatif::ProgressBar,
    array: RefCell<Option<npy::ArrayWriter>>,
    failure: RefCell<Option<Error>>,
}

impl serde::Serialize for StreamedClips<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let cfg = self.cfg;
        let bytes = clip_bytes(cfg);
        let mut seq = serializer.serialize_seq(Some(cfg.clips))?;
        let mut pixels = vec![0u8; CLIP_BATCH.min(cfg.clips).saturating_mul(bytes)];
        for first in (0..cfg.clips).step_by(CLIP_BATCH) {
            let count = CLIP_BATCH.min(cfg.clips - first);
            let batch = &mut pixels[..count * bytes];
            let infos: Vec<ClipInfo> = batch
                .par_chunks_mut(bytes.max(1))
                .enumerate()
                .map(|(k, out)| {
                    let i = first + k;
                    let info = render_clip(cfg, i, out);
                    if i % 100 == 99 || i + 1 == cfg.clips {
                        self.progress.inc(1);
                    }
                    info
                })
                .collect();
            let stored = match self.array.borrow_mut().as_mut() {
                Some(array) => array.write(batch),
                None => Err(Error::data("clips", "clip array writer lost")),
            };
            if let Err(e) = stored {
                let msg = e.to_string();
                *self.failure.borrow_mut() = Some(e);
                return Err(serde::ser::Error::custom(msg));
            }
            for info in &infos {
                seq.serialize_element(info)?;
            }
        }
        seq.end()
    }
}
