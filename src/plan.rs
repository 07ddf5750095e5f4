//! The memory planner behind `lofi plan`: which fidelity, batch, snippets per encoder call and
//! recompute setting of an end-to-end step (encoder + TAL head) fit a budget, and how fast the
//! step would be. Every number comes from a dry run of the step `lofi train` runs
//! (`StepSpec::dry_run` on the Meta device): the peak is the pool's high-water mark, the time the
//! step-time model of `train::cost` on the same dry run. `fits` means peak + the fixed device
//! overhead (context, modules, cuBLAS handle — outside the pool) is within the budget.

use crate::fidelity::Fidelity;
use crate::nn::Recompute;
use crate::tensor::DeviceKind;
use crate::train::budget::{fit, recompute_name, RecomputeSetting};
use crate::train::cost::DeviceRates;
use crate::train::optimizer::OptimConfig;
use crate::train::presets::{self, fidelity_name};
use crate::train::spec::{HeadSpec, Precision, StepSpec};
use crate::{Error, Result};

/// The paper's configurations (full, S, T, ST, and the 1-GPU low budget), by name.
pub const PAPER_CONFIGS: [(&str, Fidelity); 5] = [
    ("full", Fidelity::new(100, 224, 224)),
    ("S", Fidelity::new(100, 112, 112)),
    ("T", Fidelity::new(25, 224, 224)),
    ("ST", Fidelity::new(50, 158, 158)),
    ("low", Fidelity::new(25, 112, 112)),
];

/// Fixed CUDA overhead when none was measured: the context (≈ 600 MiB on Hopper with the driver's
/// own reservations), the loaded modules + cuBLAS handle (`tensor::CUDA_LOAD_HEADROOM`, 512 MiB)
/// and the cuBLAS workspace the pool holds from the first GEMM (32 MiB on Hopper). `lofi info`
/// measures the real value on a GPU.
pub const DEFAULT_CUDA_OVERHEAD: usize = (600 << 20) + crate::tensor::CUDA_LOAD_HEADROOM + (32 << 20);

/// What to plan.
#[derive(Debug, Clone)]
pub struct PlanQuery {
    pub budget: usize,
    pub device: DeviceKind,
    pub encoder: String,
    pub head: String,
    /// Classes of the snippet classifier (200 for ActivityNet-like data).
    pub classes: usize,
    pub precision: Precision,
    /// Fidelities to plan; empty = the paper's configurations.
    pub fidelities: Vec<Fidelity>,
    /// Videos per device; `None` = the largest that fits.
    pub videos: Option<usize>,
    /// Snippets per encoder call; `None` = one video's snippets.
    pub snippets_per_call: Option<usize>,
    pub recompute: RecomputeSetting,
    pub overhead_bytes: usize,
    pub rates: DeviceRates,
    /// The largest batch the search tries.
    pub max_videos: usize,
}

/// One planned step.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PlanRow {
    /// `25x224`.
    pub fidelity: String,
    /// The configuration's name when it is one of the paper's.
    pub name: Option<String>,
    pub videos: usize,
    pub snippets_per_call: usize,
    pub precision: String,
    pub recompute: String,
    /// Predicted pool high-water mark of a training step.
    pub peak_bytes: usize,
    pub overhead_bytes: usize,
    /// Predicted step time and throughput.
    pub step_s: f64,
    pub frames_per_s: f64,
    /// Pixels × snippets per video (the paper's budget measure).
    pub pixel_snippets: usize,
    pub fits: bool,
}

impl PlanQuery {
    fn spec(&self, fidelity: Fidelity, videos: usize, k: usize, recompute: Recompute) -> Result<StepSpec> {
        let dim = presets::encoder_config(&self.encoder)?.feature_dim();
        Ok(StepSpec {
            encoder: Some(self.encoder.clone()),
            head: HeadSpec::Tal {
                preset: self.head.clone(),
                in_channels: dim,
                classes: vec![String::new(); self.classes.max(1)],
            },
            fidelity,
            batch: videos,
            snippets_per_call: k,
            recompute,
            precision: self.precision,
            optim: OptimConfig::default(),
        })
    }

    /// The pool budget left once the fixed overhead is paid.
    fn pool_budget(&self) -> usize {
        self.budget.saturating_sub(self.overhead_bytes)
    }

