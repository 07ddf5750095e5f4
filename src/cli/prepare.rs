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

/// Decode mp4/mkv/webm/avi files with ffmpeg into the frame store.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Folder holding the video files (not searched recursively).
    #[arg(long)]
    videos: PathBuf,
    /// Frame store to write (one folder per video id = file name without extension).
    #[arg(long)]
    out: PathBuf,
    /// Frames per second of the stored frames.
    #[arg(long)]
    fps: f64,
    /// Short side of the stored frames in pixels (the long side keeps the aspect ratio).
    #[arg(long)]
    short_side: usize,
    #[arg(long, value_enum, default_value_t = Format::Jpeg)]
    format: Format,
    /// Videos decoded at once (0 = one per core).
    #[arg(long, default_value_t = 0)]
    jobs: usize,
    /// The ffmpeg program.
    #[arg(long, default_value = "ffmpeg")]
    ffmpeg: PathBuf,
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
