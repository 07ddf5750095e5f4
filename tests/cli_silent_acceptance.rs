//! Silent acceptance ends (issue 12, item 7), checked on the built binary: unknown keys in
//! annotation and result files are a warning naming the key, the video and the file (an error
//! under `--strict`); every flag error exits 2 with the flag named; an OS error is printed once;
//! no message echoes more than a few hundred bytes of the input; `lofi info --model gtad` refuses
//! a width whose parameter count would wrap, and `--in-channels` needs `--model`.

use std::path::PathBuf;
use std::process::Command;

struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `lofi ARGS` in a fresh folder holding `files`.
fn lofi(test: &str, files: &[(&str, &str)], args: &[&str]) -> Outcome {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli_silent").join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let out = Command::new(env!("CARGO_BIN_EXE_lofi"))
        .args(args)
        .current_dir(&dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run lofi: {e}"));
    let outcome = Outcome {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(!outcome.stderr.contains("panicked"), "{test}: lofi panicked:\n{}", outcome.stderr);
    outcome
}

/// `annotation` (not `annotations`) drops every segment of v2 unless someone says so.
const GT_MISSPELT: &str = r#"{"version": "1.3", "database": {
  "v1": {"subset": "validation", "duration": 100.0, "url": "u", "resolution": "1x1",
         "annotations": [{"segment": [10.0, 20.0], "label": "A"}]},
  "v2": {"subset": "validation", "duration": 100.0, "annotation": [{"segment": [1.0, 2.0], "label": "A"}]}}}"#;
const PRED: &str = r#"{"version": "x", "results": {"v1": [{"label": "A", "score": 0.9, "segment": [10.0, 20.0]}]},
  "external_data": {"used": false}}"#;
const PRED_UNKNOWN: &str = r#"{"version": "x", "results": {"v1": [
  {"label": "A", "score": 0.9, "segment": [10.0, 20.0], "scroe": 1.0}]}}"#;
const GT_CLEAN: &str = r#"{"database": {
  "v1": {"subset": "validation", "duration": 100.0, "annotations": [{"segment": [10.0, 20.0], "label": "A"}]}}}"#;

