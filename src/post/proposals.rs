//! Proposals of one video from its boundary candidates and the head's 2-channel D×L map
//! (channel 0 = regression/IoU, channel 1 = classification, indexed `[ch, d, s]`), SPEC §f
//! items 2–3. Score = cls·reg, computed in f64 as the reference's numpy code does.
//!
//! G-TAD (default): for d in 0..D (outer) and s in 0..L (inner), e = s + d + 1; keep when e < L
//! and start[s] and end[e]; the proposal is [s/L, e/L].
//! Reference quirk (SPEC §f.2, kept): the end candidate is checked at e = s+d+1 and e < L is
//! strict, so no proposal ends at 1.0 and the map's own end index s+d is never tested.
//! OpenTAD: keep when s + d < L and start[s] and end[s+d]; the proposal is [s/L, (s+d+1)/L].
//! Relies on `boundary`; it does not suppress or classify.

use super::boundary::{boundary_candidates, Boundary, ProposalStyle};
use crate::{Error, Result};

/// One proposal: the map cell it came from, its normalised span and its scores.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Proposal {
    /// Start index s.
    pub start_index: usize,
    /// End index in the reference's convention: s+d+1 (exclusive) in both styles.
    pub end_index: usize,
    /// Duration index d (row of the map).
    pub duration_index: usize,
    /// [s/L, end_index/L].
    pub segment: [f64; 2],
    /// map[1, d, s].
    pub cls: f64,
    /// map[0, d, s].
    pub reg: f64,
    /// cls·reg.
    pub score: f64,
}

/// Everything proposal generation produced for one video.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposals {
    pub start_candidates: Vec<bool>,
    pub end_candidates: Vec<bool>,
    /// In enumeration order: d outer, s inner.
    pub proposals: Vec<Proposal>,
}

/// Builds the proposals of one video. `start` and `end` have length L; `map` is (2, D, L) row-major.
pub fn generate_proposals(
    start: &[f32],
    end: &[f32],
    map: &[f32],
    max_duration: usize,
    style: ProposalStyle,
) -> Result<Proposals> {
    let l = start.len();
    if end.len() != l || l == 0 || max_duration == 0 || map.len() != 2 * max_duration * l {
        return Err(Error::shape(
            "generate_proposals",
            format!(
                "start {} and end {} must have the same length L > 0 and the map 2·D·L = 2·{max_duration}·{l} values, got {}",
                start.len(),
                end.len(),
                map.len()
            ),
        ));
    }
    let start_candidates = boundary_candidates(start, Boundary::Start, style);
    let end_candidates = boundary_candidates(end, Boundary::End, style);
    let (reg_map, cls_map) = map.split_at(max_duration * l);
    let mut proposals = Vec::new();
    for d in 0..max_duration {
        for s in 0..l {
            // The end index whose candidate flag is tested, and the exclusive end of the span.
            let (tested_end, end_index) = match style {
                ProposalStyle::Gtad => (s + d + 1, s + d + 1),
                ProposalStyle::OpenTad => (s + d, s + d + 1),
            };
            let keep = tested_end < l
                && start_candidates.get(s).copied().unwrap_or(false)
                && end_candidates.get(tested_end).copied().unwrap_or(false);
            if !keep {
                continue;
            }
            let cell = d * l + s;
            let (Some(&cls), Some(&reg)) = (cls_map.get(cell), reg_map.get(cell)) else {
                continue;
            };
            let (cls, reg) = (f64::from(cls), f64::from(reg));
            proposals.push(Proposal {
                start_index: s,
                end_index,
                duration_index: d,
                segment: [s as f64 / l as f64, end_index as f64 / l as f64],
                cls,
                reg,
                score: cls * reg,
            });
        }
    }
    Ok(Proposals { start_candidates, end_candidates, proposals })
}
