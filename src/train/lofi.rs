//! Which fidelity each step of an end-to-end stage trains at (paper §3.2). From the full fidelity
//! (L snippets at S²) and a reduction r of pixels × snippets per video, each configuration takes
//! the largest whole sizes within the reduced budget L·S²/r:
//!
//! - T-LoFi: ⌊L/r⌋ snippets at S² (the paper: r_t = 4, 25 of 100);
//! - S-LoFi: L snippets at ⌊S/√r⌋² (r_s = 2 per side: 112² of 224²);
//! - ST-LoFi: L' = ⌊L/√r⌋ snippets at the largest side with L'·side² ≤ L·S²/r (50 at 158²);
//! - C-LoFi cycles S → T → ST: `c-short` every `cycle_batches` optimizer steps (c_s = 16), `c-long`
//!   every `cycle_epochs` epochs;
//! - `e2e-full` trains at the full fidelity itself.
//!
//! With the synthetic benchmark's r = 2 this gives T = 16×32², S = 32×22², ST = 22×27², each
//! about half of the full 32×32². Explicit fidelities override the ratio.

use crate::fidelity::Fidelity;
use crate::train::config::{LofiConfig, LofiSection, Stage};
use crate::train::presets::{self, fidelity_name, parse_fidelity};
use crate::{Error, Result};

/// How the fidelity changes over a run.
#[derive(Debug, Clone, PartialEq)]
pub enum FidelityPlan {
    Fixed(Fidelity),
    /// `cycle[(step / every) % 3]`.
    EveryBatches {
        cycle: [Fidelity; 3],
        every: u64,
    },
    /// `cycle[(epoch / every) % 3]`.
    EveryEpochs {
        cycle: [Fidelity; 3],
        every: u64,
    },
}

/// The S, T and ST fidelities of `section` for `full`.
pub fn reduced(section: &LofiSection, full: Fidelity) -> Result<[Fidelity; 3]> {
    let r = section.ratio;
    // The tolerance keeps exact quotients (224/√4 = 112) from flooring one below.
    let floor = |v: f64| ((v + 1e-9).floor() as usize).max(1);
    let (l, h, w) = (full.snippets as f64, full.height as f64, full.width as f64);
    let pick = |given: &Option<String>, key: &str, derived: Fidelity| -> Result<Fidelity> {
        given.as_deref().map_or(Ok(derived), |text| parse_fidelity(text, &format!("lofi.{key}")))
    };
    let st_snippets = floor(l / r.sqrt());
    let st_scale = (l / (r * st_snippets as f64)).sqrt();
    Ok([
        pick(&section.s, "s", Fidelity::new(full.snippets, floor(h / r.sqrt()), floor(w / r.sqrt())))?,
        pick(&section.t, "t", Fidelity::new(floor(l / r), full.height, full.width))?,
        pick(&section.st, "st", Fidelity::new(st_snippets, floor(h * st_scale), floor(w * st_scale)))?,
    ])
}

impl FidelityPlan {
    /// The plan of an end-to-end `stage` with `section`'s settings for `encoder` (checked against
    /// what the encoder's strides and G-TAD's graphs can take).
    pub fn resolve(stage: Stage, section: &LofiSection, encoder: &str) -> Result<FidelityPlan> {
        let full = match &section.full {
            Some(text) => parse_fidelity(text, "lofi.full")?,
            None => presets::full_fidelity(encoder),
        };
        let [s, t, st] = reduced(section, full)?;
        let plan = match (stage, section.config) {
            (Stage::E2eFull, _) => FidelityPlan::Fixed(full),
            (_, LofiConfig::S) => FidelityPlan::Fixed(s),
            (_, LofiConfig::T) => FidelityPlan::Fixed(t),
            (_, LofiConfig::St) => FidelityPlan::Fixed(st),
            (_, LofiConfig::CShort) => {
                FidelityPlan::EveryBatches { cycle: [s, t, st], every: section.cycle_batches.max(1) }
            }
            (_, LofiConfig::CLong) => {
                FidelityPlan::EveryEpochs { cycle: [s, t, st], every: section.cycle_epochs.max(1) }
            }
        };
        let min = presets::min_frame_side(&presets::encoder_config(encoder)?);
        for f in plan.fidelities() {
            if f.height < min || f.width < min || f.snippets < 3 {
                return Err(Error::Config {
                    flag: "--lofi / --fidelity".into(),
                    msg: format!(
                        "{}: the {encoder} encoder needs frames of at least {min}×{min} and the head at least 3 snippets",
                        fidelity_name(&f)
                    ),
                });
            }
        }
        Ok(plan)
    }

