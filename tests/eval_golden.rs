//! The evaluator against every golden case in `<golden>/eval/*/` (gt.json, pred.json,
//! expected.json): mAP per threshold, average mAP, per-class AP, the class set and the counts, all
//! within 1e-9. The thresholds are read from expected.json; the cases are found by listing the
//! directory, so a held-out set with other names runs unchanged.

mod common;

use std::path::Path;

use lofi::data::annotations::{Annotations, SegmentPolicy};
use lofi::eval::evaluate;
use lofi::post::detections::ResultFile;
use serde_json::Value;

const TOL: f64 = 1e-9;

fn floats(v: &Value, what: &str) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("{what} is not an array"))
        .iter()
        .map(|x| x.as_f64().unwrap_or_else(|| panic!("{what} holds a non-number")))
        .collect()
}

fn assert_all_close(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= TOL, "{what}[{i}]: got {g}, expected {w}");
    }
}

fn check_case(dir: &Path) {
    let name = dir.display().to_string();
    let gt = Annotations::load(&dir.join("gt.json"), SegmentPolicy::Keep).unwrap_or_else(|e| panic!("{e}"));
    let pred = ResultFile::load(&dir.join("pred.json")).unwrap_or_else(|e| panic!("{e}"));
    let text = std::fs::read_to_string(dir.join("expected.json")).unwrap_or_else(|e| panic!("{name}: {e}"));
    let expected: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));

    let thresholds = floats(&expected["thresholds"], "thresholds");
    assert_eq!(thresholds, lofi::eval::default_thresholds(), "{name}: thresholds differ from the default");
    let ev = evaluate(&gt, "validation", &pred.results, &thresholds).unwrap_or_else(|e| panic!("{name}: {e}"));

    assert_all_close(&format!("{name} mAP"), &ev.map, &floats(&expected["mAP"], "mAP"));
    let avg = expected["average_mAP"].as_f64().unwrap_or(f64::NAN);
    assert!((ev.average_map - avg).abs() <= TOL, "{name}: average mAP {} vs {avg}", ev.average_map);

    let labels: Vec<&str> = floats_labels(&expected["labels"]);
    let got: Vec<&str> = ev.classes.iter().map(String::as_str).collect();
    assert_eq!(got, labels, "{name}: classes (first-appearance order)");
    let per_class = expected["per_class_ap"].as_object().unwrap_or_else(|| panic!("{name}: per_class_ap"));
    assert_eq!(per_class.len(), ev.classes.len(), "{name}: number of classes");
    for (class, ap) in ev.classes.iter().zip(&ev.ap) {
        assert_all_close(&format!("{name} AP {class}"), ap, &floats(&per_class[class], class));
    }

    let count = |key: &str| expected[key].as_u64().unwrap_or_else(|| panic!("{name}: {key}")) as usize;
    assert_eq!(ev.num_gt, count("num_gt"), "{name}: num_gt");
    assert_eq!(ev.counts.label_not_in_subset, count("num_pred_dropped_unknown_label"), "{name}: dropped labels");
    assert_eq!(ev.num_pred + ev.counts.ignored(), count("num_pred"), "{name}: num_pred");
    println!("{name}: average mAP {:.6} ok", ev.average_map);
}

fn floats_labels(v: &Value) -> Vec<&str> {
    v.as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
}

#[test]
fn every_golden_eval_case_matches_expected_within_1e_9() {
    let root = common::golden::golden_dir().join("eval");
    let mut cases: Vec<_> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", root.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.join("expected.json").is_file())
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no evaluation case in {}", root.display());
    for dir in &cases {
        check_case(dir);
    }
    println!("{} cases", cases.len());
}
