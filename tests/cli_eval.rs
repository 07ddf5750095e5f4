//! `lofi eval` as a user runs it (the built binary): a golden case end to end, and bad input —
//! truncated JSON, wrong types, NaN and huge numbers, empty results, reversed and zero-length
//! segments, unknown labels and videos, bad flags — each giving a clear error with a non-zero exit
//! or the documented counted handling, and never a panic.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const GT: &str = r#"{"version": "VERSION 1.3", "database": {
  "v1": {"subset": "validation", "duration": 100.0, "annotations": [{"segment": [10.0, 20.0], "label": "A"}]},
  "t1": {"subset": "training", "duration": 50.0, "annotations": [{"segment": [1.0, 2.0], "label": "B"}]}}}"#;

struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Writes `files` (name, content) to a fresh directory and runs `lofi eval` there with `args`.
fn lofi_eval(test: &str, files: &[(&str, &str)], args: &[&str]) -> Outcome {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli_eval").join(test);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let out = Command::new(env!("CARGO_BIN_EXE_lofi"))
        .arg("eval")
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

/// Runs with GT and the given prediction text; expects failure whose message contains every `needle`.
fn assert_fails(test: &str, pred: &str, needles: &[&str]) {
    let out = lofi_eval(test, &[("gt.json", GT), ("pred.json", pred)], &["--gt", "gt.json", "--pred", "pred.json"]);
    assert!(out.code.is_some_and(|c| c != 0), "{test}: exit {:?}, stdout {}", out.code, out.stdout);
    for needle in needles {
        assert!(out.stderr.contains(needle), "{test}: stderr lacks {needle:?}:\n{}", out.stderr);
    }
}

/// Runs with GT and the given prediction text and `--json`; expects success and returns the object.
fn json_report(test: &str, pred: &str) -> (Value, String) {
    let out =
        lofi_eval(test, &[("gt.json", GT), ("pred.json", pred)], &["--gt", "gt.json", "--pred", "pred.json", "--json"]);
    assert_eq!(out.code, Some(0), "{test}: stderr {}", out.stderr);
    let value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{test}: {e}: {}", out.stdout));
    (value, out.stderr)
}

fn pred_file(dets: &str) -> String {
    format!(r#"{{"version": "x", "results": {{"v1": [{dets}]}}, "external_data": {{}}}}"#)
}

#[test]
fn golden_case_end_to_end_table_and_json() {
    let case = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/eval/notie_0000");
    let (gt, pred) = (case.join("gt.json"), case.join("pred.json"));
    let (gt, pred) = (gt.to_str().unwrap_or_default(), pred.to_str().unwrap_or_default());
    let expected: Value = std::fs::read_to_string(case.join("expected.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_else(|| panic!("cannot read {}/expected.json", case.display()));
    let table = lofi_eval("golden_table", &[], &["--gt", gt, "--pred", pred]);
    assert_eq!(table.code, Some(0), "{}", table.stderr);
    let average = expected["average_mAP"].as_f64().unwrap_or(f64::NAN);
    let line = format!("average mAP {:.2}%", 100.0 * average);
    assert!(table.stdout.contains(&line), "{} lacks {line}", table.stdout);
    let out = lofi_eval("golden_json", &[], &["--gt", gt, "--pred", pred, "--json", "--tiou", "0.5,0.95"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["thresholds"], serde_json::json!([0.5, 0.95]));
    let floats =
        |x: &Value| x.as_array().map(|a| a.iter().filter_map(Value::as_f64).collect::<Vec<_>>()).unwrap_or_default();
    let (got, want) = (floats(&v["mAP"]), floats(&expected["mAP"]));
    assert_eq!((got.len(), want.len()), (2, 10));
    assert!((got[0] - want[0]).abs() < 1e-9 && (got[1] - want[9]).abs() < 1e-9, "{got:?} vs {want:?}");
    let classes: Vec<&String> = v["per_class"].as_object().map(|o| o.keys().collect()).unwrap_or_default();
    assert_eq!(Some(classes.len()), expected["per_class_ap"].as_object().map(|o| o.len()));
}

#[test]
fn truncated_json_is_an_error_naming_the_file() {
    let full = pred_file(r#"{"label": "A", "score": 0.5, "segment": [10, 20]}"#);
    assert_fails("truncated", &full[..full.len() / 2], &["pred.json", "EOF while parsing"]);
    assert_fails("empty_file", "", &["pred.json"]);
    assert_fails("trailing", &format!("{full}]"), &["pred.json", "trailing"]);
}

#[test]
fn wrong_types_name_the_json_path() {
    assert_fails(
        "score_string",
        &pred_file(r#"{"label": "A", "score": "high", "segment": [10, 20]}"#),
        &["results.v1[0].score", "invalid type"],
    );
    assert_fails(
        "segment_short",
        &pred_file(r#"{"label": "A", "score": 0.5, "segment": [10]}"#),
        &["results.v1[0].segment"],
    );
    assert_fails(
        "label_number",
        &pred_file(r#"{"label": 3, "score": 0.5, "segment": [10, 20]}"#),
        &["results.v1[0].label"],
    );
    assert_fails("results_list", r#"{"results": []}"#, &["results", "expected a JSON object"]);
    assert_fails("no_results", r#"{"version": "x"}"#, &["missing field `results`"]);
    assert_fails("video_not_list", r#"{"results": {"v1": {"label": "A"}}}"#, &["results.v1"]);
    assert_fails("duplicate_video", r#"{"results": {"v1": [], "v1": []}}"#, &["duplicate key \"v1\""]);
}

#[test]
fn nan_and_out_of_range_numbers_are_errors_huge_finite_scores_are_fine() {
    assert_fails("nan", &pred_file(r#"{"label": "A", "score": NaN, "segment": [10, 20]}"#), &["results.v1[0].score"]);
    assert_fails(
        "inf_literal",
        &pred_file(r#"{"label": "A", "score": Infinity, "segment": [10, 20]}"#),
        &["pred.json"],
    );
    assert_fails(
        "overflow",
        &pred_file(r#"{"label": "A", "score": 1e400, "segment": [10, 20]}"#),
        &["number out of range"],
    );
    let (v, _) = json_report(
        "huge",
        &pred_file(
            r#"{"label": "A", "score": -1e308, "segment": [10, 20]}, {"label": "A", "score": 1e308, "segment": [50, 60]}"#,
        ),
    );
    // The FP at 1e308 ranks first: AP = 1/2 at every threshold.
    assert_eq!(v["average_mAP"], 0.5);
}

#[test]
fn empty_results_evaluate_to_zero() {
    let (v, _) = json_report("empty", r#"{"version": "x", "results": {}, "external_data": {}}"#);
    assert_eq!(v["average_mAP"], 0.0);
    assert_eq!(v["num_pred"], 0);
}

#[test]
fn reversed_and_zero_length_segments_are_counted() {
    let (v, stderr) = json_report(
        "segments",
        &pred_file(
            r#"{"label": "A", "score": 0.9, "segment": [20, 10]},
               {"label": "A", "score": 0.8, "segment": [15, 15]},
               {"label": "A", "score": 0.7, "segment": [10, 20]}"#,
        ),
    );
    // Reversed: ignored. Zero-length: scored as a miss ranked first → AP 1/2.
    assert_eq!(v["ignored"]["reversed_segment"], 1);
    assert_eq!(v["scored"]["zero_length_segment"], 1);
    assert_eq!(v["average_mAP"], 0.5);
    assert!(stderr.contains("1 predictions ignored: segment end < start"), "{stderr}");
}

#[test]
fn unknown_labels_and_videos_are_counted() {
    let pred = r#"{"results": {
        "v1": [{"label": "Nope", "score": 0.99, "segment": [10, 20]}, {"label": "B", "score": 0.98, "segment": [10, 20]},
               {"label": "A", "score": 0.5, "segment": [10, 20]}],
        "ghost": [{"label": "A", "score": 0.4, "segment": [10, 20]}],
        "t1": [{"label": "A", "score": 0.3, "segment": [10, 20]}]}}"#;
    let (v, stderr) = json_report("unknown", pred);
    assert_eq!(v["ignored"]["label_not_in_subset"], 2);
    assert_eq!(v["scored"]["unknown_video"], 1);
    assert_eq!(v["scored"]["video_of_other_subset"], 1);
    // The TP ranks first and the two false positives after it: AP 1.
    assert_eq!(v["average_mAP"], 1.0);
    assert!(stderr.contains("video id not in the ground truth"), "{stderr}");
}

#[test]
fn bad_flags_and_files_are_clear_errors() {
    let pred = pred_file("");
    let files = [("gt.json", GT), ("pred.json", pred.as_str())];
    let run = |test: &str, args: &[&str]| lofi_eval(test, &files, args);
    let cases: [(&str, Vec<&str>, &str); 5] = [
        ("missing_pred", vec!["--gt", "gt.json", "--pred", "absent.json"], "absent.json"),
        ("bad_tiou", vec!["--gt", "gt.json", "--pred", "pred.json", "--tiou", "0.5:0.07:0.95"], "--tiou"),
        ("bad_subset", vec!["--gt", "gt.json", "--pred", "pred.json", "--subset", "testing"], "subset \"testing\""),
        ("gt_as_pred", vec!["--gt", "pred.json", "--pred", "pred.json"], "missing field `database`"),
        ("no_gt_flag", vec!["--pred", "pred.json"], "--gt"),
    ];
    for (test, args, needle) in cases {
        let out = run(test, &args);
        assert!(out.code.is_some_and(|c| c != 0), "{test}: exit {:?}", out.code);
        assert!(out.stderr.contains(needle), "{test}: stderr lacks {needle:?}:\n{}", out.stderr);
    }
}

#[test]
fn bad_ground_truth_names_its_path() {
    let gt = GT.replace("[10.0, 20.0]", "[10.0, \"x\"]");
    let out = lofi_eval(
        "bad_gt",
        &[("gt.json", &gt), ("pred.json", &pred_file(""))],
        &["--gt", "gt.json", "--pred", "pred.json"],
    );
    assert!(out.code.is_some_and(|c| c != 0));
    assert!(
        out.stderr.contains("gt.json") && out.stderr.contains("database.v1.annotations[0].segment[1]"),
        "{}",
        out.stderr
    );
}

#[test]
fn gt_segment_policy_flag_keeps_clips_or_drops_flawed_segments() {
    // v1's only segment runs past the 100 s duration; the prediction covers [90, 100].
    // keep: GT [90, 110] vs pred [90, 100] → tIoU 0.5, a match only at threshold 0.5.
    // clip: GT becomes [90, 100] → tIoU 1 at every threshold.
    // drop: no ground truth is left in the subset, which is an error naming the subset.
    let gt = r#"{"database": {"v1": {"subset": "validation", "duration": 100.0,
        "annotations": [{"segment": [90.0, 110.0], "label": "A"}]}}}"#;
    let pred = r#"{"results": {"v1": [{"label": "A", "score": 0.9, "segment": [90.0, 100.0]}]}}"#;
    let run = |policy: &str| {
        let out = lofi_eval(
            &format!("policy_{policy}"),
            &[("gt.json", gt), ("pred.json", pred)],
            &["--gt", "gt.json", "--pred", "pred.json", "--json", "--tiou", "0.5,0.75", "--gt-segments", policy],
        );
        (out.code, out.stdout, out.stderr)
    };
    let (code, stdout, _) = run("keep");
    assert_eq!(code, Some(0));
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["mAP"], serde_json::json!([1.0, 0.0]));
    let (code, stdout, _) = run("clip");
    assert_eq!(code, Some(0));
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["mAP"], serde_json::json!([1.0, 1.0]));
    let (code, _, stderr) = run("drop");
    assert_ne!(code, Some(0));
    assert!(stderr.contains("no ground-truth segments"), "{stderr}");
    let (code, _, stderr) = run("bogus");
    assert_ne!(code, Some(0));
    assert!(stderr.contains("keep, clip, drop"), "{stderr}");
}