    /// The fidelity of global step `step`, in epoch `epoch`.
    pub fn at(&self, epoch: u64, step: u64) -> Fidelity {
        match self {
            FidelityPlan::Fixed(f) => *f,
            FidelityPlan::EveryBatches { cycle, every } => cycle[((step / every) % 3) as usize],
            FidelityPlan::EveryEpochs { cycle, every } => cycle[((epoch / every) % 3) as usize],
        }
    }

    /// Every fidelity the plan uses, each once, in cycle order.
    pub fn fidelities(&self) -> Vec<Fidelity> {
        let mut out: Vec<Fidelity> = match self {
            FidelityPlan::Fixed(f) => vec![*f],
            FidelityPlan::EveryBatches { cycle, .. } | FidelityPlan::EveryEpochs { cycle, .. } => cycle.to_vec(),
        };
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ratio_gives_the_papers_and_the_synthetic_fidelities() {
        let paper = LofiSection { ratio: 4.0, ..LofiSection::default() };
        let [s, t, st] = reduced(&paper, Fidelity::new(100, 224, 224)).unwrap();
        assert_eq!(
            (s, t, st),
            (Fidelity::new(100, 112, 112), Fidelity::new(25, 224, 224), Fidelity::new(50, 158, 158))
        );
        let [s, t, st] = reduced(&LofiSection::default(), Fidelity::new(32, 32, 32)).unwrap();
        assert_eq!((s, t, st), (Fidelity::new(32, 22, 22), Fidelity::new(16, 32, 32), Fidelity::new(22, 27, 27)));
    }

    #[test]
    fn cycles_follow_s_t_st() {
        let cfg =
            |c| LofiSection { config: c, s: Some("32x22".into()), st: Some("22x27".into()), ..LofiSection::default() };
        let short = FidelityPlan::resolve(Stage::Lofi, &cfg(LofiConfig::CShort), "synthetic-tiny").unwrap();
        let at: Vec<usize> = (0..50).map(|step| short.at(0, step).snippets).collect();
        assert_eq!(&at[..16], &[32; 16]);
        assert_eq!(&at[16..32], &[16; 16]);
        assert_eq!(&at[32..48], &[22; 16]);
        assert_eq!(at[48], 32);
        let long = FidelityPlan::resolve(Stage::Lofi, &cfg(LofiConfig::CLong), "synthetic-tiny").unwrap();
        assert_eq!((0..4).map(|e| long.at(e, 0).height).collect::<Vec<_>>(), vec![22, 32, 27, 22]);
        assert_eq!(long.fidelities().len(), 3);
        let full = FidelityPlan::resolve(Stage::E2eFull, &cfg(LofiConfig::T), "synthetic-tiny").unwrap();
        assert_eq!(full, FidelityPlan::Fixed(Fidelity::new(32, 32, 32)));
    }

    #[test]
    fn a_fidelity_below_the_encoders_strides_is_refused() {
        let tiny = LofiSection { t: Some("16x8".into()), ..LofiSection::default() };
        let e = FidelityPlan::resolve(Stage::Lofi, &tiny, "synthetic-tiny").unwrap_err().to_string();
        assert!(e.contains("16x8") && e.contains("16×16"), "{e}");
        let short = LofiSection { t: Some("2x32".into()), ..LofiSection::default() };
        assert!(FidelityPlan::resolve(Stage::Lofi, &short, "synthetic-tiny").is_err());
    }
}
