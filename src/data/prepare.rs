//! `lofi prepare`: decodes the video files of a folder with the `ffmpeg` program into the frame
//! store, resampled to a fixed fps with the short side scaled to S, as JPEG folders or u8 `.npy`
//! arrays.
//!
//! - Parallel over videos (rayon, `--jobs` bounded by the core count), one ffmpeg thread each.
//! - Honest: a decode shorter than the container's duration × fps (ffmpeg exits 0 on a truncated
//!   file) is a failure, or with `allow_partial` a stored video listed under `partial`; files
//!   that are not decoded are listed under `skipped`.
//! - Resumable and consistent: the store records its options (`store::STORE_FILE`) and every
//!   video's `meta.json` its own; asking for other options is an error unless `force`, which
//!   re-decodes. Each video is decoded into a unique folder of the store's work folder and
//!   swapped into place, so an interrupted run leaves no half video and the destination is never
//!   missing; a leftover old copy is a warning, not a failed video.
//! - Exclusive: a lock keeps two concurrent runs from corrupting each other or the report.
//! - A video that fails is recorded (id, file, why) in `prepare_report.json` and the returned
//!   report; it never stops the run.

mod ffmpeg;
mod store;

use crate::data::atomic::{fresh_dir, replace_dir, unique_name, write_json, Replaced};
use crate::data::frames::{check_video_id, write_meta, FrameFormat, VideoMeta, META_FILE};
use crate::error::{Error, Result};
use ffmpeg::{check_program, judge_completeness, Decoder};
use rayon::prelude::*;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

pub use ffmpeg::die_with_parent;
pub use store::{StoreLock, StoreRecord, STORE_FILE, WORK_DIR};

/// Name of the report written into the output folder.
pub const REPORT_FILE: &str = "prepare_report.json";
/// File extensions taken as videos (case-insensitive): the containers ffmpeg reads that video
/// datasets ship in.
pub const VIDEO_EXTENSIONS: [&str; 6] = ["mp4", "mkv", "webm", "avi", "mov", "m4v"];
/// Largest `--fps` accepted.
pub const MAX_FPS: f64 = 1000.0;
/// `--short-side` bounds, px.
pub const SHORT_SIDE_RANGE: std::ops::RangeInclusive<usize> = 16..=8192;
/// `--jobs` may ask for at most this many decoders per core.
pub const JOBS_PER_CORE_CAP: usize = 4;

/// What to decode and how.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PrepareOptions {
    pub videos: PathBuf,
    pub out: PathBuf,
    pub fps: f64,
    pub short_side: usize,
    pub format: FrameFormat,
    /// Videos decoded at once (0 = one per core).
    pub jobs: usize,
    /// The ffmpeg program (a name on PATH or a path).
    pub ffmpeg: PathBuf,
    /// The ffprobe program; `None` = the `ffprobe` beside `ffmpeg` (or on PATH).
    pub ffprobe: Option<PathBuf>,
    /// Store short decodes (listed under `partial`) instead of failing them.
    pub allow_partial: bool,
    /// Re-decode videos stored with other options instead of refusing to mix them.
    pub force: bool,
}

/// One video that could not be prepared, or that was stored incomplete.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PrepareFailure {
    pub video: String,
    pub file: PathBuf,
    pub error: String,
}

/// A file of the input folder that was not decoded, and why.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SkippedFile {
    pub file: PathBuf,
    pub reason: String,
}

/// Outcome of a run (also written to `REPORT_FILE`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct PrepareReport {
    pub options: PrepareOptions,
    pub prepared: Vec<String>,
    pub already_done: Vec<String>,
    /// Stored although the decode was short (`allow_partial`), with the reason.
    pub partial: Vec<PrepareFailure>,
    pub failed: Vec<PrepareFailure>,
    pub skipped: Vec<SkippedFile>,
    /// Problems that spoiled no video (an old copy that could not be removed).
    pub warnings: Vec<String>,
}

