//! Fitting a step into a memory budget. The dry run (`StepSpec::dry_run_peak`) is the only memory
//! model; this file only searches: the cheapest execution that fits is no recompute at the
//! configured snippets per encoder call, then chunk recompute at that size, then chunk recompute
//! at halved sizes. Halving the snippets per call changes the computation slightly (train-mode BN
//! normalises per call, and the weight gradient sums per call), so it is the last resort and is
//! recorded in the run's resolved configuration.

use crate::nn::Recompute;
use crate::train::presets::fidelity_name;
use crate::train::spec::StepSpec;
use crate::{Error, Result};

/// How `lofi train` chooses recompute: a fixed policy, or the cheapest that fits (`auto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecomputeSetting {
    Auto,
    None,
    Chunk,
    Stage,
}

impl RecomputeSetting {
    pub fn parse(text: &str, flag: &str) -> Result<RecomputeSetting> {
        match text {
            "auto" => Ok(RecomputeSetting::Auto),
            "none" => Ok(RecomputeSetting::None),
            "chunk" => Ok(RecomputeSetting::Chunk),
            "stage" => Ok(RecomputeSetting::Stage),
            other => Err(Error::Config {
                flag: flag.into(),
                msg: format!("unknown recompute policy '{other}' (auto, none, chunk, stage)"),
            }),
        }
    }

    /// The fixed policy, or `None` for `auto`.
    pub fn fixed(self) -> Option<Recompute> {
        match self {
            RecomputeSetting::Auto => None,
            RecomputeSetting::None => Some(Recompute::None),
            RecomputeSetting::Chunk => Some(Recompute::Chunk),
            RecomputeSetting::Stage => Some(Recompute::Stage),
        }
    }
}

pub fn recompute_name(r: Recompute) -> &'static str {
    match r {
        Recompute::None => "none",
        Recompute::Chunk => "chunk",
        Recompute::Stage => "stage",
    }
}

/// What the search chose, and the peak the dry run predicts for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fit {
    pub recompute: Recompute,
    pub snippets_per_call: usize,
    pub peak_bytes: usize,
    /// The dry run of the chosen execution (`None` when nothing was dry-run).
    pub dry_run: Option<crate::train::spec::DryRun>,
}

/// The candidates in order of cost: none and chunk at `k`, then chunk at k/2, k/4, …, 1.
fn candidates(k: usize) -> Vec<(Recompute, usize)> {
    let mut out = vec![(Recompute::None, k), (Recompute::Chunk, k)];
    let mut c = k / 2;
    while c >= 1 {
        out.push((Recompute::Chunk, c));
        c /= 2;
    }
    out
}

/// The cheapest execution of `spec` (its recompute and snippets per call replaced) whose peak is
/// within `budget`; `OutOfBudget` naming the fidelity, batch and the least budget that would do
/// when none is.
pub fn fit(spec: &StepSpec, budget: usize) -> Result<Fit> {
    let mut smallest = usize::MAX;
    for (recompute, k) in candidates(spec.snippets_per_call.max(1)) {
        let s = StepSpec { recompute, snippets_per_call: k, ..spec.clone() };
        let dry = s.dry_run()?;
        if dry.peak_bytes <= budget {
            return Ok(Fit { recompute, snippets_per_call: k, peak_bytes: dry.peak_bytes, dry_run: Some(dry) });
        }
        smallest = smallest.min(dry.peak_bytes);
    }
    Err(Error::OutOfBudget {
        device: format!(
            "plan (fidelity {}, batch {}: even 1 snippet per call with recompute needs {smallest} B)",
            fidelity_name(&spec.fidelity),
            spec.batch
        ),
        requested: smallest,
        in_use: 0,
        budget,
    })
}

/// The execution of `spec` under `setting`: a fixed policy as given (checked against the budget
/// when there is one), or `auto`: no recompute without a budget, the cheapest fit with one.
pub fn resolve(
    spec: &StepSpec,
    setting: RecomputeSetting,
    budget: Option<usize>,
    stage: &str,
    device: &crate::tensor::Device,
) -> Result<Fit> {
    match (setting.fixed(), budget) {
        (Some(r), Some(b)) => {
            let s = StepSpec { recompute: r, ..spec.clone() };
            let peak = crate::train::runner::check_budget(&s, stage, device, b)?;
            Ok(Fit { recompute: r, snippets_per_call: spec.snippets_per_call, peak_bytes: peak, dry_run: None })
        }
        (Some(r), None) => {
            Ok(Fit { recompute: r, snippets_per_call: spec.snippets_per_call, peak_bytes: 0, dry_run: None })
        }
        (None, None) => Ok(Fit {
            recompute: Recompute::None,
            snippets_per_call: spec.snippets_per_call,
            peak_bytes: 0,
            dry_run: None,
        }),
        (None, Some(b)) => fit(spec, b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_go_from_cheapest_to_smallest_calls() {
        assert_eq!(
            candidates(8),
            vec![
                (Recompute::None, 8),
                (Recompute::Chunk, 8),
                (Recompute::Chunk, 4),
                (Recompute::Chunk, 2),
                (Recompute::Chunk, 1)
            ]
        );
        assert_eq!(candidates(1), vec![(Recompute::None, 1), (Recompute::Chunk, 1)]);
        assert!(RecomputeSetting::parse("sometimes", "--recompute")
            .unwrap_err()
            .to_string()
            .contains("auto, none, chunk, stage"));
    }
}
