//! Greedy matching of one class's ranked predictions to its ground truth, at every tIoU threshold
//! at once (official `compute_average_precision_detection`).
//!
//! Each prediction, in ranked order, computes its tIoU with every ground-truth segment of its video
//! (this class only) once; then, per threshold, it takes the first segment in order of descending
//! tIoU that is not yet taken at that threshold, provided its tIoU ≥ threshold; else it is a miss.
//! A prediction whose video has no ground truth of the class is a miss at every threshold.
//!
//! lofi-defined case: ground-truth segments with equal tIoU are tried in reverse file order (the
//! later one first), which is what the official `tiou_arr.argsort()[::-1]` gives with numpy's
//! insertion sort for small arrays; numpy leaves larger or SIMD-sorted arrays unspecified.
//! Relies on `tiou`; ranking of predictions is the caller's.

use std::collections::HashMap;
use std::ops::Range;

use super::tiou::segment_tiou;

/// The ground truth of one class in one subset: segments in file order, grouped by video (a
/// video's segments are contiguous because the file is read video by video).
#[derive(Debug, Default)]
pub struct ClassGroundTruth {
    pub segments: Vec<[f64; 2]>,
    pub by_video: HashMap<usize, Range<usize>>,
}

impl ClassGroundTruth {
    /// Appends a segment of `video`; segments must arrive grouped by video.
    pub fn push(&mut self, video: usize, segment: [f64; 2]) {
        let at = self.segments.len();
        self.segments.push(segment);
        let range = self.by_video.entry(video).or_insert(at..at);
        range.end = at + 1;
    }
}

/// A prediction of one class: its video (`None` when the video is not in the evaluated subset)
/// and its segment in seconds.
#[derive(Debug, Clone, Copy)]
pub struct ClassPrediction {
    pub score: f64,
    pub video: Option<usize>,
    pub segment: [f64; 2],
}

/// Hit flags `[threshold][rank]` for predictions already in ranked order.
pub fn match_ranked(
    gt: &ClassGroundTruth,
    ranked: &[ClassPrediction],
    thresholds: &[f64],
) -> Vec<Vec<bool>> {
    let mut hits = vec![vec![false; ranked.len()]; thresholds.len()];
    let mut taken = vec![vec![false; gt.segments.len()]; thresholds.len()];
    let mut order: Vec<(f64, usize)> = Vec::new();
    for (rank, pred) in ranked.iter().enumerate() {
        let Some(range) = pred.video.and_then(|v| gt.by_video.get(&v)) else {
            continue;
        };
        let Some(candidates) = gt.segments.get(range.clone()) else {
            continue;
        };
        order.clear();
        order.extend(
            candidates
                .iter()
                .enumerate()
                .map(|(j, &g)| (segment_tiou(pred.segment, g), range.start + j)),
        );
        order.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)));
        for ((hit_row, taken_row), &threshold) in
            hits.iter_mut().zip(taken.iter_mut()).zip(thresholds)
        {
            for &(tiou, j) in &order {
                if tiou < threshold {
                    break;
                }
                if let Some(slot) = taken_row.get_mut(j) {
                    if !*slot {
                        *slot = true;
                        if let Some(h) = hit_row.get_mut(rank) {
                            *h = true;
                        }
                        break;
                    }
                }
            }
        }
    }
    hits
}
