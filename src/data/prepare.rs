//! `lofi prepare`: decodes mp4/mkv/webm/avi files with the `ffmpeg` program into the frame store,
//! resampled to a fixed fps with the short side scaled to S, as JPEG folders or u8 `.npy` arrays.
//!
//! - Parallel over videos (rayon), one ffmpeg thread each, since the parallelism is across videos.
//! - Resumable: a video whose folder already holds `meta.json` is skipped; each video is written
//!   into `.tmp-<id>` and renamed when complete, so an interrupted run leaves no half video.
//! - A video that fails is recorded (id, file, ffmpeg's message) in `prepare_report.json` and the
//!   returned report; it never stops the run.
//!
//! The npy path reads ffmpeg's output as a PPM stream on a pipe, so frame sizes come from the
//! decoder itself (rotation and odd aspect ratios included) and no intermediate files are written.

use crate::data::atomic::{fresh_dir, replace_dir, temp_sibling, write_json};
use crate::data::frames::{check_video_id, jpeg_name, write_meta, FrameFormat, VideoMeta, META_FILE, NPY_FILE};
use crate::data::npy::FrameWriter;
use crate::error::{Error, Result};
use rayon::prelude::*;
use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Name of the report written into the output folder.
pub const REPORT_FILE: &str = "prepare_report.json";
/// File extensions taken as videos (case-insensitive).
pub const VIDEO_EXTENSIONS: [&str; 4] = ["mp4", "mkv", "webm", "avi"];

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
}

/// One video that could not be prepared.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PrepareFailure {
    pub video: String,
    pub file: PathBuf,
    pub error: String,
}

/// Outcome of a run (also written to `REPORT_FILE`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct PrepareReport {
    pub options: PrepareOptions,
    pub prepared: Vec<String>,
    pub already_done: Vec<String>,
    pub failed: Vec<PrepareFailure>,
}

impl PrepareOptions {
    fn validate(&self) -> Result<()> {
        if !(self.fps > 0.0 && self.fps.is_finite()) {
            return Err(Error::Config { flag: "--fps".into(), msg: format!("{} (must be > 0)", self.fps) });
        }
        if self.short_side < 16 {
            return Err(Error::Config {
                flag: "--short-side".into(),
                msg: format!("{} (must be ≥ 16)", self.short_side),
            });
        }
        Ok(())
    }
}

/// Fails with installation advice unless `ffmpeg -version` runs.
pub fn check_ffmpeg(ffmpeg: &Path) -> Result<()> {
    let ok = Command::new(ffmpeg).arg("-version").stdout(Stdio::null()).stderr(Stdio::null()).status();
    match ok {
        Ok(status) if status.success() => Ok(()),
        _ => Err(Error::Config {
            flag: "ffmpeg".into(),
            msg: format!(
                "cannot run `{} -version`; install ffmpeg (Debian/Ubuntu: `apt-get install ffmpeg`) or pass --ffmpeg PATH",
                ffmpeg.display()
            ),
        }),
    }
}

/// The video files in `dir` (not recursive), sorted by file name, with their ids (file stems).
pub fn find_videos(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        if path.is_file() && ext.is_some_and(|e| VIDEO_EXTENSIONS.contains(&e.as_str())) {
            let id = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            found.push((id, path));
        }
    }
    found.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(found)
}

/// Decodes every video of `opts.videos` into `opts.out`, ticking `progress` once per video, and
/// writes the report. Only setup problems (no ffmpeg, unreadable folders) are errors.
pub fn prepare(opts: &PrepareOptions, progress: &indicatif::ProgressBar) -> Result<PrepareReport> {
    opts.validate()?;
    let videos = find_videos(&opts.videos)?;
    check_ffmpeg(&opts.ffmpeg)?;
    fs::create_dir_all(&opts.out).map_err(|e| Error::io(&opts.out, e))?;
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

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs)
        .build()
        .map_err(|e| Error::Config { flag: "--jobs".into(), msg: e.to_string() })?;
    let outcomes: Vec<(String, PathBuf, Outcome)> = pool.install(|| {
        todo.into_par_iter()
            .map(|(id, file)| {
                let outcome = prepare_one(opts, &id, &file);
                progress.inc(1);
                (id, file, outcome)
            })
            .collect()
    });
    let mut report = PrepareReport { options: opts.clone(), prepared: Vec::new(), already_done: Vec::new(), failed };
    for (id, file, outcome) in outcomes {
        match outcome {
            Outcome::Prepared => report.prepared.push(id),
            Outcome::AlreadyDone => report.already_done.push(id),
            Outcome::Failed(error) => report.failed.push(PrepareFailure { video: id, file, error }),
        }
    }
    report.failed.sort_by(|a, b| a.video.cmp(&b.video));
    write_json(&opts.out.join(REPORT_FILE), &report)?;
    Ok(report)
}

