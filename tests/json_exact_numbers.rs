//! Every JSON reader parses numbers to the nearest double (issue 12, item 1).
//!
//! serde_json's default float parser is fast but not correctly rounded: about one 17-digit decimal
//! in ten comes back one ulp off. The official evaluator reads its files with Python's correctly
//! rounded `float()`, so an ulp is the difference between a match and a miss when a tIoU lies on a
//! threshold. These tests write random doubles with shortest round-trip formatting (what Python's
//! `repr` and serde_json's writer both produce) and read them back through each reader.

use std::path::Path;

use lofi::data::annotations::{Annotations, SegmentPolicy};
use lofi::data::frames::{open_video, FrameFormat, VideoMeta};
use lofi::eval::evaluate;
use lofi::post::classifier::VideoClassScores;
use lofi::post::detections::ResultFile;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `n` finite doubles: half uniform bit patterns over the whole range, half in [0, 1), where the
/// evaluator's scores and normalised times live.
fn random_doubles(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let x = if out.len() % 2 == 0 { f64::from_bits(rng.random::<u64>()) } else { rng.random::<f64>() };
        if x.is_finite() {
            out.push(x);
        }
    }
    out
}

/// Shortest text that round-trips (ryu, as serde_json writes; Python's `repr` gives the same digits).
fn shortest(x: f64) -> String {
    serde_json::to_string(&x).unwrap_or_else(|e| panic!("{e}"))
}

fn assert_bits(got: &[f64], want: &[f64], reader: &str) {
    assert_eq!(got.len(), want.len(), "{reader}: count");
    let wrong: Vec<(f64, f64)> =
        got.iter().zip(want).filter(|(g, w)| g.to_bits() != w.to_bits()).map(|(g, w)| (*g, *w)).collect();
    let examples: Vec<String> = wrong.iter().take(5).map(|(g, w)| format!("{} read as {g:?}", shortest(*w))).collect();
    assert!(
        wrong.is_empty(),
        "{reader}: {} of {} values not bit-identical, e.g. {examples:?}",
        wrong.len(),
        want.len()
    );
}

