//! Learning-rate schedules as a factor of each group's base rate, a pure function of the global
//! optimizer step — so a resumed run needs only the step to be back on the curve.
//!
//! - `constant`;
//! - `step`: ×γ every N epochs (PyTorch `StepLR` stepped per epoch; the paper's E2E stage halves
//!   the rate every 5 epochs);
//! - `multistep`: ×γ at each milestone, given as a step or as a fraction of training (the
//!   synthetic head recipe: ×0.1 at 75 %);
//! - `cosine`: 0.5·(1 + cos(π·t/T)) down to `min_factor` (PyTorch `CosineAnnealingLR` with
//!   T_max = the training length, stepped per step);
//! - an optional linear warm-up over the first W steps from `warmup_start` to 1, multiplied in.
//!
//! The rate used for step t (0-based) is the schedule at t: the first step uses the base rate.

use crate::{Error, Result};

/// A milestone of `multistep`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum Milestone {
    /// A global step.
    Step(u64),
    /// A fraction of training in (0, 1).
    Fraction(f64),
}

/// Which curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScheduleKind {
    Constant,
    Step,
    Multistep,
    Cosine,
}

/// A schedule and its warm-up; each field is read only by the kinds that use it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Schedule {
    pub kind: ScheduleKind,
    /// `step`: epochs between decays.
    pub every_epochs: u64,
    /// `step`, `multistep`: the decay factor.
    pub gamma: f64,
    /// `multistep`: where the rate decays.
    pub milestones: Vec<Milestone>,
    /// `cosine`: the final factor.
    pub min_factor: f64,
    /// Steps of linear warm-up (0 = none).
    pub warmup_steps: u64,
    /// Factor at the first warm-up step.
    pub warmup_start: f64,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            kind: ScheduleKind::Constant,
            every_epochs: 1,
            gamma: 0.1,
            milestones: Vec::new(),
            min_factor: 0.0,
            warmup_steps: 0,
            warmup_start: 0.1,
        }
    }
}

impl Schedule {
    pub fn constant() -> Schedule {
        Schedule::default()
    }
    pub fn step(every_epochs: u64, gamma: f64) -> Schedule {
        Schedule { kind: ScheduleKind::Step, every_epochs, gamma, ..Schedule::default() }
    }
    pub fn multistep(milestones: Vec<Milestone>, gamma: f64) -> Schedule {
        Schedule { kind: ScheduleKind::Multistep, milestones, gamma, ..Schedule::default() }
    }
    pub fn cosine(min_factor: f64) -> Schedule {
        Schedule { kind: ScheduleKind::Cosine, min_factor, ..Schedule::default() }
    }

    /// Rejects values the schedule cannot use.
    pub fn validate(&self) -> Result<()> {
        let bad = |msg: String| Err(Error::Config { flag: "schedule".into(), msg });
        let gamma_ok = self.gamma.is_finite() && self.gamma > 0.0;
        match self.kind {
            ScheduleKind::Constant => {}
            ScheduleKind::Step => {
                if self.every_epochs == 0 || !gamma_ok {
                    return bad(format!(
                        "step needs every_epochs ≥ 1 and gamma > 0 (got {}, {})",
                        self.every_epochs, self.gamma
                    ));
                }
            }
            ScheduleKind::Multistep => {
                if !gamma_ok {
                    return bad(format!("multistep gamma {} must be > 0", self.gamma));
                }
                let bad_fraction = |m: &&Milestone| matches!(m, Milestone::Fraction(f) if !(*f > 0.0 && *f < 1.0));
                if let Some(m) = self.milestones.iter().find(bad_fraction) {
                    return bad(format!("milestone {m:?}: a fraction must lie in (0, 1)"));
                }
            }
            ScheduleKind::Cosine => {
                if !(0.0..=1.0).contains(&self.min_factor) {
                    return bad(format!("cosine min_factor {} must lie in [0, 1]", self.min_factor));
                }
            }
        }
        if !(self.warmup_start > 0.0 && self.warmup_start <= 1.0) {
            return bad(format!("warmup_start {} must lie in (0, 1]", self.warmup_start));
        }
        Ok(())
    }

