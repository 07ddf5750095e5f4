//! Criterion benchmark of the ActivityNet evaluator at full scale: 5,000 validation videos × 200
//! detections (1,000,000 predictions), 200 classes, the 10 default thresholds. Target ≤ 2 s on
//! 2 cores (docs/eval.md has the measured number). The data is synthetic and seeded: 1–3
//! ground-truth segments per video, detections that are jittered copies of them or random.
//! Parsing the JSON files is timed separately (`parse_results_1m`), as `lofi eval` does both.

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use lofi::data::annotations::{Annotations, SegmentPolicy};
use lofi::eval::{default_thresholds, evaluate};
use lofi::post::detections::{Detection, ResultFile};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;

const VIDEOS: usize = 5_000;
const PER_VIDEO: usize = 200;
const CLASSES: usize = 200;

fn synthetic() -> (Annotations, ResultFile) {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let class = |c: usize| format!("class_{c:03}");
    let mut database = serde_json::Map::new();
    let mut results = ResultFile::new("VERSION 1.3");
    for v in 0..VIDEOS {
        let duration: f64 = rng.random_range(30.0..240.0);
        let gts: Vec<(f64, f64, usize)> = (0..rng.random_range(1..4))
            .map(|_| {
                let s = rng.random_range(0.0..duration * 0.8);
                (
                    s,
                    (s + rng.random_range(2.0..duration * 0.5)).min(duration),
                    rng.random_range(0..CLASSES),
                )
            })
            .collect();
        let annotations: Vec<_> = gts
            .iter()
            .map(|&(s, e, c)| json!({"segment": [s, e], "label": class(c)}))
            .collect();
        let id = format!("vid{v:05}");
        database.insert(
            id.clone(),
            json!({"subset": "validation", "duration": duration, "annotations": annotations}),
        );
        let dets = (0..PER_VIDEO)
            .map(|k| {
                let (s, e, c) = if k % 2 == 0 {
                    let &(s, e, c) = &gts[k % gts.len()];
                    let len = e - s;
                    (
                        s + rng.random_range(-0.2..0.2) * len,
                        e + rng.random_range(-0.2..0.2) * len,
                        c,
                    )
                } else {
                    let s = rng.random_range(0.0..duration * 0.9);
                    (
                        s,
                        s + rng.random_range(1.0..duration * 0.3),
                        rng.random_range(0..CLASSES),
                    )
                };
                let c = if k % 3 == 0 {
                    rng.random_range(0..CLASSES)
                } else {
                    c
                };
                Detection {
                    label: class(c),
                    score: rng.random(),
                    segment: [s, e.max(s + 0.01)],
                }
            })
            .collect();
        results.results.push((id, dets));
    }
    let gt_text = json!({"version": "VERSION 1.3", "database": database}).to_string();
    let gt = Annotations::parse(
        Path::new("synthetic_gt.json"),
        gt_text.as_bytes(),
        SegmentPolicy::Keep,
    );
    match gt {
        Ok(gt) => (gt, results),
        Err(e) => panic!("synthetic ground truth: {e}"),
    }
}

fn bench_eval(c: &mut Criterion) {
    let (gt, results) = synthetic();
    let thresholds = default_thresholds();
    let ev = evaluate(&gt, "validation", &results.results, &thresholds)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ev.num_pred, VIDEOS * PER_VIDEO);
    println!(
        "classes {}, gt {}, average mAP {:.4}",
        ev.classes.len(),
        ev.num_gt,
        ev.average_map
    );

    let mut group = c.benchmark_group("eval");
    group.sample_size(10);
    group.bench_function("evaluate_5000x200", |b| {
        b.iter(|| {
            evaluate(
                black_box(&gt),
                "validation",
                black_box(&results.results),
                &thresholds,
            )
        })
    });
    let text = results.to_json().unwrap_or_else(|e| panic!("{e}"));
    group.bench_function("parse_results_1m", |b| {
        b.iter(|| ResultFile::parse(Path::new("synthetic_pred.json"), black_box(text.as_bytes())))
    });
    group.finish();
}

criterion_group!(benches, bench_eval);
criterion_main!(benches);
