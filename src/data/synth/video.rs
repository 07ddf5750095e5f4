//! Structure and trajectories of one untrimmed synthetic video (SYNTHETIC.md §2, "Video
//! structure", "Action motions"): its duration, class and action intervals, its background and
//! objects, and every object's position and radius in every frame.
//!
//! Continuity: outside actions the actor follows its own wander path plus an offset that decays
//! with τ = 2 s; the offset is set at each action's end to where the action's motion would have
//! taken it next, so leaving an action never jumps. An action starts at the actor's current
//! position clipped to [r+0.5+A/2, H−r−0.5−A/2]; §2 says both "clipped" and "never a positional
//! discontinuity", so the clipping offset also decays with τ inside the action (it is at most
//! A/2 − 0.5 px) and entering an action never jumps either.

use crate::data::stream_rng::stream_rng;
use crate::data::synth::motion::{action_offset, action_walls, fold, ActionDraw, Motion, Wander, FPS, SIZE};
use crate::data::synth::render::{Background, Look, Placed};
use crate::data::synth::{BgMode, SynthConfig};
use rand::Rng;
use std::f64::consts::PI;

/// The two splits of the untrimmed videos.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    Training,
    Validation,
}

impl Split {
    /// ActivityNet's subset name.
    pub fn subset(self) -> &'static str {
        match self {
            Split::Training => "training",
            Split::Validation => "validation",
        }
    }

    /// Video id of item `index` of this split.
    pub fn video_id(self, index: usize) -> String {
        match self {
            Split::Training => format!("train_{index:04}"),
            Split::Validation => format!("val_{index:04}"),
        }
    }
}

/// (position, radius) of one object in every frame.
pub type Track = Vec<([f64; 2], f64)>;

/// One video, fully determined before any pixel is drawn.
#[derive(Debug, Clone)]
pub struct VideoPlan {
    pub id: String,
    pub split: Split,
    pub index: usize,
    pub motion: Motion,
    pub frames: usize,
    /// Action intervals in frames, [start, end), sorted.
    pub actions: Vec<[usize; 2]>,
    pub amplitude: f64,
    pub period: f64,
    pub background: Background,
    /// Object looks; object 0 is the actor.
    pub looks: Vec<Look>,
    /// tracks[object][frame] = (position, radius).
    pub tracks: Vec<Track>,
    /// The actor's hidden wander path, which it follows outside actions once offsets have decayed.
    pub actor_wander: Vec<[f64; 2]>,
}

impl VideoPlan {
    /// Duration in seconds (whole frames).
    pub fn duration(&self) -> f64 {
        self.frames as f64 / FPS as f64
    }

    /// Action intervals in seconds.
    pub fn segments(&self) -> Vec<[f64; 2]> {
        let fps = FPS as f64;
        self.actions.iter().map(|a| [a[0] as f64 / fps, a[1] as f64 / fps]).collect()
    }

    /// The objects as placed in frame `t`, actor first.
    pub fn placed(&self, t: usize) -> Vec<Placed> {
        self.looks
            .iter()
            .zip(&self.tracks)
            .map(|(look, track)| Placed { look: *look, pos: track[t].0, radius: track[t].1 })
            .collect()
    }
}

fn uniform<R: Rng + ?Sized>(rng: &mut R, range: [f64; 2]) -> f64 {
    rng.random_range(range[0]..=range[1])
}

fn uniform_count<R: Rng + ?Sized>(rng: &mut R, range: [usize; 2]) -> usize {
    rng.random_range(range[0]..=range[1].max(range[0]))
}