enum Outcome {
    Prepared,
    AlreadyDone,
    Failed(String),
}

fn prepare_one(opts: &PrepareOptions, id: &str, file: &Path) -> Outcome {
    let dest = opts.out.join(id);
    if dest.join(META_FILE).is_file() {
        return Outcome::AlreadyDone;
    }
    let tmp = temp_sibling(&dest);
    let result = fresh_dir(&tmp).map_err(|e| e.to_string()).and_then(|()| match opts.format {
        FrameFormat::Jpeg => decode_jpeg(opts, file, &tmp),
        FrameFormat::Npy => decode_npy(opts, file, &tmp),
    });
    let result = result
        .and_then(|meta| write_meta(&tmp, &meta).and_then(|()| replace_dir(&tmp, &dest)).map_err(|e| e.to_string()));
    match result {
        Ok(_) => Outcome::Prepared,
        Err(error) => {
            // Best effort: the next run starts this video from scratch anyway.
            let _ = fs::remove_dir_all(&tmp);
            Outcome::Failed(error)
        }
    }
}

/// ffmpeg arguments shared by both formats: quiet, one thread, first video stream, fps + scale.
fn ffmpeg_command(opts: &PrepareOptions, file: &Path) -> Command {
    let s = opts.short_side;
    // -2 keeps the aspect ratio with an even long side; the short side is exactly S.
    let filter = format!("fps={},scale=w='if(lte(iw,ih),{s},-2)':h='if(lte(iw,ih),-2,{s})'", opts.fps);
    let mut cmd = Command::new(&opts.ffmpeg);
    cmd.args(["-nostdin", "-hide_banner", "-loglevel", "error", "-threads", "1", "-i"])
        .arg(file)
        .args(["-map", "0:v:0", "-an", "-sn", "-vf", &filter]);
    cmd
}

/// The last lines of ffmpeg's stderr, for the report.
fn ffmpeg_message(stderr: &[u8], status: std::process::ExitStatus) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = lines[lines.len().saturating_sub(3)..].join(" | ");
    format!("ffmpeg failed ({status}): {tail}")
}

fn decode_jpeg(opts: &PrepareOptions, file: &Path, tmp: &Path) -> std::result::Result<VideoMeta, String> {
    let output = ffmpeg_command(opts, file)
        .args(["-q:v", "2", "-start_number", "1"])
        .arg(tmp.join("img_%05d.jpg"))
        .output()
        .map_err(|e| format!("cannot run ffmpeg: {e}"))?;
    if !output.status.success() {
        return Err(ffmpeg_message(&output.stderr, output.status));
    }
    let frames = fs::read_dir(tmp).map_err(|e| e.to_string())?.count();
    if frames == 0 {
        return Err("ffmpeg produced no frames".into());
    }
    // Frames are numbered contiguously from img_00001.jpg; the first one gives the size.
    if !tmp.join(jpeg_name(frames - 1)).is_file() {
        return Err(format!("ffmpeg wrote {frames} files but not {}", jpeg_name(frames - 1)));
    }
    let first = fs::read(tmp.join(jpeg_name(0))).map_err(|e| e.to_string())?;
    let mut decoder = zune_jpeg::JpegDecoder::new(zune_jpeg::zune_core::bytestream::ZCursor::new(&first));
    decoder.decode_headers().map_err(|e| format!("ffmpeg wrote an unreadable JPEG: {e:?}"))?;
    let (width, height) = decoder.dimensions().ok_or("ffmpeg wrote a JPEG without dimensions")?;
    Ok(VideoMeta { format: FrameFormat::Jpeg, fps: opts.fps, frames, height, width })
}

