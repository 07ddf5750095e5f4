//! Candidate start and end positions from the boundary scores of one video (SPEC §f item 1).
//!
//! G-TAD (default), `gtad_inference.py`: position j in 1..L−2 is a candidate when its score is a
//! strict local maximum or > 0.5·max(score); `start[0]` and `end[L−1]` are always candidates.
//! Reference quirk (SPEC §f.1, kept): `start[L−1]` and `end[0]` are never candidates, whatever
//! their score.
//! OpenTAD (`boundary_choose`): every position is a candidate when it equals the 3-wide max pool
//! (padding −∞, so a plateau or an edge counts) or > 0.5·max; `start[0]` and `end[L−1]` forced.
//! Relies on nothing; it does not build proposals.

/// Which reference's candidate rule and proposal indexing to follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProposalStyle {
    /// G-TAD's code, with its quirks (the default; the golden data is G-TAD's).
    #[default]
    Gtad,
    /// OpenTAD's BMN/G-TAD post-processing.
    OpenTad,
}

/// Which boundary the scores belong to: it decides which end of the video is forced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boundary {
    Start,
    End,
}

/// Candidate flags, one per position.
pub fn boundary_candidates(scores: &[f32], boundary: Boundary, style: ProposalStyle) -> Vec<bool> {
    let n = scores.len();
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let high = |x: f32| x > 0.5 * max;
    let mut flags = match style {
        ProposalStyle::Gtad => {
            let mut flags = vec![false; n];
            for (j, w) in scores.windows(3).enumerate() {
                if let (&[prev, x, next], Some(flag)) = (w, flags.get_mut(j + 1)) {
                    *flag = (x > prev && x > next) || high(x);
                }
            }
            flags
        }
        ProposalStyle::OpenTad => {
            let at = |i: Option<usize>| i.and_then(|i| scores.get(i)).copied().unwrap_or(f32::NEG_INFINITY);
            (0..n)
                .map(|j| {
                    let x = at(Some(j));
                    x >= at(j.checked_sub(1)).max(at(Some(j + 1))) || high(x)
                })
                .collect()
        }
    };
    let forced = match boundary {
        Boundary::Start => flags.first_mut(),
        Boundary::End => flags.last_mut(),
    };
    if let Some(flag) = forced {
        *flag = true;
    }
    flags
}
