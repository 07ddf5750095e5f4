//! Video-level classifier fusion (SPEC §f item 5, G-TAD `_gen_detection_video`): the soft-NMS
//! picks of a video become detections, once per top class, with score = proposal score × class
//! score and the segment de-normalised to seconds: [max(0, xmin)·duration, min(1, xmax)·duration].
//!
//! Order, as the reference writes it: all picks (sorted by score, descending, stable) with the
//! best class, then all picks with the second class, and so on. `duration` is the video's duration
//! in seconds (`duration_second`; the reference's `/16*16` factor is a no-op in Python 3).
//! Reference quirk (kept): soft-NMS only runs when a video has more than one proposal, so a lone
//! proposal is emitted as it is. Relies on `soft_nms`, `proposals` and `detections`.

use super::detections::Detection;
use super::proposals::Proposal;
use super::soft_nms::{Pick, SoftNms};

/// Soft-NMS as the reference applies it to one video: skipped for a single proposal.
pub fn suppress(proposals: &[Proposal], nms: &SoftNms) -> Vec<Pick> {
    let segments: Vec<[f64; 2]> = proposals.iter().map(|p| p.segment).collect();
    let scores: Vec<f64> = proposals.iter().map(|p| p.score).collect();
    match proposals {
        [only] => vec![Pick { index: 0, score: only.score, segment: only.segment }],
        _ => nms.run(&segments, &scores),
    }
}

/// Detections of one video from its picks and its top classes `(label, class score)`, at most
/// `max_per_class` picks per class (the reference's `num_prop`, 100).
pub fn fuse(picks: &[Pick], top_classes: &[(String, f64)], duration: f64, max_per_class: usize) -> Vec<Detection> {
    let mut ranked = picks.to_vec();
    ranked.sort_by(|a, b| b.score.total_cmp(&a.score));
    ranked.truncate(max_per_class);
    top_classes
        .iter()
        .flat_map(|(label, class_score)| {
            ranked.iter().map(move |p| Detection {
                label: label.clone(),
                score: p.score * class_score,
                segment: [p.segment[0].max(0.0) * duration, p.segment[1].min(1.0) * duration],
            })
        })
        .collect()
}
