//! The synthetic TAL benchmark (SYNTHETIC.md, implemented to its §2): untrimmed 32×32 videos at
//! 8 fps in which one actor performs 1–3 instances of one of six motion classes among wandering
//! distractors, ActivityNet-format annotations, and a trimmed clip set for classification
//! pre-training drawn from a deliberately shifted distribution.
//!
//! Everything is a pure function of the seed (dataset seed = 1000 + seed): each video and clip has
//! its own random stream, so the output is byte-identical whatever the thread count.
//! `docs/synthetic.md` says what defines each class and what makes the benchmark hard.

pub mod budget;
pub mod clips;
pub mod motion;
pub mod output;
pub mod render;
pub mod video;
pub mod writer;

use crate::error::{Error, Result};

pub use motion::{Motion, FPS, SIZE};
pub use video::{plan_video, Split, VideoPlan};
pub use writer::{generate, generate_with, SynthOptions, SynthSummary};

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

    /// Rejects parameters the generator cannot honour, naming the flag (or, for knobs without a
    /// flag, the field). Counts are bounded ([`budget`]) so that no size computed from them can
    /// overflow; every range must be finite and ordered, since drawing from a reversed or NaN
    /// range would panic.
    pub fn validate(&self) -> Result<()> {
        let bad = |flag: &str, msg: String| Err(Error::Config { flag: flag.into(), msg });
        if !(1..=budget::MAX_VIDEOS_PER_SPLIT).contains(&self.videos_per_split) {
            return bad(
                "--videos",
                format!("{} (must be in 1..={})", self.videos_per_split, budget::MAX_VIDEOS_PER_SPLIT),
            );
        }
        if self.clips > budget::MAX_CLIPS {
            return bad("--clips", format!("{} (at most {})", self.clips, budget::MAX_CLIPS));
        }
        for (flag, v, hi) in [
            ("--wander-sigma", self.wander_sigma, MAX_SIGMA),
            ("--distractor-sigma", self.distractor_sigma, MAX_SIGMA),
            ("--ramp", self.ramp_s, MAX_RAMP_S),
        ] {
            if !(0.0..=hi).contains(&v) {
                return bad(flag, format!("{v} (must be a number in [0, {hi}])"));
            }
        }
        if !(0.0..=1.0).contains(&self.ctx_p) {
            return bad("--ctx-p", format!("{} (must be in [0, 1])", self.ctx_p));
        }
        // Knobs without a flag (library callers): seconds and counts the generator draws from.
        let ranges = [
            ("duration_s", self.duration_s, MAX_DURATION_S),
            ("action_s", self.action_s, MAX_DURATION_S),
            ("clip_phase_s", self.clip_phase_s, MAX_DURATION_S),
        ];
        for (field, [lo, hi], max) in ranges {
            if !(0.0 <= lo && lo <= hi && hi <= max) {
                return bad(field, format!("[{lo}, {hi}] (must satisfy 0 ≤ lo ≤ hi ≤ {max})"));
            }
        }
        if self.duration_s[0] * (FPS as f64) < 1.0 {
            return bad("duration_s", format!("{:?}: a video needs at least one frame", self.duration_s));
        }
        if !(0.0..=MAX_DURATION_S).contains(&self.min_gap_s) {
            return bad("min_gap_s", format!("{} (must be in [0, {MAX_DURATION_S}])", self.min_gap_s));
        }
        if !(self.return_tau_s > 0.0 && self.return_tau_s <= MAX_DURATION_S) {
            return bad("return_tau_s", format!("{} (must be in (0, {MAX_DURATION_S}])", self.return_tau_s));
        }
        if !(self.actions[0] <= self.actions[1] && self.actions[1] <= MAX_ACTIONS) {
            return bad("actions", format!("{:?} (must satisfy lo ≤ hi ≤ {MAX_ACTIONS})", self.actions));
        }
        if !(1..=MAX_CLIP_FRAMES).contains(&self.clip_frames) {
            return bad("clip_frames", format!("{} (must be in 1..={MAX_CLIP_FRAMES})", self.clip_frames));
        }
        for (field, scene) in [("video_scene", &self.video_scene), ("source_scene", &self.source_scene)] {
            scene.validate().map_err(|msg| Error::Config { flag: field.into(), msg })?;
        }
        Ok(())
    }
}

/// Largest wander σ accepted, px/s: already 30 frame widths per second, pure noise.
pub const MAX_SIGMA: f64 = 1000.0;
/// Longest soft onset accepted, s (actions last at most a few seconds by default).
pub const MAX_RAMP_S: f64 = 3600.0;
/// Longest video, action or clip phase accepted, s (an hour of 32×32 frames is 88 MB).
pub const MAX_DURATION_S: f64 = 3600.0;
/// Most actions per video accepted.
pub const MAX_ACTIONS: usize = 1000;
/// Most frames per trimmed clip accepted.
pub const MAX_CLIP_FRAMES: usize = 1024;

impl SceneParams {
    /// `Err(reason)` unless every range is finite, ordered and inside the frame.
    fn validate(&self) -> std::result::Result<(), String> {
        let size = SIZE as f64;
        for (what, [lo, hi], max) in [
            ("radius", self.radius, size),
            ("amplitude", self.amplitude, size),
            ("period", self.period, MAX_DURATION_S),
        ] {
            if !(0.0 <= lo && lo <= hi && hi <= max) {
                return Err(format!("{what} [{lo}, {hi}] must satisfy 0 ≤ lo ≤ hi ≤ {max}"));
            }
        }
        // Not NaN and not negative (checked above), so this is the only way to be non-positive.
        if self.period[0] == 0.0 {
            return Err(format!("period {:?} must be positive", self.period));
        }
        if !(1 <= self.objects[0] && self.objects[0] <= self.objects[1] && self.objects[1] <= 64) {
            return Err(format!("objects {:?} must satisfy 1 ≤ lo ≤ hi ≤ 64", self.objects));
        }
        if !((0.0..=1.0).contains(&self.tex_amp) && (0.0..=1.0).contains(&self.noise)) {
            return Err(format!("tex_amp {} and noise {} must lie in [0, 1]", self.tex_amp, self.noise));
        }
        Ok(())
    }
}
