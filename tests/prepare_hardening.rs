//! `lofi prepare` is honest (issue 12, item 4), with the real ffmpeg and with stand-in programs:
//! a truncated video is a failure (or, with `--allow-partial`, a stored video listed as partial);
//! resuming with other options is refused unless `--force`; temporary names never touch a user's
//! files; two runs cannot share a store; ffmpeg dies with lofi; files that are not decoded are
//! listed, `.mov`/`.m4v` are decoded; `--fps`, `--short-side`, `--jobs` are bounded.
//! Without ffmpeg the ffmpeg tests print SKIPPED, except under CI, where they fail.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn require_ffmpeg(test: &str) -> bool {
    let ok = ["ffmpeg", "ffprobe"]
        .iter()
        .all(|p| Command::new(p).arg("-version").output().is_ok_and(|o| o.status.success()));
    if ok {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{test}: ffmpeg/ffprobe are not installed but CI is set; install them with `apt-get install -y ffmpeg`");
    }
    println!("SKIPPED {test}: ffmpeg not found (install it with `apt-get install ffmpeg`)");
    false
}

fn scratch(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("prepare_hardening").join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("videos")).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

/// A `seconds`-long noisy test pattern (noise keeps the file large enough to cut in half).
fn make_video(path: &Path, seconds: f64, extra: &[&str]) {
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc=duration={seconds}:size=96x64:rate=25,noise=alls=60:allf=t"))
        .args(extra)
        .arg(path)
        .status()
        .unwrap_or_else(|e| panic!("ffmpeg: {e}"));
    assert!(status.success(), "ffmpeg could not make {}", path.display());
}

fn prepare(dir: &Path, extra: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_lofi"))
        .args(["prepare", "--videos"])
        .arg(dir.join("videos"))
        .arg("--out")
        .arg(dir.join("store"))
        .args(extra)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"), "{}", String::from_utf8_lossy(&out.stderr));
    out
}

fn report(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("store/prepare_report.json")).unwrap_or_default())
        .unwrap_or_default()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn a_truncated_video_is_a_failure_or_with_allow_partial_a_listed_partial() {
    if !require_ffmpeg("a_truncated_video_is_a_failure_or_with_allow_partial_a_listed_partial") {
        return;
    }
    let dir = scratch("truncated");
    let full = dir.join("full.mp4");
    make_video(&full, 4.0, &["-pix_fmt", "yuv420p", "-movflags", "+faststart"]);
    let bytes = std::fs::read(&full).unwrap_or_default();
    std::fs::write(dir.join("videos/cut.mp4"), &bytes[..bytes.len() / 2]).unwrap_or_else(|e| panic!("{e}"));
    for format in ["npy", "jpeg"] {
        let _ = std::fs::remove_dir_all(dir.join("store"));
        let run = prepare(&dir, &["--fps", "8", "--short-side", "32", "--format", format]);
        assert!(!run.status.success(), "{format}: a truncated video passed as prepared");
        let r = report(&dir);
        assert_eq!(r["prepared"].as_array().map(Vec::len), Some(0), "{r}");
        let error = r["failed"][0]["error"].as_str().unwrap_or_default();
        assert!(error.contains("short decode") && error.contains("of the 32 frames"), "{format}: {r}");
        assert!(!dir.join("store/cut").exists());

        let run = prepare(&dir, &["--fps", "8", "--short-side", "32", "--format", format, "--allow-partial"]);
        assert!(run.status.success(), "{}", text(&run.stderr));
        let r = report(&dir);
        assert_eq!(r["partial"][0]["video"], "cut", "{r}");
        assert!(text(&run.stdout).contains("partial cut"), "{}", text(&run.stdout));
        assert!(dir.join("store/cut/meta.json").is_file());
    }
}

#[test]
fn resuming_with_other_options_is_refused_unless_forced() {
    if !require_ffmpeg("resuming_with_other_options_is_refused_unless_forced") {
        return;
    }
    let dir = scratch("options");
    make_video(&dir.join("videos/a.mp4"), 1.0, &["-pix_fmt", "yuv420p"]);
    assert!(prepare(&dir, &["--fps", "4", "--short-side", "32"]).status.success());
    let meta = || -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(dir.join("store/a/meta.json")).unwrap_or_default()).unwrap_or_default()
    };
    assert_eq!(meta()["fps"], 4.0);
    for (args, flag) in [
        (vec!["--fps", "8", "--short-side", "32"], "--fps 8"),
        (vec!["--fps", "4", "--short-side", "48"], "--short-side 48"),
        (vec!["--fps", "4", "--short-side", "32", "--format", "npy"], "--format"),
    ] {
        let run = prepare(&dir, &args);
        let stderr = text(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(flag) && stderr.contains("--force"), "{args:?}: {stderr}");
        assert_eq!(meta()["fps"], 4.0, "the refused run changed the store");
    }
    let run = prepare(&dir, &["--fps", "8", "--short-side", "32", "--force"]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert_eq!(meta()["fps"], 8.0);
    // The store now records the new options: a plain resume with them is accepted.
    let run = prepare(&dir, &["--fps", "8", "--short-side", "32"]);
    assert!(text(&run.stdout).contains("1 already done"), "{}", text(&run.stdout));
}

