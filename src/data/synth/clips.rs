//! The trimmed clip set for action-classification pre-training (SYNTHETIC.md §2, "Trimmed clip
//! set"): 1 s clips lying wholly inside an action, drawn from a shifted distribution (bigger
//! objects, larger and faster motions, fainter texture, stronger noise), like Kinetics vs
//! ActivityNet. Classes are balanced as i mod 6; each clip has its own random stream.

use crate::data::stream_rng::stream_rng;
use crate::data::synth::motion::{action_offset, action_walls, fold, ActionDraw, Motion, FPS, SIZE};
use crate::data::synth::render::{render_frame, Background, Look, Placed};
use crate::data::synth::video::wander_track;
use crate::data::synth::SynthConfig;
use rand::Rng;
use std::f64::consts::PI;

/// What was drawn for one clip (kept in `clips/labels.json` so the shift can be checked).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClipInfo {
    pub label: usize,
    pub objects: usize,
    /// The actor's base radius, px.
    pub radius: f64,
    pub amplitude: f64,
    pub period: f64,
    /// Time since the action start at the clip's first frame, s.
    pub phase: f64,
}

/// Bytes of one clip, u8 [frames, SIZE, SIZE, 3].
pub fn clip_bytes(cfg: &SynthConfig) -> usize {
    cfg.clip_frames * SIZE * SIZE * 3
}

/// Renders clip `index` into `out` (`clip_bytes` bytes).
pub fn render_clip(cfg: &SynthConfig, index: usize, out: &mut [u8]) -> ClipInfo {
    let mut rng = stream_rng(cfg.dataset_seed(), "synth/clip", index as u64);
    let scene = cfg.clip_scene();
    let motion = Motion::of_index(index);
    let shortcut = rng.random_bool(cfg.ctx_p);
    let theta = shortcut.then(|| motion.label() as f64 * PI / Motion::ALL.len() as f64);
    let background = Background::draw(&mut rng, scene.tex_amp, theta);
    let n_objects = rng.random_range(scene.objects[0]..=scene.objects[1].max(scene.objects[0])).max(1);
    let looks: Vec<Look> = (0..n_objects).map(|_| Look::draw(&mut rng, scene.radius)).collect();
    let amplitude = rng.random_range(scene.amplitude[0]..=scene.amplitude[1]);
    let period = rng.random_range(scene.period[0]..=scene.period[1]);
    let phase = rng.random_range(cfg.clip_phase_s[0]..=cfg.clip_phase_s[1]);
    let draw = ActionDraw::draw(&mut rng);
    let r0 = looks[0].radius;
    let (lo, hi) = action_walls(r0);
    // The anchor is uniform in the central region [lo + A, hi − A] (the centre if A is too large).
    let anchor: [f64; 2] = std::array::from_fn(|_| {
        if lo + amplitude < hi - amplitude {
            rng.random_range(lo + amplitude..=hi - amplitude)
        } else {
            SIZE as f64 / 2.0
        }
    });
    let distractors: Vec<_> = looks[1..]
        .iter()
        .map(|look| wander_track(&mut rng, look.radius, cfg.distractor_sigma, cfg.clip_frames))
        .collect();
    let omega = 2.0 * PI / period;
    let frame_bytes = SIZE * SIZE * 3;
    for f in 0..cfg.clip_frames {
        let u = phase + f as f64 / FPS as f64;
        let (disp, factor) = action_offset(motion, u, amplitude, omega, draw, 1.0);
        let mut placed = vec![Placed {
            look: looks[0],
            pos: std::array::from_fn(|k| fold(anchor[k] + disp[k], lo, hi)),
            radius: r0 * factor,
        }];
        for (look, track) in looks[1..].iter().zip(&distractors) {
            placed.push(Placed { look: *look, pos: track[f].0, radius: track[f].1 });
        }
        render_frame(&background, &placed, scene.noise, &mut rng, &mut out[f * frame_bytes..(f + 1) * frame_bytes]);
    }
    ClipInfo { label: motion.label(), objects: n_objects, radius: r0, amplitude, period, phase }
}