    /// Plans `fidelity` at `videos`: the execution `recompute` asks for (for `auto`, the cheapest
    /// that fits), or — when nothing fits — the most frugal one, marked as not fitting.
    pub fn row(&self, fidelity: Fidelity, videos: usize) -> Result<PlanRow> {
        let k = self.snippets_per_call.unwrap_or(fidelity.snippets).max(1);
        let base = self.spec(fidelity, videos, k, Recompute::None)?;
        base.validate()?;
        let (recompute, k, known) = match self.recompute.fixed() {
            Some(r) => (r, k, None),
            None => match fit(&base, self.pool_budget()) {
                Ok(f) => (f.recompute, f.snippets_per_call, f.dry_run),
                Err(Error::OutOfBudget { .. }) => (Recompute::Chunk, 1, None),
                Err(e) => return Err(e),
            },
        };
        let spec = StepSpec { recompute, snippets_per_call: k, ..base };
        let dry = match known {
            Some(d) => d,
            None => spec.dry_run()?,
        };
        let step_s = self.rates.step_seconds(&dry);
        let frames = videos * spec.frames_per_sample()?;
        let name = PAPER_CONFIGS.iter().find(|(_, f)| *f == fidelity).map(|(n, _)| n.to_string());
        Ok(PlanRow {
            fidelity: fidelity_name(&fidelity),
            name,
            videos,
            snippets_per_call: k,
            precision: precision_name(self.precision).into(),
            recompute: recompute_name(recompute).into(),
            peak_bytes: dry.peak_bytes,
            overhead_bytes: self.overhead_bytes,
            step_s,
            frames_per_s: frames as f64 / step_s.max(1e-12),
            pixel_snippets: fidelity.snippets * fidelity.height * fidelity.width,
            fits: dry.peak_bytes.saturating_add(self.overhead_bytes) <= self.budget,
        })
    }

    /// The largest batch of `fidelity` that fits (doubling, then bisection), or the one-video row
    /// marked as not fitting.
    pub fn largest(&self, fidelity: Fidelity) -> Result<PlanRow> {
        let first = self.row(fidelity, 1)?;
        if !first.fits {
            return Ok(first);
        }
        let (mut good, mut bad) = (first, None);
        while bad.is_none() && good.videos < self.max_videos {
            let next = (good.videos * 2).min(self.max_videos);
            let r = self.row(fidelity, next)?;
            if r.fits {
                good = r;
            } else {
                bad = Some(next);
            }
        }
        if let Some(mut hi) = bad {
            while hi - good.videos > 1 {
                let mid = (good.videos + hi) / 2;
                let r = self.row(fidelity, mid)?;
                if r.fits {
                    good = r;
                } else {
                    hi = mid;
                }
            }
        }
        Ok(good)
    }

    /// Every requested row: each fidelity at `videos`, or at the largest batch that fits. A budget
    /// that holds no single video at any fidelity is an error naming the least budget that would.
    pub fn plan(&self) -> Result<Vec<PlanRow>> {
        let fidelities: Vec<Fidelity> = if self.fidelities.is_empty() {
            PAPER_CONFIGS.iter().map(|(_, f)| *f).collect()
        } else {
            self.fidelities.clone()
        };
        use rayon::prelude::*;
        let rows = fidelities
            .par_iter()
            .map(|f| match self.videos {
                Some(v) => self.row(*f, v),
                None => self.largest(*f),
            })
            .collect::<Result<Vec<_>>>()?;
        if self.videos.is_none() && rows.iter().all(|r| !r.fits) {
            let least = rows.iter().map(|r| r.peak_bytes + r.overhead_bytes).min().unwrap_or(0);
            return Err(Error::Config {
                flag: "--budget".into(),
                msg: format!(
                    "{} B holds no single video at any of these fidelities; the least that would is {least} B ({:.2} GiB)",
                    self.budget,
                    least as f64 / (1u64 << 30) as f64
                ),
            });
        }
        Ok(rows)
    }
}

pub fn precision_name(p: Precision) -> &'static str {
    p.name()
}

/// The rows that fit and that no other fitting row beats on both pixels × snippets and batch.
pub fn pareto_front(rows: &[PlanRow]) -> Vec<PlanRow> {
    let fitting: Vec<&PlanRow> = rows.iter().filter(|r| r.fits).collect();
    let mut front: Vec<PlanRow> = fitting
        .iter()
        .filter(|r| {
            !fitting.iter().any(|o| {
                (o.pixel_snippets >= r.pixel_snippets && o.videos >= r.videos)
                    && (o.pixel_snippets > r.pixel_snippets || o.videos > r.videos)
            })
        })
        .map(|r| (*r).clone())
        .collect();
    front.sort_by_key(|r| std::cmp::Reverse(r.pixel_snippets));
    front
}

/// A grid of fidelities for the Pareto front: 25/50/100 snippets at 112/158/224 px.
pub fn fidelity_grid() -> Vec<Fidelity> {
    let mut out = Vec::new();
    for l in [25, 50, 100] {
        for s in [112, 158, 224] {
            out.push(Fidelity::new(l, s, s));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pixels: usize, videos: usize, fits: bool) -> PlanRow {
        PlanRow {
            fidelity: String::new(),
            name: None,
            videos,
            snippets_per_call: 1,
            precision: "fp32".into(),
            recompute: "none".into(),
            peak_bytes: 0,
            overhead_bytes: 0,
            step_s: 1.0,
            frames_per_s: 1.0,
            pixel_snippets: pixels,
            fits,
        }
    }

    #[test]
    fn the_front_keeps_only_undominated_fitting_rows() {
        let rows = vec![row(100, 1, true), row(50, 4, true), row(50, 2, true), row(25, 4, true), row(200, 8, false)];
        let front = pareto_front(&rows);
        let got: Vec<(usize, usize)> = front.iter().map(|r| (r.pixel_snippets, r.videos)).collect();
        assert_eq!(got, vec![(100, 1), (50, 4)]);
    }
}
