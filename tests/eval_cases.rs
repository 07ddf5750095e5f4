//! Hand-computed AP cases for the evaluator (expected values worked out in the comments), the
//! lofi-defined cases (ties, unknown labels, reversed and zero-length segments), and property tests
//! on random data: perfect predictions give mAP 1, permuting predictions with distinct scores
//! changes nothing, and a lowest-scored prediction that overlaps nothing never raises AP.

use std::path::Path;

use lofi::data::annotations::{Annotations, SegmentPolicy};
use lofi::eval::{default_thresholds, evaluate, Evaluation};
use lofi::post::detections::Detection;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;

type Results = Vec<(String, Vec<Detection>)>;
/// A ground-truth segment `(start, end, label)`.
type Seg<'a> = (f64, f64, &'a str);
/// A ground-truth video `(id, subset, segments)`.
type VideoSpec<'a> = (&'a str, &'a str, &'a [Seg<'a>]);
/// Random videos: id and segments.
type Videos = Vec<(String, Vec<Seg<'static>>)>;

/// Ground truth from `(video, subset, [(start, end, label)])`, every video 100 s long.
fn ground_truth(videos: &[VideoSpec]) -> Annotations {
    let mut database = serde_json::Map::new();
    for (id, subset, segs) in videos {
        let annotations: Vec<_> = segs
            .iter()
            .map(|(s, e, l)| json!({"segment": [s, e], "label": l}))
            .collect();
        database.insert(
            id.to_string(),
            json!({"subset": subset, "duration": 100.0, "annotations": annotations}),
        );
    }
    let text = json!({ "database": database }).to_string();
    match Annotations::parse(Path::new("gt.json"), text.as_bytes(), SegmentPolicy::Keep) {
        Ok(a) => a,
        Err(e) => panic!("{e}"),
    }
}

fn det(label: &str, score: f64, start: f64, end: f64) -> Detection {
    Detection {
        label: label.into(),
        score,
        segment: [start, end],
    }
}

fn run(gt: &Annotations, results: &Results) -> Evaluation {
    evaluate(gt, "validation", results, &default_thresholds()).unwrap_or_else(|e| panic!("{e}"))
}

fn approx(got: f64, want: f64) {
    assert!((got - want).abs() < 1e-12, "got {got}, want {want}");
}

/// AP of the only class at every threshold must equal `want`.
fn assert_ap_everywhere(ev: &Evaluation, want: f64) {
    for &ap in &ev.ap[0] {
        approx(ap, want);
    }
}

fn one_gt() -> Annotations {
    ground_truth(&[("v1", "validation", &[(10.0, 20.0, "A")])])
}

#[test]
fn single_perfect_prediction_has_ap_1() {
    // One GT, one exact prediction: precision 1 at recall 1 → AP = 1.
    let ev = run(
        &one_gt(),
        &vec![("v1".into(), vec![det("A", 0.9, 10.0, 20.0)])],
    );
    assert_ap_everywhere(&ev, 1.0);
    approx(ev.average_map, 1.0);
}

#[test]
fn false_positive_ranked_first_halves_ap() {
    // Ranked: FP (no overlap), TP. precision [0, 1/2], recall [0, 1]; envelope at the TP = 1/2;
    // AP = (1 − 0)·1/2 = 0.5.
    let ev = run(
        &one_gt(),
        &vec![(
            "v1".into(),
            vec![det("A", 0.9, 50.0, 60.0), det("A", 0.8, 10.0, 20.0)],
        )],
    );
    assert_ap_everywhere(&ev, 0.5);
}

#[test]
fn precision_envelope_is_taken_from_the_right() {
    // 2 GT. Ranked: TP, FP, TP. precision [1, 1/2, 2/3], recall [1/2, 1/2, 1].
    // Envelope: [1, 2/3, 2/3]. AP = 1/2·1 + 1/2·2/3 = 5/6.
    let gt = ground_truth(&[("v1", "validation", &[(10.0, 20.0, "A"), (40.0, 50.0, "A")])]);
    let preds = vec![
        det("A", 0.9, 10.0, 20.0),
        det("A", 0.8, 70.0, 80.0),
        det("A", 0.7, 40.0, 50.0),
    ];
    assert_ap_everywhere(&run(&gt, &vec![("v1".into(), preds)]), 5.0 / 6.0);
}

#[test]
fn interpolation_over_five_ranks() {
    // 3 GT. Ranked: FP, TP, TP, FP, TP. precision [0, 1/2, 2/3, 1/2, 3/5],
    // recall [0, 1/3, 2/3, 2/3, 1]. Envelope at the TPs (ranks 2, 3, 5): 2/3, 2/3, 3/5.
    // AP = 1/3·2/3 + 1/3·2/3 + 1/3·3/5 = 4/9 + 1/5 = 29/45.
    let gt = ground_truth(&[(
        "v1",
        "validation",
        &[(0.0, 10.0, "A"), (20.0, 30.0, "A"), (40.0, 50.0, "A")],
    )]);
    let preds = vec![
        det("A", 0.9, 60.0, 70.0),
        det("A", 0.8, 0.0, 10.0),
        det("A", 0.7, 20.0, 30.0),
        det("A", 0.6, 80.0, 90.0),
        det("A", 0.5, 40.0, 50.0),
    ];
    assert_ap_everywhere(&run(&gt, &vec![("v1".into(), preds)]), 29.0 / 45.0);
}

#[test]
fn a_duplicate_detection_is_a_false_positive_after_the_hit() {
    // 1 GT, the same segment twice: TP then FP (GT taken). precision [1, 1/2], recall [1, 1].
    // AP = 1·1 = 1 (the FP comes after full recall).
    let preds = vec![det("A", 0.9, 10.0, 20.0), det("A", 0.8, 10.0, 20.0)];
    assert_ap_everywhere(&run(&one_gt(), &vec![("v1".into(), preds)]), 1.0);
}

#[test]
fn partial_recall_counts_missing_ground_truth() {
    // 2 GT, one exact hit: precision 1 at recall 1/2 → AP = 1/2.
    let gt = ground_truth(&[("v1", "validation", &[(10.0, 20.0, "A"), (40.0, 50.0, "A")])]);
    assert_ap_everywhere(
        &run(&gt, &vec![("v1".into(), vec![det("A", 0.9, 10.0, 20.0)])]),
        0.5,
    );
}

#[test]
fn thresholds_are_numpy_linspace_and_compared_with_ge() {
    // GT [0, 10], prediction [0, 9]: tIoU = 9/10 = 0.9 exactly. numpy's 9th threshold is
    // 0.8999999999999999 ≤ 0.9 → hit; 0.95 → miss. AP = [1 ×9, 0]; average = 0.9.
    let gt = ground_truth(&[("v1", "validation", &[(0.0, 10.0, "A")])]);
    let ev = run(&gt, &vec![("v1".into(), vec![det("A", 0.5, 0.0, 9.0)])]);
    assert_eq!(ev.thresholds[8], 0.8999999999999999);
    assert_eq!(ev.ap[0], [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0]);
    approx(ev.average_map, 0.9);
    // Prediction [0, 6.2]: tIoU 0.62 → hit at 0.5, 0.55, 0.6 only; average = 0.3.
    let ev = run(&gt, &vec![("v1".into(), vec![det("A", 0.5, 0.0, 6.2)])]);
    assert_eq!(ev.ap[0], [1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    approx(ev.average_map, 0.3);
}

#[test]
fn a_prediction_falls_back_to_the_next_qualifying_ground_truth() {
    // GT A = [0, 10], B = [2, 12]. p1 = [0, 10] takes A (tIoU 1). p2 = [0.5, 10.5]: tIoU with A is
    // 9.5/10.5 = 0.905 (taken), with B 8.5/11.5 = 0.739 → hit on B at thresholds ≤ 0.7, miss above.
    // AP: 1 at 0.5..0.7 (5 thresholds); at 0.75..0.95 ranks TP, FP with 2 GT → 1/2.
    // Average = (5·1 + 5·0.5)/10 = 0.75.
    let gt = ground_truth(&[("v1", "validation", &[(0.0, 10.0, "A"), (2.0, 12.0, "A")])]);
    let preds = vec![det("A", 0.9, 0.0, 10.0), det("A", 0.8, 0.5, 10.5)];
    let ev = run(&gt, &vec![("v1".into(), preds)]);
    assert_eq!(ev.ap[0], [1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5]);
    approx(ev.average_map, 0.75);
}

#[test]
fn a_class_without_predictions_has_ap_0_and_map_is_unweighted() {
    // Classes A (3 GT, all found) and B (1 GT, no prediction): mAP = (1 + 0)/2 = 0.5, not 3/4.
    let gt = ground_truth(&[
        (
            "v1",
            "validation",
            &[(0.0, 10.0, "A"), (20.0, 30.0, "A"), (40.0, 50.0, "B")],
        ),
        ("v2", "validation", &[(0.0, 10.0, "A")]),
    ]);
    let results = vec![
        (
            "v1".into(),
            vec![det("A", 0.9, 0.0, 10.0), det("A", 0.8, 20.0, 30.0)],
        ),
        ("v2".into(), vec![det("A", 0.7, 0.0, 10.0)]),
    ];
    let ev = run(&gt, &results);
    assert_eq!(ev.classes, ["A", "B"]);
    assert!(ev.ap[0].iter().all(|&a| a == 1.0) && ev.ap[1].iter().all(|&a| a == 0.0));
    approx(ev.average_map, 0.5);
    assert_eq!((ev.num_gt, ev.num_pred), (4, 3));
}

#[test]
fn unknown_and_other_subset_videos_are_counted_false_positives() {
    // Ranked: unknown video (FP), training video (FP, even though it has a matching GT there), TP.
    // precision [0, 0, 1/3] at recall [0, 0, 1] → AP = 1/3.
    let gt = ground_truth(&[
        ("v1", "validation", &[(10.0, 20.0, "A")]),
        ("t1", "training", &[(10.0, 20.0, "A")]),
    ]);
    let results = vec![
        ("nope".into(), vec![det("A", 0.9, 10.0, 20.0)]),
        ("t1".into(), vec![det("A", 0.8, 10.0, 20.0)]),
        ("v1".into(), vec![det("A", 0.7, 10.0, 20.0)]),
    ];
    let ev = run(&gt, &results);
    assert_ap_everywhere(&ev, 1.0 / 3.0);
    assert_eq!(
        (ev.counts.unknown_video, ev.counts.video_of_other_subset),
        (1, 1)
    );
    assert_eq!((ev.num_pred, ev.counts.ignored()), (3, 0));
}

#[test]
fn labels_outside_the_subset_are_ignored_and_counted() {
    // "B" is a class only in training, "Nope" nowhere: both ignored, so the TP stays first: AP 1.
    let gt = ground_truth(&[
        ("v1", "validation", &[(10.0, 20.0, "A")]),
        ("t1", "training", &[(1.0, 2.0, "B")]),
    ]);
    let preds = vec![
        det("Nope", 0.99, 10.0, 20.0),
        det("B", 0.98, 10.0, 20.0),
        det("A", 0.5, 10.0, 20.0),
    ];
    let ev = run(&gt, &vec![("v1".into(), preds)]);
    assert_ap_everywhere(&ev, 1.0);
    assert_eq!(ev.classes, ["A"]);
    assert_eq!((ev.counts.label_not_in_subset, ev.num_pred), (2, 1));
}

#[test]
fn equal_scores_keep_file_order() {
    // Same score: FP listed first ranks first → AP 1/2; TP listed first → AP 1.
    let fp_first = vec![det("A", 0.5, 50.0, 60.0), det("A", 0.5, 10.0, 20.0)];
    assert_ap_everywhere(&run(&one_gt(), &vec![("v1".into(), fp_first)]), 0.5);
    let tp_first = vec![det("A", 0.5, 10.0, 20.0), det("A", 0.5, 50.0, 60.0)];
    assert_ap_everywhere(&run(&one_gt(), &vec![("v1".into(), tp_first)]), 1.0);
    // Across videos too: the video listed first in the file ranks first.
    let gt = ground_truth(&[
        ("v1", "validation", &[(10.0, 20.0, "A")]),
        ("v2", "validation", &[]),
    ]);
    let results = vec![
        ("v2".into(), vec![det("A", 0.5, 10.0, 20.0)]),
        ("v1".into(), vec![det("A", 0.5, 10.0, 20.0)]),
    ];
    assert_ap_everywhere(&run(&gt, &results), 0.5);
}

#[test]
fn reversed_predictions_are_ignored_and_zero_length_ones_are_misses() {
    // Reversed [20, 10]: ignored, so the TP is first → AP 1.
    let ev = run(
        &one_gt(),
        &vec![(
            "v1".into(),
            vec![det("A", 0.9, 20.0, 10.0), det("A", 0.8, 10.0, 20.0)],
        )],
    );
    assert_ap_everywhere(&ev, 1.0);
    assert_eq!(ev.counts.reversed_segment, 1);
    // Zero-length [15, 15] inside the GT: tIoU 0, a scored FP ranked first → AP 1/2.
    let ev = run(
        &one_gt(),
        &vec![(
            "v1".into(),
            vec![det("A", 0.9, 15.0, 15.0), det("A", 0.8, 10.0, 20.0)],
        )],
    );
    assert_ap_everywhere(&ev, 0.5);
    assert_eq!((ev.counts.zero_length_segment, ev.num_pred), (1, 2));
}

#[test]
fn empty_results_give_map_0() {
    let ev = run(&one_gt(), &Vec::new());
    assert_ap_everywhere(&ev, 0.0);
    assert_eq!(ev.num_pred, 0);
}

#[test]
fn a_subset_without_ground_truth_is_an_error() {
    let err = evaluate(&one_gt(), "testing", &Vec::new(), &default_thresholds());
    assert!(matches!(err, Err(lofi::Error::Data { .. })), "{err:?}");
    let err = evaluate(&one_gt(), "validation", &Vec::new(), &[]);
    assert!(matches!(err, Err(lofi::Error::Config { .. })), "{err:?}");
}

// ---- properties on random data ----------------------------------------------------------------

const LABELS: [&str; 4] = ["A", "B", "C", "D"];

/// Random ground truth: 12 validation videos and 3 training ones, 0–4 segments each.
fn random_ground_truth(rng: &mut ChaCha8Rng) -> (Annotations, Videos) {
    let mut videos = Vec::new();
    for v in 0..15 {
        let n = rng.random_range(0..5);
        let segs: Vec<Seg> = (0..n)
            .map(|_| {
                let s = rng.random_range(0.0..80.0);
                (
                    s,
                    s + rng.random_range(1.0..20.0),
                    LABELS[rng.random_range(0..LABELS.len())],
                )
            })
            .collect();
        videos.push((format!("vid{v}"), segs));
    }
    let refs: Vec<VideoSpec> = videos
        .iter()
        .enumerate()
        .map(|(i, (id, segs))| {
            (
                id.as_str(),
                if i < 12 { "validation" } else { "training" },
                segs.as_slice(),
            )
        })
        .collect();
    (ground_truth(&refs), videos)
}

/// Noisy predictions around the ground truth plus random ones, with distinct scores.
fn random_results(rng: &mut ChaCha8Rng, videos: &Videos) -> Results {
    let mut results = Vec::new();
    for (id, segs) in videos {
        let mut dets = Vec::new();
        for &(s, e, label) in segs {
            for _ in 0..rng.random_range(0..3) {
                let (ds, de) = (rng.random_range(-3.0..3.0), rng.random_range(-3.0..3.0));
                dets.push(det(label, rng.random(), s + ds, (e + de).max(s + ds + 0.1)));
            }
        }
        for _ in 0..rng.random_range(0..4) {
            let s = rng.random_range(0.0..90.0);
            dets.push(det(
                LABELS[rng.random_range(0..LABELS.len())],
                rng.random(),
                s,
                s + rng.random_range(1.0..10.0),
            ));
        }
        results.push((id.clone(), dets));
    }
    results
}

#[test]
fn perfect_predictions_give_map_1() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for _ in 0..50 {
        let (gt, videos) = random_ground_truth(&mut rng);
        // Only validation videos: a prediction on a training video would be a false positive.
        let results: Results = videos
            .iter()
            .take(12)
            .map(|(id, segs)| {
                (
                    id.clone(),
                    segs.iter()
                        .map(|&(s, e, l)| det(l, rng.random(), s, e))
                        .collect(),
                )
            })
            .collect();
        let Ok(ev) = evaluate(&gt, "validation", &results, &default_thresholds()) else {
            continue; // no validation segment was drawn
        };
        for (class, ap) in ev.classes.iter().zip(&ev.ap) {
            assert!(ap.iter().all(|&a| a == 1.0), "class {class}: {ap:?}");
        }
        assert_eq!(ev.average_map, 1.0);
    }
}

#[test]
fn permuting_predictions_with_distinct_scores_changes_nothing() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for _ in 0..50 {
        let (gt, videos) = random_ground_truth(&mut rng);
        let results = random_results(&mut rng, &videos);
        let Ok(before) = evaluate(&gt, "validation", &results, &default_thresholds()) else {
            continue;
        };
        let mut shuffled = results.clone();
        shuffled.shuffle(&mut rng);
        for (_, dets) in &mut shuffled {
            dets.shuffle(&mut rng);
        }
        assert_eq!(run(&gt, &shuffled), before);
    }
}

#[test]
fn a_lowest_scored_prediction_overlapping_nothing_never_raises_ap() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut compared = 0;
    for _ in 0..100 {
        let (gt, videos) = random_ground_truth(&mut rng);
        let mut results = random_results(&mut rng, &videos);
        let Ok(before) = evaluate(&gt, "validation", &results, &default_thresholds()) else {
            continue;
        };
        // Below every score (scores are in [0, 1)), past every segment (all end before 100 s).
        let label = LABELS[rng.random_range(0..LABELS.len())];
        let video = rng.random_range(0..results.len());
        results[video].1.push(det(label, -1.0, 150.0, 160.0));
        let after = run(&gt, &results);
        for (row_before, row_after) in before.ap.iter().zip(&after.ap) {
            for (b, a) in row_before.iter().zip(row_after) {
                assert!(a <= b, "AP rose from {b} to {a}");
            }
        }
        compared += 1;
    }
    assert!(
        compared > 50,
        "too few random cases had validation ground truth"
    );
}

#[test]
fn tiou_flag_syntax() {
    use lofi::eval::parse_thresholds;
    assert_eq!(
        parse_thresholds("0.5:0.05:0.95").ok(),
        Some(default_thresholds())
    );
    assert_eq!(parse_thresholds("0.5, 0.75").ok(), Some(vec![0.5, 0.75]));
    assert_eq!(parse_thresholds("0.3").ok(), Some(vec![0.3]));
    assert_eq!(
        parse_thresholds("0.1:0.1:0.5").map(|t| t.len()).ok(),
        Some(5)
    );
    for bad in [
        "",
        "x",
        "0.5:0.05",
        "0.5:0.07:0.95",
        "0.9:0.05:0.5",
        "0.5:0:0.9",
        "1.5",
        "0.5,nan",
        "-0.1",
    ] {
        assert!(
            matches!(parse_thresholds(bad), Err(lofi::Error::Config { .. })),
            "{bad:?} accepted"
        );
    }
}
