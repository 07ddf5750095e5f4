//! `lofi prepare`: decodes a folder of videos into the frame store (see `lofi::data::prepare`).

use crate::cli::progress_bar;
use anyhow::{bail, Context};
use lofi::data::frames::FrameFormat;
use lofi::data::prepare::{prepare, PrepareOptions, REPORT_FILE};
use std::path::PathBuf;

/// Storage format of the prepared frames.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum Format {
    /// JPEG folders img_00001.jpg … (compact; lossy).
    Jpeg,
    /// One u8 array frames.npy [T, H, W, 3] per video (lossless; large).
    Npy,
}

/// Decode the videos of a folder (.mp4 .mkv .webm .avi .mov .m4v) with ffmpeg into the frame
/// store: JPEG folders (--format jpeg, the default) or one u8 .npy array per video (--format npy).
/// Other files are listed as skipped. Resumable; truncated videos are failures (or, with
/// --allow-partial, stored and listed as partial).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Folder holding the video files: .mp4 .mkv .webm .avi .mov .m4v, any case (not searched recursively).
    #[arg(long)]
    videos: PathBuf,
    /// Frame store to write (one folder per video id = file name without extension).
    #[arg(long)]
    out: PathBuf,
    /// Frames per second of the stored frames, in (0, 1000].
    #[arg(long)]
    fps: f64,
    /// Short side of the stored frames in pixels, 16..=8192 (the long side keeps the aspect ratio).
    #[arg(long)]
    short_side: usize,
    /// Storage format: jpeg (img_00001.jpg … per video) or npy (frames.npy u8 [T, H, W, 3]).
    #[arg(long, value_enum, default_value_t = Format::Jpeg)]
    format: Format,
    /// Videos decoded at once (0 = one per core; at most 4 per core).
    #[arg(long, default_value_t = 0)]
    jobs: usize,
    /// The ffmpeg program.
    #[arg(long, default_value = "ffmpeg")]
    ffmpeg: PathBuf,
    /// The ffprobe program (default: the one beside --ffmpeg, else on PATH).
    #[arg(long)]
    ffprobe: Option<PathBuf>,
    /// Store videos whose decode is shorter than their duration (listed as partial) instead of failing them.
    #[arg(long)]
    allow_partial: bool,
    /// Re-decode videos the store holds with other --fps / --short-side / --format.
    #[arg(long)]
    force: bool,
    /// Exit successfully even if some videos could not be decoded (they are listed either way).
    #[arg(long)]
    skip_bad_videos: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let opts = PrepareOptions {
        videos: args.videos,
        out: args.out,
        fps: args.fps,
        short_side: args.short_side,
        format: match args.format {
            Format::Jpeg => FrameFormat::Jpeg,
            Format::Npy => FrameFormat::Npy,
        },
        jobs: args.jobs,
        ffmpeg: args.ffmpeg,
        ffprobe: args.ffprobe,
        allow_partial: args.allow_partial,
        force: args.force,
    };
    let bar = progress_bar("prepare");
    let report = prepare(&opts, &bar).with_context(|| format!("lofi prepare {}", opts.videos.display()))?;
    bar.finish_and_clear();
    let report_path = opts.out.join(REPORT_FILE);
    println!(
        "prepared {} videos, {} already done, {} failed (report: {})",
        report.prepared.len(),
        report.already_done.len(),
        report.failed.len(),
        report_path.display()
    );
    if !report.skipped.is_empty() {
        let names: Vec<String> = report
            .skipped
            .iter()
            .map(|s| s.file.file_name().map_or_else(|| s.file.display().to_string(), |n| n.to_string_lossy().into()))
            .collect();
        println!("skipped {} files that are not decoded: {}", names.len(), names.join(", "));
    }
    for partial in &report.partial {
        println!(
            "  partial {} ({}), stored (--allow-partial): {}",
            partial.video,
            partial.file.display(),
            partial.error
        );
    }
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    for failure in &report.failed {
        eprintln!("  failed {} ({}): {}", failure.video, failure.file.display(), failure.error);
    }
    if !report.failed.is_empty() {
        if args.skip_bad_videos {
            println!("skipped {} bad videos (--skip-bad-videos)", report.failed.len());
        } else {
            bail!(
                "{} videos could not be decoded (listed above and in {}); fix them or pass --skip-bad-videos",
                report.failed.len(),
                report_path.display()
            );
        }
    }
    Ok(())
}
