//! Gaussian soft-NMS of one video's proposals (SPEC §f item 4, G-TAD `Soft_NMS`).
//!
//! Proposals are sorted by score (descending, stable). Repeatedly: pick the first maximum, decay
//! every other remaining score whose overlap with the pick is > 0 by exp(−overlap²/σ), and move the
//! pick to the output with its score at pick time. Stop at `top_k` picks or when the maximum is ≤ 0.
//! The overlap is the reference's `IOU`: 0 when the segments are disjoint, else
//! intersection / (max end − min start), which equals the tIoU for overlapping segments.
//! Reference quirk (SPEC §f.4, kept by default): the loop runs while more than one candidate
//! remains, so the last remaining candidate is never emitted; `emit_last: true` fixes that.
//! σ defaults to 0.84 (the LoFi paper; G-TAD's own default is 0.8). Relies on nothing.

/// Soft-NMS settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SoftNms {
    /// Gaussian σ (the reference's `nms_thr`); must be > 0.
    pub sigma: f64,
    /// Most picks to keep.
    pub top_k: usize,
    /// Emit the last remaining candidate too (fixes the reference quirk).
    pub emit_last: bool,
}

impl Default for SoftNms {
    fn default() -> Self {
        Self { sigma: 0.84, top_k: 100, emit_last: false }
    }
}

/// One kept proposal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pick {
    /// Position of the proposal in the input.
    pub index: usize,
    /// Its decayed score when it was picked.
    pub score: f64,
    pub segment: [f64; 2],
}

/// The reference's overlap of two [start, end] segments.
fn overlap(a: [f64; 2], b: [f64; 2]) -> f64 {
    if b[0] > a[1] || a[0] > b[1] {
        return 0.0;
    }
    let hull = a[1].max(b[1]) - a[0].min(b[0]);
    if hull <= 0.0 {
        return 0.0; // two identical points: the reference would divide by zero
    }
    (a[1].min(b[1]) - a[0].max(b[0])) / hull
}

impl SoftNms {
    /// Picks in pick order. `segments` and `scores` are parallel; extra entries of the longer one
    /// are ignored.
    pub fn run(&self, segments: &[[f64; 2]], scores: &[f64]) -> Vec<Pick> {
        let mut remaining: Vec<Pick> = segments
            .iter()
            .zip(scores)
            .enumerate()
            .map(|(index, (&segment, &score))| Pick { index, score, segment })
            .collect();
        remaining.sort_by(|a, b| b.score.total_cmp(&a.score));
        let min_remaining = if self.emit_last { 0 } else { 1 };
        let mut picks = Vec::new();
        while remaining.len() > min_remaining && picks.len() < self.top_k {
            // First maximum, as Python's `list.index(max(list))`.
            let Some((best_at, best)) =
                remaining.iter().enumerate().fold(None::<(usize, Pick)>, |best, (i, p)| match best {
                    Some((_, b)) if b.score >= p.score => best,
                    _ => Some((i, *p)),
                })
            else {
                break;
            };
            if best.score.is_nan() || best.score <= 0.0 {
                break;
            }
            for (i, other) in remaining.iter_mut().enumerate() {
                if i == best_at {
                    continue;
                }
                let iou = overlap(best.segment, other.segment);
                if iou > 0.0 {
                    other.score *= (-(iou * iou) / self.sigma).exp();
                }
            }
            picks.push(remaining.remove(best_at));
        }
        picks
    }
}