#[test]
fn unknown_keys_warn_naming_key_video_and_file() {
    let out = lofi(
        "warn",
        &[("gt.json", GT_MISSPELT), ("pred.json", PRED_UNKNOWN)],
        &["eval", "--gt", "gt.json", "--pred", "pred.json"],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let gt_line = out.stderr.lines().find(|l| l.contains("\"annotation\"")).unwrap_or_default();
    assert!(
        gt_line.starts_with("warning:") && gt_line.contains("gt.json") && gt_line.contains("video v2"),
        "{}",
        out.stderr
    );
    let pred_line = out.stderr.lines().find(|l| l.contains("\"scroe\"")).unwrap_or_default();
    assert!(pred_line.contains("pred.json") && pred_line.contains("video v1"), "{}", out.stderr);
    // Keys the layouts define (url, resolution, external_data) are not warned about.
    assert!(!out.stderr.contains("\"url\"") && !out.stderr.contains("external_data"), "{}", out.stderr);
}

#[test]
fn strict_refuses_unknown_keys_and_accepts_clean_files() {
    let out = lofi(
        "strict",
        &[("gt.json", GT_MISSPELT), ("pred.json", PRED)],
        &["eval", "--gt", "gt.json", "--pred", "pred.json", "--strict"],
    );
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(out.stderr.contains("gt.json") && out.stderr.contains("\"annotation\""), "{}", out.stderr);
    assert!(out.stderr.contains("database.v2"), "{}", out.stderr);
    let out = lofi(
        "strict_pred",
        &[("gt.json", GT_CLEAN), ("pred.json", PRED_UNKNOWN)],
        &["eval", "--gt", "gt.json", "--pred", "pred.json", "--strict"],
    );
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(out.stderr.contains("pred.json") && out.stderr.contains("\"scroe\""), "{}", out.stderr);
    let out = lofi(
        "strict_ok",
        &[("gt.json", GT_CLEAN), ("pred.json", PRED)],
        &["eval", "--gt", "gt.json", "--pred", "pred.json", "--strict"],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);
}

#[test]
fn every_flag_error_exits_2_naming_the_flag() {
    let files = [("gt.json", GT_CLEAN), ("pred.json", PRED)];
    fn eval(tiou: &str) -> Vec<&str> {
        vec!["eval", "--gt", "gt.json", "--pred", "pred.json", "--tiou", tiou]
    }
    for (test, args, flag) in [
        ("tiou_nan", eval("nan"), "--tiou"),
        ("tiou_range", eval("1.5"), "--tiou"),
        ("tiou_step", eval("0.5:0:0.9"), "--tiou"),
        ("policy", vec!["eval", "--gt", "gt.json", "--pred", "pred.json", "--gt-segments", "nope"], "--gt-segments"),
        ("model", vec!["info", "--model", "bmn"], "--model"),
        ("in_channels_bad", vec!["info", "--model", "gtad", "--in-channels", "510"], "--in-channels"),
        ("in_channels_alone", vec!["info", "--in-channels", "512"], "--model"),
        ("in_channels_huge", vec!["info", "--model", "gtad", "--in-channels", "4611686018427387904"], "--in-channels"),
        ("synth_videos", vec!["synth", "--out", "s", "--videos", "0"], "--videos"),
        ("synth_sigma", vec!["synth", "--out", "s", "--wander-sigma", "nan"], "--wander-sigma"),
    ] {
        let out = lofi(test, &files, &args);
        assert_eq!(out.code, Some(2), "{test}: {args:?}: {}", out.stderr);
        assert!(out.stderr.contains(flag), "{test}: stderr does not name {flag}: {}", out.stderr);
    }
}

#[test]
fn huge_in_channels_are_refused_not_wrapped() {
    // 2^62 channels: the count (≈ 192 per channel) would wrap a 64-bit usize.
    let out = lofi("huge", &[], &["info", "--model", "gtad", "--in-channels", "4611686018427387904"]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(!out.stdout.contains("parameters"), "{}", out.stdout);
    let out = lofi("wide", &[], &["info", "--model", "gtad", "--in-channels", "16777216"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("parameters: 3,"), "{}", out.stdout);
}

#[test]
fn os_errors_are_printed_once() {
    let out = lofi("enoent", &[("pred.json", PRED)], &["eval", "--gt", "missing.json", "--pred", "pred.json"]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert_eq!(out.stderr.matches("No such file or directory").count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("missing.json"), "{}", out.stderr);
}

#[test]
fn messages_quote_at_most_a_few_hundred_bytes_of_input() {
    let long = "x".repeat(100_000);
    let cases = [
        (
            "long_label_type",
            format!(r#"{{"results": {{"v1": [{{"label": "A", "score": "{long}", "segment": [1, 2]}}]}}}}"#),
        ),
        ("long_key", format!(r#"{{"results": {{"{long}": [{{"label": "A", "score": true, "segment": [1, 2]}}]}}}}"#)),
    ];
    for (test, pred) in cases {
        let out = lofi(
            test,
            &[("gt.json", GT_CLEAN), ("pred.json", &pred)],
            &["eval", "--gt", "gt.json", "--pred", "pred.json"],
        );
        assert_eq!(out.code, Some(1), "{test}: {}", &out.stderr[..out.stderr.len().min(500)]);
        assert!(out.stderr.len() < 1500, "{test}: {} bytes of stderr", out.stderr.len());
    }
    let gt = format!(
        r#"{{"database": {{"v1": {{"subset": "validation", "duration": 1, "annotations": [{{"segment": [0, 1], "label": "{long}"}}]}}}}, "taxonomy": [{{"nodeName": "A"}}]}}"#
    );
    let out = lofi(
        "long_label",
        &[("gt.json", &gt), ("pred.json", PRED)],
        &["eval", "--gt", "gt.json", "--pred", "pred.json"],
    );
    assert_eq!(out.code, Some(1), "{}", &out.stderr[..out.stderr.len().min(500)]);
    assert!(out.stderr.len() < 1500, "{} bytes of stderr", out.stderr.len());
    let out = lofi("long_model", &[], &["info", "--model", &long]);
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.len() < 1500, "{} bytes of stderr", out.stderr.len());
    let out = lofi(
        "long_unknown_key",
        &[("gt.json", GT_CLEAN), ("pred.json", &format!(r#"{{"results": {{}}, "{long}": 1}}"#))],
        &["eval", "--gt", "gt.json", "--pred", "pred.json"],
    );
    assert!(out.stderr.len() < 1500, "{} bytes of stderr", out.stderr.len());
}
