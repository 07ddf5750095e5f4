//! `lofi prepare` end to end with the real ffmpeg: small mp4/mkv/webm/avi videos made by ffmpeg
//! itself plus a corrupt file, decoded to JPEG folders and to npy, resumed, and read back through
//! the frame store. Without ffmpeg the test prints SKIPPED, except under CI (`CI` set), where it
//! fails: CI installs ffmpeg, so a skip there would hide a broken setup.

use lofi::data::frames::{open_video, FrameFormat};
use lofi::data::sampler::{sample_video, Mode, SamplerConfig};
use lofi::data::stream_rng::stream_rng;
use lofi::fidelity::Fidelity;
use std::path::Path;
use std::process::{Command, Output};

fn ffmpeg_available() -> bool {
    Command::new("ffmpeg").arg("-version").output().is_ok_and(|o| o.status.success())
}

/// True when the test may run; prints SKIPPED (or fails under CI) otherwise.
fn require_ffmpeg(test: &str) -> bool {
    if ffmpeg_available() {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{test}: ffmpeg is not installed but CI is set; install it with `apt-get install -y ffmpeg`");
    }
    println!("SKIPPED {test}: ffmpeg not found (install it with `apt-get install ffmpeg`)");
    false
}

/// Makes a `seconds`-long test-pattern video of `w`×`h` at 25 fps with ffmpeg.
fn make_video(path: &Path, w: usize, h: usize, seconds: f64, codec: &[&str]) {
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc=duration={seconds}:size={w}x{h}:rate=25"))
        .args(codec)
        .arg(path)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg could not make {}", path.display());
}

fn lofi_prepare(videos: &Path, out: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lofi"))
        .args(["prepare", "--videos"])
        .arg(videos)
        .arg("--out")
        .arg(out)
        .args(["--fps", "8", "--short-side", "48"])
        .args(extra)
        .output()
        .expect("lofi runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn prepare_decodes_videos_reports_the_corrupt_one_and_resumes() {
    if !require_ffmpeg("prepare_decodes_videos_reports_the_corrupt_one_and_resumes") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("videos");
    std::fs::create_dir_all(&input).unwrap();
    make_video(&input.join("landscape.mp4"), 96, 64, 2.0, &["-pix_fmt", "yuv420p"]);
    make_video(&input.join("portrait.mkv"), 64, 112, 1.5, &[]);
    make_video(&input.join("clip.webm"), 80, 60, 1.0, &["-c:v", "libvpx", "-b:v", "200k"]);
    make_video(&input.join("old.avi"), 64, 48, 1.0, &["-c:v", "mpeg4"]);
    std::fs::write(input.join("corrupt.mp4"), b"\x00\x00\x00\x18ftypmp42 this is not a video").unwrap();
    std::fs::write(input.join("notes.txt"), b"not a video, ignored").unwrap();

    for format in ["jpeg", "npy"] {
        let out = dir.path().join(format!("store_{format}"));
        let run = lofi_prepare(&input, &out, &["--format", format]);
        let stderr = text(&run.stderr);
        assert!(!run.status.success(), "a corrupt video must make the run fail without --skip-bad-videos");
        assert!(stderr.contains("corrupt") && stderr.contains("--skip-bad-videos"), "{stderr}");

        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("prepare_report.json")).unwrap()).unwrap();
        let failed = report["failed"].as_array().unwrap();
        assert_eq!(failed.len(), 1, "{report}");
        assert_eq!(failed[0]["video"], "corrupt");
        assert!(failed[0]["file"].as_str().unwrap().ends_with("corrupt.mp4"));
        assert!(failed[0]["error"].as_str().unwrap().contains("ffmpeg"), "{report}");
        assert_eq!(report["prepared"].as_array().unwrap().len(), 4);
        assert!(!out.join("corrupt").exists() && !out.join(".tmp-corrupt").exists());

        // (video, seconds, height, width) at short side 48 with an even long side.
        let expected =
            [("landscape", 2.0, 48, 72), ("portrait", 1.5, 84, 48), ("clip", 1.0, 48, 64), ("old", 1.0, 48, 64)];
        for (id, seconds, h, w) in expected {
            let store = open_video(&out, id).unwrap();
            let meta = store.meta();
            assert_eq!((meta.height, meta.width), (h, w), "{id}");
            assert_eq!(meta.fps, 8.0);
            assert_eq!(meta.format, if format == "jpeg" { FrameFormat::Jpeg } else { FrameFormat::Npy });
            let want = (seconds * 8.0) as usize;
            assert!(meta.frames.abs_diff(want) <= 1, "{id}: {} frames, expected about {want}", meta.frames);
            // The frames decode and carry the test pattern (not blank).
            let cfg = SamplerConfig::paper(Fidelity::new(4, 32, 32));
            let mut frames = vec![0u8; cfg.bytes_per_video()];
            sample_video(store.as_ref(), &cfg, Mode::Eval, &mut stream_rng(0, "prepare", 0), &mut frames).unwrap();
            let distinct: std::collections::BTreeSet<u8> = frames.iter().copied().collect();
            assert!(distinct.len() > 32, "{id}: frames look blank");
        }

        // Resume: finished videos are skipped, and --skip-bad-videos accepts the corrupt one.
        let run = lofi_prepare(&input, &out, &["--format", format, "--skip-bad-videos"]);
        let stdout = text(&run.stdout);
        assert!(run.status.success(), "{}", text(&run.stderr));
        assert!(stdout.contains("prepared 0 videos, 4 already done, 1 failed"), "{stdout}");
        assert!(stdout.contains("skipped 1 bad videos"), "{stdout}");
    }
}