    /// The factor of the base rate at global step `step` of `total_steps`, with `steps_per_epoch`
    /// optimizer steps per epoch.
    pub fn factor(&self, step: u64, total_steps: u64, steps_per_epoch: u64) -> f64 {
        let base = match self.kind {
            ScheduleKind::Constant => 1.0,
            ScheduleKind::Step => {
                let epoch = step / steps_per_epoch.max(1);
                self.gamma.powi((epoch / self.every_epochs.max(1)) as i32)
            }
            ScheduleKind::Multistep => {
                let passed = self.milestones.iter().filter(|m| step >= milestone_step(m, total_steps)).count();
                self.gamma.powi(passed as i32)
            }
            ScheduleKind::Cosine => {
                let t = step.min(total_steps) as f64 / total_steps.max(1) as f64;
                self.min_factor + (1.0 - self.min_factor) * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())
            }
        };
        let warm = if step < self.warmup_steps {
            let t = step as f64 / self.warmup_steps as f64;
            self.warmup_start + (1.0 - self.warmup_start) * t
        } else {
            1.0
        };
        base * warm
    }
}

/// The global step at which a milestone takes effect.
fn milestone_step(m: &Milestone, total_steps: u64) -> u64 {
    match *m {
        Milestone::Step(s) => s,
        Milestone::Fraction(f) => (f * total_steps as f64).round() as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_schedule_follows_its_formula() {
        let c = Schedule::constant();
        assert_eq!(c.factor(123, 1000, 10), 1.0);

        // The paper's E2E: ×0.5 every 5 epochs, 10 steps per epoch.
        let s = Schedule::step(5, 0.5);
        assert_eq!(s.factor(0, 200, 10), 1.0);
        assert_eq!(s.factor(49, 200, 10), 1.0);
        assert_eq!(s.factor(50, 200, 10), 0.5);
        assert_eq!(s.factor(100, 200, 10), 0.25);

        // ×0.1 at 75 % of 400 steps, and a milestone given as a step.
        let m = Schedule::multistep(vec![Milestone::Fraction(0.75)], 0.1);
        assert_eq!(m.factor(299, 400, 13), 1.0);
        assert!((m.factor(300, 400, 13) - 0.1).abs() < 1e-15);
        let m2 = Schedule::multistep(vec![Milestone::Step(10), Milestone::Step(20)], 0.5);
        assert_eq!((m2.factor(9, 30, 1), m2.factor(10, 30, 1), m2.factor(25, 30, 1)), (1.0, 0.5, 0.25));

        let cos = Schedule::cosine(0.0);
        assert_eq!(cos.factor(0, 100, 1), 1.0);
        assert!((cos.factor(50, 100, 1) - 0.5).abs() < 1e-12);
        assert!(cos.factor(100, 100, 1).abs() < 1e-12);

        let mut w = Schedule::constant();
        w.warmup_steps = 10;
        w.warmup_start = 0.1;
        assert!((w.factor(0, 100, 1) - 0.1).abs() < 1e-12);
        assert!((w.factor(5, 100, 1) - 0.55).abs() < 1e-12);
        assert_eq!(w.factor(10, 100, 1), 1.0);
    }

    #[test]
    fn bad_schedules_are_refused() {
        assert!(Schedule::step(0, 0.5).validate().is_err());
        assert!(Schedule::multistep(vec![Milestone::Fraction(1.5)], 0.1).validate().is_err());
        assert!(Schedule::cosine(-1.0).validate().is_err());
        assert!(Schedule::cosine(0.0).validate().is_ok());
    }

    #[test]
    fn a_schedule_reads_from_toml() {
        let s: Schedule = toml::from_str("kind = \"multistep\"\nmilestones = [0.75, 900]\ngamma = 0.1\n").unwrap();
        assert_eq!(s, Schedule::multistep(vec![Milestone::Fraction(0.75), Milestone::Step(900)], 0.1));
        let e = toml::from_str::<Schedule>("kind = \"cosine\"\nmin_factor = 0.0\ngama = 1\n").unwrap_err();
        assert!(e.to_string().contains("gama"), "{e}");
    }
}