#[test]
fn result_file_reads_100k_shortest_doubles_bit_identical() {
    let values = random_doubles(100_000, 1);
    // score, start, end per detection: every value passes through the reader `lofi eval` uses.
    let dets: Vec<String> = values
        .chunks(3)
        .map(|c| {
            let v = |i: usize| shortest(c.get(i).copied().unwrap_or(0.0));
            format!(r#"{{"label":"a","score":{},"segment":[{},{}]}}"#, v(0), v(1), v(2))
        })
        .collect();
    let text = format!(r#"{{"version":"x","results":{{"v":[{}]}},"external_data":{{}}}}"#, dets.join(","));
    let file = ResultFile::parse(Path::new("pred.json"), text.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let got: Vec<f64> =
        file.results[0].1.iter().flat_map(|d| [d.score, d.segment[0], d.segment[1]]).take(values.len()).collect();
    assert_bits(&got, &values, "ResultFile");
}

#[test]
fn annotations_read_shortest_doubles_bit_identical_as_numbers_and_hacs_strings() {
    let values: Vec<f64> = random_doubles(20_000, 2).into_iter().map(f64::abs).filter(|x| *x > 0.0).collect();
    let mut database = Vec::new();
    for (i, pair) in values.chunks(2).enumerate() {
        let (a, b) = (pair[0], pair.get(1).copied().unwrap_or(pair[0]));
        // Durations alternate between ActivityNet numbers and HACS strings.
        let duration = if i % 2 == 0 { shortest(a) } else { format!("\"{}\"", shortest(a)) };
        database.push(format!(
            r#""v{i}":{{"subset":"validation","duration":{duration},"annotations":[{{"segment":[{},{}],"label":"x"}}]}}"#,
            shortest(a),
            shortest(b)
        ));
    }
    let text = format!(r#"{{"database":{{{}}}}}"#, database.join(","));
    let gt = Annotations::parse(Path::new("gt.json"), text.as_bytes(), SegmentPolicy::Keep)
        .unwrap_or_else(|e| panic!("{e}"));
    let durations: Vec<f64> = gt.videos.iter().map(|v| v.duration).collect();
    let want_durations: Vec<f64> = values.chunks(2).map(|p| p[0]).collect();
    assert_bits(&durations, &want_durations, "Annotations duration");
    let ends: Vec<f64> = gt.videos.iter().map(|v| v.segments[0].end).collect();
    let want_ends: Vec<f64> = values.chunks(2).map(|p| p.get(1).copied().unwrap_or(p[0])).collect();
    assert_bits(&ends, &want_ends, "Annotations segment");
}

#[test]
fn class_scores_and_frame_meta_read_shortest_doubles_bit_identical() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let values = random_doubles(20_000, 3);
    let rows: Vec<String> =
        values.chunks(4).enumerate().map(|(i, c)| format!("\"v{i}\":[{}]", pad4(c).join(","))).collect();
    let path = dir.path().join("cls.json");
    std::fs::write(&path, format!(r#"{{"results":{{{}}},"class":["a","b","c","d"]}}"#, rows.join(",")))
        .unwrap_or_else(|e| panic!("{e}"));
    let scores = VideoClassScores::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let got: Vec<f64> = scores.results.iter().flat_map(|(_, s)| s.clone()).collect();
    let want: Vec<f64> =
        values.chunks(4).flat_map(|c| pad4(c).into_iter().map(|s| s.parse::<f64>().unwrap_or(0.0))).collect();
    assert_bits(&got, &want, "VideoClassScores");

    // meta.json's fps: a frame store written by another tool can hold any decimal.
    let positive: Vec<f64> = random_doubles(400, 4).into_iter().map(|x| x.abs()).filter(|x| *x > 0.0).collect();
    for (k, fps) in positive.iter().enumerate() {
        let video = dir.path().join(format!("m{k}"));
        std::fs::create_dir_all(&video).unwrap_or_else(|e| panic!("{e}"));
        let meta = format!(r#"{{"format":"jpeg","fps":{},"frames":1,"height":2,"width":2}}"#, shortest(*fps));
        std::fs::write(video.join("meta.json"), meta).unwrap_or_else(|e| panic!("{e}"));
        let store = open_video(dir.path(), &format!("m{k}")).unwrap_or_else(|e| panic!("{e}"));
        let want = VideoMeta { format: FrameFormat::Jpeg, fps: *fps, frames: 1, height: 2, width: 2 };
        assert_eq!(store.meta().fps.to_bits(), want.fps.to_bits(), "meta.json fps {}", shortest(*fps));
    }
}

fn pad4(c: &[f64]) -> Vec<String> {
    (0..4).map(|i| shortest(c.get(i).copied().unwrap_or(0.5))).collect()
}

/// A prediction whose tIoU with its ground truth is exactly 0.5 in IEEE arithmetic — but only when
/// its 17-digit times are read correctly rounded. Python's evaluator counts the match (checked:
/// `min(b, 1) - max(a, 0)` over `(1 - 0) + (b - a) - inter` is 0.5 there, and `>= 0.5`); read one
/// ulp off (as serde_json's default parser reads both), the tIoU is 0.4999999999999999 and the
/// prediction a false positive.
#[test]
fn a_tiou_exactly_on_the_threshold_is_a_match() {
    let gt = r#"{"database": {"v1": {"subset": "validation", "duration": 10.0,
        "annotations": [{"segment": [0.0, 1.0], "label": "A"}]}}}"#;
    let pred = r#"{"version": "x", "results": {"v1": [
        {"label": "A", "score": 0.9, "segment": [0.49333183335921926, 0.9933318333592193]}]}}"#;
    let gt =
        Annotations::parse(Path::new("gt.json"), gt.as_bytes(), SegmentPolicy::Keep).unwrap_or_else(|e| panic!("{e}"));
    let pred = ResultFile::parse(Path::new("pred.json"), pred.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let [a, b] = pred.results[0].1[0].segment;
    assert_eq!(a, 0.49333183335921926f64);
    assert_eq!(b, 0.9933318333592193f64);
    let ev = evaluate(&gt, "validation", &pred.results, &[0.5]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ev.map, vec![1.0], "the tIoU-0.5 prediction must match at threshold 0.5");
}