#[test]
fn temporary_names_never_touch_users_files_and_mov_m4v_are_decoded() {
    if !require_ffmpeg("temporary_names_never_touch_users_files_and_mov_m4v_are_decoded") {
        return;
    }
    let dir = scratch("names");
    make_video(&dir.join("videos/a.mov"), 1.0, &["-pix_fmt", "yuv420p"]);
    make_video(&dir.join("videos/b.M4V"), 1.0, &["-pix_fmt", "yuv420p", "-f", "mp4"]);
    std::fs::write(dir.join("videos/notes.txt"), b"x").unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("videos/subs.srt"), b"x").unwrap_or_else(|e| panic!("{e}"));
    // Names the old code derived from video ids for its temporary and backup folders.
    for name in [".tmp-a", ".old-a", ".tmp-b"] {
        std::fs::create_dir_all(dir.join("store").join(name)).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.join("store").join(name).join("mine.txt"), b"keep").unwrap_or_else(|e| panic!("{e}"));
    }
    let run = prepare(&dir, &["--fps", "4", "--short-side", "32"]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let stdout = text(&run.stdout);
    assert!(stdout.contains("prepared 2 videos"), "{stdout}");
    assert!(
        stdout.contains("skipped 2 files") && stdout.contains("notes.txt") && stdout.contains("subs.srt"),
        "{stdout}"
    );
    assert_eq!(report(&dir)["skipped"].as_array().map(Vec::len), Some(2));
    for name in [".tmp-a", ".old-a", ".tmp-b"] {
        assert!(dir.join("store").join(name).join("mine.txt").is_file(), "{name} was removed");
    }
    // Nothing of lofi's is left outside its work folder.
    let work: Vec<_> = std::fs::read_dir(dir.join("store/.lofi-work")).into_iter().flatten().flatten().collect();
    assert_eq!(work.len(), 1, "only the lock stays in the work folder");
}

/// A stand-in `ffmpeg`/`ffprobe` pair: `-version` succeeds, ffprobe reports 1 s, and a decode
/// records its pid in `pids` and sleeps (so a run can be caught in the middle).
fn slow_tools(dir: &Path) -> (PathBuf, PathBuf) {
    let ffmpeg = dir.join("ffmpeg");
    let ffprobe = dir.join("ffprobe");
    let pids = dir.join("pids");
    let script = format!(
        "#!/bin/sh\nif [ \"$1\" = -version ]; then echo fake; exit 0; fi\necho $$ >> '{}'\nexec sleep 30\n",
        pids.display()
    );
    std::fs::write(&ffmpeg, script).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&ffprobe, "#!/bin/sh\necho '{\"format\": {\"duration\": \"1.0\"}}'\n")
        .unwrap_or_else(|e| panic!("{e}"));
    for p in [&ffmpeg, &ffprobe] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::write(dir.join("videos/a.mp4"), b"not decoded by the stand-in").unwrap_or_else(|e| panic!("{e}"));
    (ffmpeg, ffprobe)
}

fn spawn_slow(dir: &Path, ffmpeg: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_lofi"))
        .args(["prepare", "--fps", "4", "--short-side", "32", "--videos"])
        .arg(dir.join("videos"))
        .arg("--out")
        .arg(dir.join("store"))
        .arg("--ffmpeg")
        .arg(ffmpeg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The pid the stand-in decoder wrote, once it is running (at most 10 s).
fn decoder_pid(dir: &Path) -> i32 {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        if let Some(pid) = std::fs::read_to_string(dir.join("pids")).ok().and_then(|t| t.trim().parse().ok()) {
            return pid;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the stand-in ffmpeg never started");
}

/// Alive and not a zombie (a killed orphan may wait for a reaper that never comes in a container).
fn running(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit(')').next().and_then(|rest| rest.split_whitespace().next()) != Some("Z"),
        Err(_) => false,
    }
}

#[test]
fn ffmpeg_dies_with_lofi_and_a_second_run_is_locked_out() {
    let dir = scratch("killed");
    let (ffmpeg, _) = slow_tools(&dir);
    let mut first = spawn_slow(&dir, &ffmpeg);
    let pid = decoder_pid(&dir);
    assert!(running(pid));

    let second = prepare(&dir, &["--fps", "4", "--short-side", "32", "--ffmpeg", ffmpeg.to_str().unwrap_or_default()]);
    let stderr = text(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("another lofi prepare"), "{stderr}");

    first.kill().unwrap_or_else(|e| panic!("{e}"));
    let _ = first.wait();
    let start = Instant::now();
    while running(pid) && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let survived = running(pid);
    if survived {
        // SAFETY: the stand-in is our grandchild; do not leave it behind.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    assert!(!survived, "the decoder {pid} outlived a SIGKILL of lofi");
}

#[test]
fn fps_short_side_and_jobs_are_bounded() {
    let dir = scratch("bounds");
    for (args, flag) in [
        (vec!["--fps", "1e9", "--short-side", "32"], "--fps"),
        (vec!["--fps", "nan", "--short-side", "32"], "--fps"),
        (vec!["--fps", "8", "--short-side", "100000"], "--short-side"),
        (vec!["--fps", "8", "--short-side", "32", "--jobs", "100000"], "--jobs"),
    ] {
        let run = prepare(&dir, &args);
        let stderr = text(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(flag), "{args:?}: {stderr}");
    }
}
