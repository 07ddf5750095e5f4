//! `lofi synth` on hostile flags and output folders (issue 12, items 2 and 3): absurd sizes and
//! knobs are refused with the flag named (never a panic, an abort or a wrapped size), clips are
//! streamed so memory stays bounded, the free space is checked up front, a foreign folder is
//! refused unless `--force`, and regenerating replaces the dataset as a whole — also when the
//! run is killed half-way.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lofi::data::npy;
use lofi::data::synth::clips::{clip_bytes, render_clip};
use lofi::data::synth::SynthConfig;

fn lofi() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lofi"))
}

fn scratch(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("synth_hardening").join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

fn synth(out: &Path, args: &[&str]) -> std::process::Output {
    let out = lofi().arg("synth").args(args).arg("--out").arg(out).output().unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "lofi synth {args:?} panicked: {stderr}");
    out
}

/// Every file under `dir` (relative path → bytes), sorted.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap_or(&path).to_string_lossy().into_owned();
                out.push((rel, std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"))));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn absurd_sizes_and_knobs_are_refused_naming_the_flag() {
    let dir = scratch("absurd");
    let max = u64::MAX.to_string();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--videos", &max], "--videos"),
        (vec!["--videos", "9223372036854775808"], "--videos"),
        (vec!["--clips", &max], "--clips"),
        (vec!["--videos", "1", "--clips", "4611686018427387904"], "--clips"),
        (vec!["--wander-sigma", "1e308"], "--wander-sigma"),
        (vec!["--distractor-sigma", "nan"], "--distractor-sigma"),
        (vec!["--distractor-sigma", "inf"], "--distractor-sigma"),
        (vec!["--ramp", "inf"], "--ramp"),
        (vec!["--ramp=-1"], "--ramp"),
        (vec!["--ctx-p", "nan"], "--ctx-p"),
    ];
    for (args, flag) in cases {
        let out = synth(&dir.join("x"), &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(flag), "{args:?}: stderr does not name {flag}: {stderr}");
        assert!(!dir.join("x").exists(), "{args:?} wrote something");
    }
    // Sizes that fit in 64 bits but not on this disk: refused before anything is written.
    let out = synth(&dir.join("x"), &["--videos", "1000000", "--clips", "100000000"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("free") && stderr.contains("TB"), "{stderr}");
    assert!(!dir.join("x").exists());
}

/// Peak resident memory of a child, from `wait4` (kilobytes on Linux).
#[allow(clippy::zombie_processes)] // reaped by wait4 below, which std does not see
fn run_measuring_peak_kb(cmd: &mut Command) -> (i32, i64) {
    let child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap_or_else(|e| panic!("{e}"));
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: waits for our own child and fills the zeroed rusage we own.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(rc, pid, "wait4");
    (libc::WEXITSTATUS(status), usage.ru_maxrss)
}

#[test]
fn clips_stream_to_disk_in_bounded_memory_with_the_same_bytes() {
    let dir = scratch("stream");
    let out = dir.join("s");
    // 20,000 clips are 492 MB of pixels: holding them at once shows in the peak.
    let (code, peak_kb) = run_measuring_peak_kb(
        lofi().args(["synth", "--videos", "1", "--clips", "20000", "--seed", "5", "--out"]).arg(&out),
    );
    assert_eq!(code, 0);
    assert!(peak_kb < 150_000, "peak resident memory {peak_kb} kB for 492 MB of clips");

    // The streamed array holds exactly the clips `render_clip` draws, in order, across batches.
    let cfg = SynthConfig { seed: 5, videos_per_split: 1, clips: 20_000, ..SynthConfig::default() };
    let header = npy::read_header(&out.join("clips/frames.npy")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(header.shape, vec![20_000, 8, 32, 32, 3]);
    let bytes = std::fs::read(out.join("clips/frames.npy")).unwrap_or_else(|e| panic!("{e}"));
    let data = &bytes[header.data_offset as usize..];
    let labels: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("clips/labels.json")).unwrap_or_default()).unwrap_or_default();
    let n = clip_bytes(&cfg);
    let mut clip = vec![0u8; n];
    for i in [0, 1, 1023, 1024, 1025, 4097, 19_999] {
        let info = render_clip(&cfg, i, &mut clip);
        assert!(clip == data[i * n..(i + 1) * n], "clip {i} differs");
        assert_eq!(labels["clips"][i]["phase"].as_f64(), Some(info.phase), "labels of clip {i}");
    }
    assert_eq!(labels["clips"].as_array().map(Vec::len), Some(20_000));
}

#[test]
fn a_foreign_folder_is_refused_unless_forced() {
    let dir = scratch("foreign");
    let out = dir.join("mine");
    std::fs::create_dir_all(out.join("chapters")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(out.join("thesis.tex"), b"years of work").unwrap_or_else(|e| panic!("{e}"));
    let before = tree(&out);
    let run = synth(&out, &["--videos", "1", "--clips", "3"]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--out") && stderr.contains("thesis.tex") && stderr.contains("--force"), "{stderr}");
    assert!(tree(&out) == before, "the folder was changed");
    let run = synth(&out, &["--videos", "1", "--clips", "3", "--force"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(!out.join("thesis.tex").exists() && out.join("synth.json").is_file());
}

#[test]
fn regenerating_replaces_the_dataset_as_a_whole() {
    let dir = scratch("regen");
    let out = dir.join("s");
    assert!(synth(&out, &["--videos", "5", "--clips", "10", "--seed", "1"]).status.success());
    assert!(out.join("frames/train_0004").is_dir());
    let fresh = dir.join("fresh");
    assert!(synth(&fresh, &["--videos", "2", "--clips", "10", "--seed", "2"]).status.success());
    assert!(synth(&out, &["--videos", "2", "--clips", "10", "--seed", "2"]).status.success());
    // Exactly what a fresh run writes: no frame folder of the larger seed-1 run survives.
    assert!(tree(&out) == tree(&fresh), "regenerated output differs from a fresh one");
    assert!(!out.join("frames/train_0004").exists());
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("synth.json")).unwrap_or_default()).unwrap_or_default();
    assert_eq!(record["config"]["videos_per_split"], 2);
    assert_eq!(record["config"]["seed"], 2);
    // Nothing is left beside the output.
    let siblings: Vec<String> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(siblings.len(), 2, "{siblings:?}");
}

#[test]
fn a_killed_run_leaves_the_previous_dataset_whole() {
    let dir = scratch("killed");
    let out = dir.join("s");
    assert!(synth(&out, &["--videos", "2", "--clips", "10", "--seed", "1"]).status.success());
    let before = tree(&out);
    let mut child = lofi()
        .args(["synth", "--videos", "40", "--clips", "50000", "--seed", "2", "--out"])
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    // Kill it once it has started writing (its build folder appeared) — or after 2 s at most.
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(2) {
        let building = std::fs::read_dir(&dir).into_iter().flatten().flatten().count() > 1;
        if building {
            std::thread::sleep(Duration::from_millis(300));
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap_or_else(|e| panic!("{e}"));
    let _ = child.wait();
    assert!(tree(&out) == before, "a killed run changed the output: seeds mixed");
    // The next run removes the dead run's build folder and completes.
    assert!(synth(&out, &["--videos", "1", "--clips", "2", "--seed", "3"]).status.success());
    let siblings: Vec<String> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(siblings, vec!["s".to_string()], "leftovers beside the output");
}