impl PrepareOptions {
    fn validate(&self) -> Result<()> {
        let bad = |flag: &str, msg: String| Err(Error::Config { flag: flag.into(), msg });
        if !(self.fps > 0.0 && self.fps <= MAX_FPS) {
            return bad("--fps", format!("{} (must be in (0, {MAX_FPS}])", self.fps));
        }
        if !SHORT_SIDE_RANGE.contains(&self.short_side) {
            return bad(
                "--short-side",
                format!("{} (must be in {}..={})", self.short_side, SHORT_SIDE_RANGE.start(), SHORT_SIDE_RANGE.end()),
            );
        }
        let cap = cores().saturating_mul(JOBS_PER_CORE_CAP);
        if self.jobs > cap {
            return bad(
                "--jobs",
                format!("{} (at most {cap}: {JOBS_PER_CORE_CAP} per core; 0 = one per core)", self.jobs),
            );
        }
        Ok(())
    }

    /// The ffprobe to use.
    fn ffprobe(&self) -> PathBuf {
        self.ffprobe.clone().unwrap_or_else(|| match self.ffmpeg.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(dir) => dir.join("ffprobe"),
            None => PathBuf::from("ffprobe"),
        })
    }

    fn record(&self) -> StoreRecord {
        StoreRecord::new(self.format, self.fps, self.short_side)
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Fails with installation advice unless `ffmpeg -version` runs.
pub fn check_ffmpeg(ffmpeg: &Path) -> Result<()> {
    check_program(ffmpeg, "--ffmpeg").map_err(|msg| Error::Config { flag: "--ffmpeg".into(), msg })
}

/// Names a video id may not take: they are the store's own files.
fn reserved_id(id: &str) -> bool {
    id.starts_with('.') || [REPORT_FILE, STORE_FILE, WORK_DIR].contains(&id)
}

/// The videos of an input folder as (id, file), and the entries that are not decoded.
pub type InputFiles = (Vec<(String, PathBuf)>, Vec<SkippedFile>);

/// The video files in `dir` (not recursive), sorted by file name, with their ids (file stems),
/// and every other entry with the reason it is not decoded.
pub fn find_videos(dir: &Path) -> Result<InputFiles> {
    let mut found = Vec::new();
    let mut skipped = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        let id = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let reason = if path.is_dir() {
            Some("a folder (not searched)".to_string())
        } else if !ext.as_deref().is_some_and(|e| VIDEO_EXTENSIONS.contains(&e)) {
            Some(format!("not a video extension ({})", VIDEO_EXTENSIONS.join(", ")))
        } else if reserved_id(&id) {
            Some("hidden, or named like a file of the store".to_string())
        } else {
            None
        };
        match reason {
            Some(reason) => skipped.push(SkippedFile { file: path, reason }),
            None => found.push((id, path)),
        }
    }
    found.sort_by(|a, b| a.1.cmp(&b.1));
    skipped.sort_by(|a, b| a.file.cmp(&b.file));
    Ok((found, skipped))
}

/// Decodes every video of `opts.videos` into `opts.out`, ticking `progress` once per video, and
/// writes the report. Only setup problems (no ffmpeg, unreadable folders, a locked store, options
/// that contradict the store) are errors.
pub fn prepare(opts: &PrepareOptions, progress: &indicatif::ProgressBar) -> Result<PrepareReport> {
    opts.validate()?;
    let (videos, skipped) = find_videos(&opts.videos)?;
    check_ffmpeg(&opts.ffmpeg)?;
    let ffprobe = opts.ffprobe();
    check_program(&ffprobe, "--ffprobe").map_err(|msg| Error::Config { flag: "--ffprobe".into(), msg })?;
    fs::create_dir_all(&opts.out).map_err(|e| Error::io(&opts.out, e))?;
    let lock = StoreLock::acquire(&opts.out)?;
    progress.set_length(videos.len() as u64);

    let mut seen = BTreeSet::new();
    let mut failed = Vec::new();
    let mut todo = Vec::new();
    for (id, file) in videos {
        if let Err(e) = check_video_id(&id) {
            failed.push(PrepareFailure { video: id, file, error: e.to_string() });
        } else if !seen.insert(id.clone()) {
            let error = "another file has the same id (file name without extension)".to_string();
            failed.push(PrepareFailure { video: id, file, error });
        } else {
            todo.push((id, file));
        }
    }
    progress.inc(failed.len() as u64);
    check_store_options(opts, &todo)?;
    opts.record().write(&opts.out)?;

    let jobs = if opts.jobs == 0 { cores() } else { opts.jobs };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|e| Error::Config { flag: "--jobs".into(), msg: e.to_string() })?;
    let decoder = Decoder { ffmpeg: &opts.ffmpeg, ffprobe: &ffprobe, fps: opts.fps, short_side: opts.short_side };
    let work = lock.work.clone();
    let outcomes: Vec<(String, PathBuf, Outcome)> = pool.install(|| {
        todo.into_par_iter()
            .map(|(id, file)| {
                let outcome = prepare_one(opts, &decoder, &work, &id, &file);
                progress.inc(1);
                (id, file, outcome)
            })
            .collect()
    });
    let mut report = PrepareReport {
        options: opts.clone(),
        prepared: Vec::new(),
        already_done: Vec::new(),
        partial: Vec::new(),
        failed,
        skipped,
        warnings: Vec::new(),
    };
    for (id, file, outcome) in outcomes {
        match outcome {
            Outcome::Prepared { partial, warning } => {
                if let Some(error) = partial {
                    report.partial.push(PrepareFailure { video: id.clone(), file, error });
                }
                report.warnings.extend(warning);
                report.prepared.push(id);
            }
            Outcome::AlreadyDone => report.already_done.push(id),
            Outcome::Failed(error) => report.failed.push(PrepareFailure { video: id, file, error }),
        }
    }
    report.failed.sort_by(|a, b| a.video.cmp(&b.video));
    write_json(&opts.out.join(REPORT_FILE), &report)?;
    drop(lock);
    Ok(report)
}

