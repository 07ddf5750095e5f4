//! The synthetic TAL benchmark (SYNTHETIC.md, implemented to its §2): untrimmed 32×32 videos at
//! 8 fps in which one actor performs 1–3 instances of one of six motion classes among wandering
//! distractors, ActivityNet-format annotations, and a trimmed clip set for classification
//! pre-training drawn from a deliberately shifted distribution.
//!
//! Everything is a pure function of the seed (dataset seed = 1000 + seed): each video and clip has
//! its own random stream, so the output is byte-identical whatever the thread count.
//! `docs/synthetic.md` says what defines each class and what makes the benchmark hard.

pub mod clips;
pub mod motion;
pub mod render;
pub mod video;
pub mod writer;

use crate::error::{Error, Result};

pub use motion::{Motion, FPS, SIZE};
pub use video::{plan_video, Split, VideoPlan};
pub use writer::{generate, SynthSummary};

/// What the actor does outside actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum BgMode {
    /// It wanders like the distractors (the validated design).
    Wander,
    /// It stays where it is (easy boundaries; an ablation of §5).
    Static,
}

/// Appearance and motion ranges of a scene: the target videos use one, the clip set another.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SceneParams {
    /// Number of objects (actor included), uniform over [lo, hi].
    pub objects: [usize; 2],
    /// Object radius in px, uniform.
    pub radius: [f64; 2],
    /// Action amplitude A in px, uniform.
    pub amplitude: [f64; 2],
    /// Action period P in s, uniform.
    pub period: [f64; 2],
    pub tex_amp: f64,
    /// Pixel noise σ (in [0, 1] units).
    pub noise: f64,
}

impl SceneParams {
    /// The untrimmed videos (the "target" distribution).
    pub const TARGET: SceneParams = SceneParams {
        objects: [1, 3],
        radius: [2.5, 4.0],
        amplitude: [3.0, 5.0],
        period: [1.6, 2.4],
        tex_amp: 0.12,
        noise: 0.04,
    };
    /// The trimmed clips (the shifted "source", like Kinetics vs ActivityNet): bigger, larger,
    /// faster motions, fainter texture, stronger noise.
    pub const SOURCE: SceneParams = SceneParams {
        objects: [1, 3],
        radius: [3.0, 5.0],
        amplitude: [4.0, 6.0],
        period: [1.2, 2.0],
        tex_amp: 0.08,
        noise: 0.08,
    };
}

/// Every generator parameter; written to `synth.json` with the output.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SynthConfig {
    pub seed: u64,
    /// Videos in each of the training and validation splits.
    pub videos_per_split: usize,
    pub clips: usize,
    /// Video duration in s, uniform, rounded to whole frames.
    pub duration_s: [f64; 2],
    /// Actions per video, uniform over [lo, hi] (reduced when they do not fit).
    pub actions: [usize; 2],
    /// Action duration in s, uniform.
    pub action_s: [f64; 2],
    /// Least background before, between and after actions, in s.
    pub min_gap_s: f64,
    /// Time constant with which the actor's offset from its wander path decays, in s.
    pub return_tau_s: f64,
    pub clip_frames: usize,
    /// Phase u₀ of a clip inside its action, in s, uniform.
    pub clip_phase_s: [f64; 2],
    pub video_scene: SceneParams,
    pub source_scene: SceneParams,
    // ---- knobs of SYNTHETIC.md §2 (each ablated in §5) ----
    pub bg_mode: BgMode,
    /// Wander σ of the actor outside actions, px/s per axis.
    pub wander_sigma: f64,
    /// Wander σ of the distractors, px/s per axis.
    pub distractor_sigma: f64,
    /// Draw clips from `source_scene` (true) or from the target `video_scene` (false).
    pub clip_shift: bool,
    /// Probability that the texture orientation encodes the class (a scene shortcut).
    pub ctx_p: f64,
    /// Soft onset: the motion grows linearly over this many seconds (0 = none).
    pub ramp_s: f64,
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            seed: 0,
            videos_per_split: 200,
            clips: 6000,
            duration_s: [20.0, 36.0],
            actions: [1, 3],
            action_s: [3.0, 10.0],
            min_gap_s: 1.5,
            return_tau_s: 2.0,
            clip_frames: 8,
            clip_phase_s: [0.0, 3.0],
            video_scene: SceneParams::TARGET,
            source_scene: SceneParams::SOURCE,
            bg_mode: BgMode::Wander,
            wander_sigma: 3.0,
            distractor_sigma: 3.0,
            clip_shift: true,
            ctx_p: 0.0,
            ramp_s: 0.0,
        }
    }
}

impl SynthConfig {
    /// Seed of the random streams: 1000 + seed, so that every seed draws new data.
    pub fn dataset_seed(&self) -> u64 {
        self.seed.wrapping_add(1000)
    }

    /// The scene the clips are drawn from.
    pub fn clip_scene(&self) -> &SceneParams {
        if self.clip_shift {
            &self.source_scene
        } else {
            &self.video_scene
        }
    }

    /// Rejects parameters the generator cannot honour.
    pub fn validate(&self) -> Result<()> {
        let bad = |flag: &str, msg: String| Err(Error::Config { flag: flag.into(), msg });
        if self.videos_per_split == 0 {
            return bad("--videos", "must be at least 1".into());
        }
        for (flag, v) in [
            ("--wander-sigma", self.wander_sigma),
            ("--distractor-sigma", self.distractor_sigma),
            ("--ramp", self.ramp_s),
        ] {
            if !(v >= 0.0 && v.is_finite()) {
                return bad(flag, format!("{v} (must be a finite number ≥ 0)"));
            }
        }
        if !(0.0..=1.0).contains(&self.ctx_p) {
            return bad("--ctx-p", format!("{} (must be in [0, 1])", self.ctx_p));
        }
        Ok(())
    }
}
