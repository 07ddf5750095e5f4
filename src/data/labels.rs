//! G-TAD training targets (SPEC §c, official `gtad_lib/dataset.py` `_get_train_label`): the IoU
//! map of every anchor with the ground truth, the start/end boundary targets and the valid-anchor
//! mask, for segments already normalised to [0, 1] of the video.
//!
//! Computed in f64 and stored in f32, as the official numpy code is before `torch.Tensor(...)`:
//! the loss thresholds compare these f32 values (golden README, "Semantics" item 3).

/// Targets of one video at L snippets (D = L durations).
#[derive(Debug, Clone, PartialEq)]
pub struct GtadLabels {
    pub snippets: usize,
    /// IoU of anchor [s/L, (s+d+1)/L] with the best-matching segment, [D, L] indexed [d, s]. Also
    /// filled where s + d ≥ L (anchors ending past the video); the loss masks them.
    pub iou_map: Vec<f32>,
    /// Boundary targets [L]: max IoA of position j's window with each segment's start (end) region.
    pub start: Vec<f32>,
    pub end: Vec<f32>,
}

/// IoU of [a0, a1] with [b0, b1], in the official expression order.
fn iou(a0: f64, a1: f64, b0: f64, b1: f64) -> f64 {
    let inter = (a1.min(b1) - a0.max(b0)).max(0.0);
    let union = (a1 - a0) - inter + b1 - b0;
    inter / union
}

/// Intersection of [a0, a1] with [b0, b1] over the length of [a0, a1].
fn ioa(a0: f64, a1: f64, b0: f64, b1: f64) -> f64 {
    let inter = (a1.min(b1) - a0.max(b0)).max(0.0);
    inter / (a1 - a0)
}

/// G-TAD targets for `segments` (fractions of the video) at `snippets` positions. A video without
/// segments gets all-zero targets (the official code would fail on an empty max).
pub fn gtad_labels(segments: &[[f64; 2]], snippets: usize) -> GtadLabels {
    let l = snippets;
    let gap = 1.0 / l as f64;
    let mut iou_map = vec![0f32; l * l];
    for d in 0..l {
        for s in 0..l {
            // `_get_match_map`: xmin = gap·s, xmax = xmin + gap·(d+1), in that order.
            let xmin = gap * s as f64;
            let xmax = xmin + gap * (d + 1) as f64;
            let best = segments.iter().map(|g| iou(xmin, xmax, g[0], g[1])).fold(0.0, f64::max);
            iou_map[d * l + s] = best as f32;
        }
    }
    // "gt_len_small = 3·gap": each boundary owns a region of width 3/L, and position j's window is
    // [(j − 0.5)/L, (j + 1.5)/L] (width 2/L, a BMN quirk kept on purpose, SPEC §j.8).
    let half = 3.0 * gap / 2.0;
    let boundary = |pick: usize| -> Vec<f32> {
        (0..l)
            .map(|j| {
                let a0 = gap * (j as f64 - 0.5);
                let a1 = gap * ((j + 1) as f64 + 0.5);
                let best = segments.iter().map(|g| ioa(a0, a1, g[pick] - half, g[pick] + half)).fold(0.0, f64::max);
                best as f32
            })
            .collect()
    };
    GtadLabels { snippets: l, iou_map, start: boundary(0), end: boundary(1) }
}

/// The official `get_mask(L)`: 1 where the anchor (d, s) ends inside the video (s + d ≤ L − 1),
/// [D, L] indexed [d, s].
pub fn valid_mask(snippets: usize) -> Vec<f32> {
    let l = snippets;
    (0..l * l).map(|i| if i % l + i / l < l { 1.0 } else { 0.0 }).collect()
}

/// G-TAD's ActivityNet normalisation (SPEC §c.1): segments in seconds divided by the
/// `corrected_second = feature_frame / duration_frame · duration_second` that its CUHK features
/// cover, clipped to [0, 1]. Raw-frame training uses `sampler::segments_to_unit` with the duration.
pub fn gtad_corrected_second(duration_second: f64, duration_frame: f64, feature_frame: f64) -> f64 {
    feature_frame / duration_frame * duration_second
}
