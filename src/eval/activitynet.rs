//! ActivityNet detection mAP of a result file against the ground truth of one subset, with the
//! official `ANETdetection` semantics and lofi's definitions where the official code has none.
//!
//! Official: classes are the labels occurring in the subset's ground truth (first-appearance
//! order); per class, predictions are ranked by score and matched greedily (`matching`); a
//! prediction for a video without ground truth of its class in the subset — an unknown id or a
//! video of another subset included — is a false positive; AP is VOC all-point interpolation; a
//! class without predictions has AP 0; mAP is the unweighted mean over classes.
//! lofi-defined (the official code is undefined or crashes there), each counted in
//! [`PredictionCounts`]: equal scores keep file order (stable sort; the official reversed
//! quicksort is unspecified); a prediction whose label is not a class of the subset is ignored (the
//! official code raises KeyError); a prediction with end < start is ignored (the official tIoU of a
//! reversed segment can be 0/0, which its `<` test counts as a match). A zero-length prediction is
//! scored, with tIoU 0: the official code is defined there and the golden cases pin it.
//! Relies on `data::annotations` and `post::detections`; classes are evaluated in parallel (rayon).
//! It does not read files or print.

use std::cmp::Ordering;
use std::collections::HashMap;

use rayon::prelude::*;

use super::average_precision::interpolated_average_precision;
use super::matching::{match_ranked, ClassGroundTruth, ClassPrediction};
use super::thresholds::check_thresholds;
use crate::data::annotations::Annotations;
use crate::post::detections::Detection;
use crate::{Error, Result};

/// How many predictions were ignored, or scored as false positives for lack of ground truth, and why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PredictionCounts {
    /// Ignored: the label is not a class of the evaluated subset.
    pub label_not_in_subset: usize,
    /// Ignored: end < start.
    pub reversed_segment: usize,
    /// Ignored: a NaN score or time (JSON cannot hold one; only library callers can pass it).
    pub nan_value: usize,
    /// Scored: end == start. Its tIoU is 0, so it is a false positive at every threshold > 0, as in
    /// the official code (the golden cases fix this: such predictions still take a rank).
    pub zero_length_segment: usize,
    /// Scored (false positive): the video id is not in the ground-truth file.
    pub unknown_video: usize,
    /// Scored (false positive): the video belongs to another subset.
    pub video_of_other_subset: usize,
}

impl PredictionCounts {
    /// Number of predictions left out of the evaluation.
    pub fn ignored(&self) -> usize {
        self.label_not_in_subset + self.reversed_segment + self.nan_value
    }
}

/// The result of one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub thresholds: Vec<f64>,
    /// The subset's classes in first-appearance order of its ground truth.
    pub classes: Vec<String>,
    /// `ap[class][threshold]`.
    pub ap: Vec<Vec<f64>>,
    /// mAP per threshold.
    pub map: Vec<f64>,
    /// Mean of `map` over the thresholds.
    pub average_map: f64,
    pub num_gt: usize,
    /// Predictions that took part (all but the ignored ones).
    pub num_pred: usize,
    pub counts: PredictionCounts,
}

/// Evaluates `results` (video id → detections, in file order) on `subset` of `gt`.
pub fn evaluate(
    gt: &Annotations,
    subset: &str,
    results: &[(String, Vec<Detection>)],
    thresholds: &[f64],
) -> Result<Evaluation> {
    check_thresholds(thresholds).map_err(|msg| Error::Config {
        flag: "tIoU thresholds".into(),
        msg,
    })?;
    let (classes, ground_truth) = subset_ground_truth(gt, subset)?;
    let class_of: HashMap<&str, usize> = classes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();

    let mut predictions: Vec<Vec<ClassPrediction>> = vec![Vec::new(); classes.len()];
    let mut counts = PredictionCounts::default();
    for (video_id, detections) in results {
        let video = gt.video_index(video_id);
        let in_subset = video.filter(|&v| gt.videos.get(v).is_some_and(|v| v.subset == subset));
        for det in detections {
            let Some(&class) = class_of.get(det.label.as_str()) else {
                counts.label_not_in_subset += 1;
                continue;
            };
            let [start, end] = det.segment;
            match end.partial_cmp(&start) {
                _ if det.score.is_nan() => {
                    counts.nan_value += 1;
                    continue;
                }
                Some(Ordering::Greater) => {}
                Some(Ordering::Equal) => counts.zero_length_segment += 1,
                Some(Ordering::Less) => {
                    counts.reversed_segment += 1;
                    continue;
                }
                None => {
                    counts.nan_value += 1;
                    continue;
                }
            }
            match (video, in_subset) {
                (None, _) => counts.unknown_video += 1,
                (Some(_), None) => counts.video_of_other_subset += 1,
                _ => {}
            }
            if let Some(list) = predictions.get_mut(class) {
                // `+ 0.0` turns -0.0 into 0.0, so the total order below ranks them as equal.
                list.push(ClassPrediction {
                    score: det.score + 0.0,
                    video: in_subset,
                    segment: det.segment,
                });
            }
        }
    }
    let num_pred = predictions.iter().map(Vec::len).sum();

    let ap: Vec<Vec<f64>> = predictions
        .into_par_iter()
        .zip(ground_truth.par_iter())
        .map(|(mut preds, class_gt)| {
            // Stable: equal scores keep the order of the prediction file (lofi-defined).
            preds.sort_by(|a, b| b.score.total_cmp(&a.score));
            match_ranked(class_gt, &preds, thresholds)
                .iter()
                .map(|hits| interpolated_average_precision(hits, class_gt.segments.len()))
                .collect()
        })
        .collect();

    let n_classes = classes.len() as f64;
    let map: Vec<f64> = (0..thresholds.len())
        .map(|t| ap.iter().filter_map(|row| row.get(t)).sum::<f64>() / n_classes)
        .collect();
    let average_map = map.iter().sum::<f64>() / map.len() as f64;
    let num_gt = ground_truth.iter().map(|g| g.segments.len()).sum();
    Ok(Evaluation {
        thresholds: thresholds.to_vec(),
        classes,
        ap,
        map,
        average_map,
        num_gt,
        num_pred,
        counts,
    })
}

/// The subset's classes (first-appearance order) and each class's ground truth.
fn subset_ground_truth(
    gt: &Annotations,
    subset: &str,
) -> Result<(Vec<String>, Vec<ClassGroundTruth>)> {
    let mut local_of_class: HashMap<usize, usize> = HashMap::new();
    let mut classes = Vec::new();
    let mut ground_truth: Vec<ClassGroundTruth> = Vec::new();
    for (video, v) in gt
        .videos
        .iter()
        .enumerate()
        .filter(|(_, v)| v.subset == subset)
    {
        for seg in &v.segments {
            let local = *local_of_class.entry(seg.class).or_insert_with(|| {
                classes.push(gt.classes.get(seg.class).cloned().unwrap_or_default());
                ground_truth.push(ClassGroundTruth::default());
                ground_truth.len() - 1
            });
            if let Some(class_gt) = ground_truth.get_mut(local) {
                class_gt.push(video, [seg.start, seg.end]);
            }
        }
    }
    if classes.is_empty() {
        return Err(Error::data(
            format!("subset {subset:?}"),
            format!(
                "has no ground-truth segments (subsets in the file: {})",
                gt.subsets().join(", ")
            ),
        ));
    }
    Ok((classes, ground_truth))
}