/// Action intervals: durations drawn in whole frames, at least `min_gap` frames of background
/// before, between and after, the free time split at sorted uniform cut points (rounded to frames,
/// which keeps every gap ≥ `min_gap`); actions that do not fit are dropped.
fn layout_actions<R: Rng + ?Sized>(rng: &mut R, cfg: &SynthConfig, frames: usize) -> Vec<[usize; 2]> {
    let fps = FPS as f64;
    let min_gap = (cfg.min_gap_s * fps).round() as usize;
    let wanted = uniform_count(rng, cfg.actions);
    let mut lengths: Vec<usize> = (0..wanted).map(|_| (uniform(rng, cfg.action_s) * fps).round() as usize).collect();
    while !lengths.is_empty() && lengths.iter().sum::<usize>() + min_gap * (lengths.len() + 1) > frames {
        lengths.pop();
    }
    let free = frames - lengths.iter().sum::<usize>() - min_gap * (lengths.len() + 1);
    let mut cuts: Vec<f64> = (0..lengths.len()).map(|_| rng.random_range(0.0..=free as f64)).collect();
    cuts.sort_by(f64::total_cmp);
    let mut actions = Vec::with_capacity(lengths.len());
    let mut cursor = 0;
    let mut previous_cut = 0;
    for (len, cut) in lengths.iter().zip(&cuts) {
        let cut = (cut.round() as usize).min(free);
        let start = cursor + min_gap + (cut - previous_cut);
        actions.push([start, start + len]);
        cursor = start + len;
        previous_cut = cut;
    }
    actions
}

/// Plans video `index` of `split` from its own random stream.
pub fn plan_video(cfg: &SynthConfig, split: Split, index: usize) -> VideoPlan {
    let mut rng = stream_rng(cfg.dataset_seed(), &format!("synth/plan/{}", split.subset()), index as u64);
    let fps = FPS as f64;
    let frames = (uniform(&mut rng, cfg.duration_s) * fps).round() as usize;
    let motion = Motion::of_index(index);
    let actions = layout_actions(&mut rng, cfg, frames);
    let scene = &cfg.video_scene;
    let shortcut = rng.random_bool(cfg.ctx_p);
    let theta = shortcut.then(|| motion.label() as f64 * PI / Motion::ALL.len() as f64);
    let background = Background::draw(&mut rng, scene.tex_amp, theta);
    let n_objects = uniform_count(&mut rng, scene.objects).max(1);
    let looks: Vec<Look> = (0..n_objects).map(|_| Look::draw(&mut rng, scene.radius)).collect();
    let amplitude = uniform(&mut rng, scene.amplitude);
    let period = uniform(&mut rng, scene.period);
    let mut tracks = Vec::with_capacity(n_objects);
    let (actor, actor_wander) = actor_track(&mut rng, cfg, &looks[0], motion, &actions, frames, amplitude, period);
    tracks.push(actor);
    for look in &looks[1..] {
        tracks.push(wander_track(&mut rng, look.radius, cfg.distractor_sigma, frames));
    }
    VideoPlan {
        id: split.video_id(index),
        split,
        index,
        motion,
        frames,
        actions,
        amplitude,
        period,
        background,
        looks,
        tracks,
        actor_wander,
    }
}

/// A distractor: wander all the time.
pub fn wander_track<R: Rng + ?Sized>(rng: &mut R, radius: f64, sigma: f64, frames: usize) -> Track {
    let mut w = Wander::start(rng, radius, sigma);
    (0..frames)
        .map(|t| {
            if t > 0 {
                w.step(rng, radius, sigma);
            }
            (w.pos, radius)
        })
        .collect()
}

/// An action in progress: where it was anchored and the clipping offset still to decay.
struct ActiveAction {
    index: usize,
    start: usize,
    anchor: [f64; 2],
    start_offset: [f64; 2],
    draw: ActionDraw,
}

