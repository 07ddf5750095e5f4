//! Temporal intersection over union of two `[start, end]` segments, as the official
//! `segment_iou`: intersection clipped at 0, union = sum of lengths − intersection.
//!
//! lofi-defined case: when the intersection is 0 the tIoU is 0 without dividing. For well-formed
//! segments that is what the official code computes (0 / positive); for a reversed ground-truth
//! segment kept by the `Keep` policy the official division can be 0/0 = NaN, which its `<`
//! test would treat as a match. It relies on nothing and does not validate segments.

/// tIoU of `a` and `b`, each `[start, end]`.
#[inline]
pub fn segment_tiou(a: [f64; 2], b: [f64; 2]) -> f64 {
    let intersection = a[1].min(b[1]) - a[0].max(b[0]);
    if intersection <= 0.0 {
        return 0.0;
    }
    let union = (a[1] - a[0]) + (b[1] - b[0]) - intersection;
    intersection / union
}