#[test]
fn npy_and_jpeg_outputs_agree() {
    if !require_ffmpeg("npy_and_jpeg_outputs_agree") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("videos");
    std::fs::create_dir_all(&input).unwrap();
    make_video(&input.join("a.mp4"), 96, 64, 1.0, &["-pix_fmt", "yuv420p"]);
    let (jpeg, npy) = (dir.path().join("jpeg"), dir.path().join("npy"));
    assert!(lofi_prepare(&input, &jpeg, &["--format", "jpeg"]).status.success());
    assert!(lofi_prepare(&input, &npy, &["--format", "npy"]).status.success());
    let cfg = SamplerConfig::paper(Fidelity::new(2, 48, 48));
    let read = |root: &Path| {
        let store = open_video(root, "a").unwrap();
        let mut out = vec![0u8; cfg.bytes_per_video()];
        sample_video(store.as_ref(), &cfg, Mode::Eval, &mut stream_rng(0, "agree", 0), &mut out).unwrap();
        out
    };
    let (a, b) = (read(&jpeg), read(&npy));
    let mean_diff = a.iter().zip(&b).map(|(x, y)| x.abs_diff(*y) as f64).sum::<f64>() / a.len() as f64;
    assert!(mean_diff < 8.0, "JPEG and npy frames differ by {mean_diff} on average");
}

#[test]
fn prepare_without_ffmpeg_or_with_bad_flags_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let run = lofi_prepare(dir.path(), &dir.path().join("out"), &["--ffmpeg", "/nonexistent/ffmpeg"]);
    assert!(!run.status.success());
    let stderr = text(&run.stderr);
    assert!(stderr.contains("apt-get install ffmpeg"), "{stderr}");

    let run = Command::new(env!("CARGO_BIN_EXE_lofi"))
        .args(["prepare", "--videos"])
        .arg(dir.path())
        .arg("--out")
        .arg(dir.path().join("out"))
        .args(["--fps", "0", "--short-side", "64"])
        .output()
        .unwrap();
    assert!(!run.status.success());
    assert!(text(&run.stderr).contains("--fps"), "{}", text(&run.stderr));

    let run = lofi_prepare(&dir.path().join("missing"), &dir.path().join("out2"), &[]);
    assert!(!run.status.success());
    assert!(text(&run.stderr).contains("missing"), "{}", text(&run.stderr));
}
