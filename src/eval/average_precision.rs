//! VOC all-point interpolated average precision, as the official `interpolated_prec_rec`:
//! precision and recall after each ranked prediction, the precision envelope taken from the right
//! (with a trailing 0), summed over the points where recall changes.
//!
//! It relies on nothing; ranking and matching happen before (`matching`). Arithmetic follows the
//! official order (recall steps are differences of `tp/npos`, not `1/npos`), so results agree with
//! it to rounding of the final sum.

/// AP of one class at one threshold from the hit flags of its predictions in ranked order.
/// A class with no prediction (or no ground truth) has AP 0.
pub fn interpolated_average_precision(is_hit: &[bool], num_gt: usize) -> f64 {
    if is_hit.is_empty() || num_gt == 0 {
        return 0.0;
    }
    let npos = num_gt as f64;
    // Precision after each prediction, then its envelope from the right in place.
    let mut envelope = Vec::with_capacity(is_hit.len());
    let (mut tp, mut fp) = (0.0f64, 0.0f64);
    for &hit in is_hit {
        if hit {
            tp += 1.0;
        } else {
            fp += 1.0;
        }
        envelope.push(tp / (tp + fp));
    }
    let mut running = 0.0f64;
    for p in envelope.iter_mut().rev() {
        running = running.max(*p);
        *p = running;
    }
    // Recall only changes at a hit; the final sentinel (recall 1, precision 0) adds nothing.
    let mut ap = 0.0;
    let mut tp = 0.0f64;
    let mut previous_recall = 0.0f64;
    for (&hit, &precision) in is_hit.iter().zip(&envelope) {
        if hit {
            tp += 1.0;
            let recall = tp / npos;
            ap += (recall - previous_recall) * precision;
            previous_recall = recall;
        }
    }
    ap
}