/// Refuses, unless `force`, to resume a store whose record or stored videos were made with other
/// options: mixing two frame rates in one store would go unnoticed until training.
fn check_store_options(opts: &PrepareOptions, todo: &[(String, PathBuf)]) -> Result<()> {
    if opts.force {
        return Ok(());
    }
    let asked = opts.record();
    let mut problems = Vec::new();
    if let Some(held) = StoreRecord::load(&opts.out)? {
        let d = asked.differences(&held);
        if !d.is_empty() {
            problems.push(format!("{STORE_FILE}: {}", d.join(", ")));
        }
    }
    for (id, _) in todo {
        if let Some(meta) = stored_meta(&opts.out.join(id)) {
            let d = asked.video_differences(&meta);
            if !d.is_empty() && problems.len() < 5 {
                problems.push(format!("video {id}: {}", d.join(", ")));
            }
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::Config {
        flag: "--fps/--short-side/--format".into(),
        msg: format!(
            "the store {} holds frames made with other options ({}); pass the store's options, another --out, \
             or --force to re-decode those videos",
            opts.out.display(),
            problems.join("; ")
        ),
    })
}

/// The `meta.json` of a stored video folder, if it has a readable one.
fn stored_meta(dir: &Path) -> Option<VideoMeta> {
    let text = fs::read(dir.join(META_FILE)).ok()?;
    serde_json::from_slice(&text).ok()
}

enum Outcome {
    Prepared { partial: Option<String>, warning: Option<String> },
    AlreadyDone,
    Failed(String),
}

fn prepare_one(opts: &PrepareOptions, decoder: &Decoder, work: &Path, id: &str, file: &Path) -> Outcome {
    let dest = opts.out.join(id);
    if let Some(meta) = stored_meta(&dest) {
        if opts.record().video_differences(&meta).is_empty() {
            return Outcome::AlreadyDone;
        }
    }
    let tmp = work.join(unique_name("video"));
    let decoded = fresh_dir(&tmp).map_err(|e| e.to_string()).and_then(|()| decoder.decode(file, &tmp, opts.format));
    let result = decoded.and_then(|d| {
        let verdict = judge_completeness(d.meta.frames, decoder.duration(file), opts.fps, &d.stderr_tail);
        let partial = match verdict {
            Ok(()) => None,
            Err(why) if opts.allow_partial => Some(why),
            Err(why) => return Err(why),
        };
        write_meta(&tmp, &d.meta).map_err(|e| e.to_string())?;
        let replaced = replace_dir(&tmp, &dest).map_err(|e| e.to_string())?;
        let warning = match replaced {
            Replaced::Clean => None,
            Replaced::OldCopyLeft(old, why) => {
                Some(format!("video {id}: the old copy, moved to {}, could not be removed: {why}", old.display()))
            }
        };
        Ok(Outcome::Prepared { partial, warning })
    });
    result.unwrap_or_else(|error| {
        // Best effort: the work folder is emptied by the next run anyway.
        let _ = fs::remove_dir_all(&tmp);
        Outcome::Failed(error)
    })
}