fn decode_npy(opts: &PrepareOptions, file: &Path, tmp: &Path) -> std::result::Result<VideoMeta, String> {
    let mut child = ffmpeg_command(opts, file)
        .args(["-f", "image2pipe", "-c:v", "ppm", "-"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run ffmpeg: {e}"))?;
    // Drain stderr on its own thread so a chatty ffmpeg cannot block on a full pipe.
    let mut stderr = child.stderr.take().ok_or("ffmpeg stderr missing")?;
    let stderr_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    let stdout = child.stdout.take().ok_or("ffmpeg stdout missing")?;
    let written = write_ppm_stream(BufReader::new(stdout), &tmp.join(NPY_FILE));
    let status = child.wait().map_err(|e| format!("ffmpeg: {e}"))?;
    let stderr = stderr_thread.join().unwrap_or_default();
    if !status.success() {
        return Err(ffmpeg_message(&stderr, status));
    }
    let (frames, height, width) = written?;
    if frames == 0 {
        return Err("ffmpeg produced no frames".into());
    }
    Ok(VideoMeta { format: FrameFormat::Npy, fps: opts.fps, frames, height, width })
}

/// Reads one whitespace-delimited ASCII number of a PPM header.
fn ppm_number(reader: &mut impl BufRead) -> std::result::Result<Option<usize>, String> {
    let mut digits = String::new();
    loop {
        let mut byte = [0u8];
        if reader.read(&mut byte).map_err(|e| e.to_string())? == 0 {
            return if digits.is_empty() { Ok(None) } else { Err("truncated PPM header".into()) };
        }
        match byte[0] {
            b'0'..=b'9' => digits.push(byte[0] as char),
            b' ' | b'\t' | b'\n' | b'\r' if digits.is_empty() => {}
            b' ' | b'\t' | b'\n' | b'\r' => return digits.parse().map(Some).map_err(|e| format!("PPM header: {e}")),
            other => return Err(format!("unexpected byte {other:#x} in PPM header")),
        }
    }
}

/// Copies a stream of binary PPM (P6, maxval 255) frames into a `.npy` array; returns (T, H, W).
fn write_ppm_stream(mut reader: impl BufRead, path: &Path) -> std::result::Result<(usize, usize, usize), String> {
    let mut writer: Option<FrameWriter> = None;
    let mut frame = Vec::new();
    loop {
        let mut magic = [0u8; 2];
        match reader.read(&mut magic[..1]).map_err(|e| e.to_string())? {
            0 => break,
            _ => reader.read_exact(&mut magic[1..]).map_err(|e| e.to_string())?,
        }
        if &magic != b"P6" {
            return Err(format!("ffmpeg output is not a PPM stream (magic {magic:?})"));
        }
        let (Some(width), Some(height), Some(255)) =
            (ppm_number(&mut reader)?, ppm_number(&mut reader)?, ppm_number(&mut reader)?)
        else {
            return Err("unsupported PPM header (need 8-bit P6)".into());
        };
        if width == 0 || height == 0 || width > 65535 || height > 65535 {
            return Err(format!("ffmpeg produced a {width}x{height} frame"));
        }
        if writer.is_none() {
            writer = Some(FrameWriter::create(path, &[height, width, 3]).map_err(|e| e.to_string())?);
        }
        frame.resize(height * width * 3, 0);
        reader.read_exact(&mut frame).map_err(|e| format!("truncated frame: {e}"))?;
        if let Some(w) = writer.as_mut() {
            if w.frame_shape() != [height, width, 3] {
                return Err(format!("frame size changed to {width}x{height} mid-video"));
            }
            w.push(&frame).map_err(|e| e.to_string())?;
        }
    }
    match writer {
        Some(w) => {
            let shape = w.frame_shape().to_vec();
            let frames = w.finish().map_err(|e| e.to_string())?;
            Ok((frames, shape[0], shape[1]))
        }
        None => Ok((0, 0, 0)),
    }
}