/// The actor's (position, radius) per frame, and its hidden wander path.
#[allow(clippy::too_many_arguments)]
fn actor_track<R: Rng + ?Sized>(
    rng: &mut R,
    cfg: &SynthConfig,
    look: &Look,
    motion: Motion,
    actions: &[[usize; 2]],
    frames: usize,
    amplitude: f64,
    period: f64,
) -> (Track, Vec<[f64; 2]>) {
    let fps = FPS as f64;
    let r0 = look.radius;
    let sigma = match cfg.bg_mode {
        BgMode::Wander => cfg.wander_sigma,
        BgMode::Static => 0.0,
    };
    let omega = 2.0 * PI / period;
    let tau = cfg.return_tau_s;
    let draws: Vec<ActionDraw> = actions.iter().map(|_| ActionDraw::draw(rng)).collect();
    let (wall_lo, wall_hi) = action_walls(r0);
    let anchor_lo = wall_lo + amplitude / 2.0;
    let anchor_hi = SIZE as f64 - r0 - 0.5 - amplitude / 2.0;
    // Position and radius factor `u` seconds into an action.
    let in_action = |act: &ActiveAction, u: f64| -> ([f64; 2], f64) {
        let gain = if cfg.ramp_s > 0.0 { (u / cfg.ramp_s).min(1.0) } else { 1.0 };
        let (disp, radius_factor) = action_offset(motion, u, amplitude, omega, act.draw, gain);
        let decay = (-u / tau).exp();
        let pos =
            std::array::from_fn(|k| fold(act.anchor[k] + disp[k] + act.start_offset[k] * decay, wall_lo, wall_hi));
        (pos, radius_factor)
    };

    let mut wander = Wander::start(rng, r0, sigma);
    let mut offset = [0.0; 2];
    let mut offset_since = 0usize;
    let mut active: Option<ActiveAction> = None;
    let mut next_action = 0usize;
    let mut track = Vec::with_capacity(frames);
    let mut path = Vec::with_capacity(frames);
    for t in 0..frames {
        if t > 0 && cfg.bg_mode == BgMode::Wander {
            wander.step(rng, r0, sigma);
        }
        path.push(wander.pos);
        if let Some(act) = active.take_if(|a| actions[a.index][1] == t) {
            // Leave the action where its motion would have gone next; the gap to the wander path
            // then decays.
            let end = actions[act.index][1];
            let (pos, _) = in_action(&act, (end - act.start) as f64 / fps);
            offset = [pos[0] - wander.pos[0], pos[1] - wander.pos[1]];
            offset_since = t;
        }
        let decay = (-((t - offset_since) as f64 / fps) / tau).exp();
        // Reflected like action positions: the decaying offset is relative to where the action
        // ended, while the wander path has moved on, so their sum can overshoot the walls.
        let background: [f64; 2] = std::array::from_fn(|k| fold(wander.pos[k] + offset[k] * decay, wall_lo, wall_hi));
        if next_action < actions.len() && actions[next_action][0] == t {
            let anchor = std::array::from_fn(|k| background[k].clamp(anchor_lo, anchor_hi.max(anchor_lo)));
            active = Some(ActiveAction {
                index: next_action,
                start: t,
                anchor,
                start_offset: [background[0] - anchor[0], background[1] - anchor[1]],
                draw: draws[next_action],
            });
            next_action += 1;
        }
        track.push(match &active {
            Some(act) => {
                let (pos, factor) = in_action(act, (t - act.start) as f64 / fps);
                (pos, r0 * factor)
            }
            None => (background, r0),
        });
    }
    (track, path)
}

/// Renders the planned video's frames, u8 [frames, SIZE, SIZE, 3]; pixel noise has its own stream.
pub fn render_video(cfg: &SynthConfig, plan: &VideoPlan) -> Vec<u8> {
    let mut rng = stream_rng(cfg.dataset_seed(), &format!("synth/noise/{}", plan.split.subset()), plan.index as u64);
    let frame_bytes = SIZE * SIZE * 3;
    let mut out = vec![0u8; plan.frames * frame_bytes];
    for (t, frame) in out.chunks_exact_mut(frame_bytes).enumerate() {
        crate::data::synth::render::render_frame(
            &plan.background,
            &plan.placed(t),
            cfg.video_scene.noise,
            &mut rng,
            frame,
        );
    }
    out
}
