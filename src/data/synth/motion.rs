//! Object motion of the synthetic benchmark (SYNTHETIC.md §2): the "wander" OU-velocity process
//! that every object follows outside actions, the six action motions, and the reflection helpers.
//! Positions are in pixels, with pixel (row i, column j) centred at (j + 0.5, i + 0.5); velocities
//! in pixels per second; time steps are one frame.

use rand::Rng;
use rand_distr::StandardNormal;

/// Frames per second of every synthetic video and clip.
pub const FPS: usize = 8;
/// Frame height and width in pixels.
pub const SIZE: usize = 32;
/// Per-frame velocity persistence of the wander process.
const WANDER_DECAY: f64 = 0.8;
/// Strength of the weak spring that pulls a wandering object to the frame centre (per second).
const WANDER_SPRING: f64 = 0.6;

/// The six action classes, in label order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Motion {
    HOsc,
    VOsc,
    OrbitCw,
    OrbitCcw,
    Pulse,
    BounceDrift,
}

impl Motion {
    pub const ALL: [Motion; 6] =
        [Motion::HOsc, Motion::VOsc, Motion::OrbitCw, Motion::OrbitCcw, Motion::Pulse, Motion::BounceDrift];

    /// The class name used as the annotation label.
    pub fn name(self) -> &'static str {
        match self {
            Motion::HOsc => "h_osc",
            Motion::VOsc => "v_osc",
            Motion::OrbitCw => "orbit_cw",
            Motion::OrbitCcw => "orbit_ccw",
            Motion::Pulse => "pulse",
            Motion::BounceDrift => "bounce_drift",
        }
    }

    /// Label index (0 = h_osc … 5 = bounce_drift).
    pub fn label(self) -> usize {
        self as usize
    }

    /// The class of label `k`, for `k` mod 6 (classes are balanced as i mod K).
    pub fn of_index(k: usize) -> Motion {
        Motion::ALL[k % Motion::ALL.len()]
    }
}

/// Folds `x` into [lo, hi] as repeated reflections at the two walls (a triangle wave), which is
/// continuous in `x`, so reflected motion never jumps.
pub fn fold(x: f64, lo: f64, hi: f64) -> f64 {
    let span = hi - lo;
    if span <= 0.0 {
        return (lo + hi) / 2.0;
    }
    let t = (x - lo).rem_euclid(2.0 * span);
    lo + if t <= span { t } else { 2.0 * span - t }
}

/// One wandering object's state.
#[derive(Debug, Clone, Copy)]
pub struct Wander {
    pub pos: [f64; 2],
    pub vel: [f64; 2],
}

impl Wander {
    /// Uniform position within the walls, velocity from the process's stationary law N(0, σ²).
    pub fn start<R: Rng + ?Sized>(rng: &mut R, radius: f64, sigma: f64) -> Self {
        let (lo, hi) = wander_walls(radius);
        let mut pos = [0.0; 2];
        let mut vel = [0.0; 2];
        for axis in 0..2 {
            pos[axis] = rng.random_range(lo..=hi);
            vel[axis] = sigma * rng.sample::<f64, _>(StandardNormal);
        }
        Wander { pos, vel }
    }

    /// One frame: v ← 0.8·v + √(1−0.8²)·σ·ε − 0.6·(p − centre)/8, p ← p + v/8, reflecting at the
    /// walls [r+1, H−r−1].
    pub fn step<R: Rng + ?Sized>(&mut self, rng: &mut R, radius: f64, sigma: f64) {
        let dt = 1.0 / FPS as f64;
        let centre = SIZE as f64 / 2.0;
        let noise = (1.0 - WANDER_DECAY * WANDER_DECAY).sqrt() * sigma;
        let (lo, hi) = wander_walls(radius);
        for axis in 0..2 {
            let eps: f64 = rng.sample(StandardNormal);
            self.vel[axis] =
                WANDER_DECAY * self.vel[axis] + noise * eps - WANDER_SPRING * (self.pos[axis] - centre) * dt;
            let p = self.pos[axis] + self.vel[axis] * dt;
            if p < lo || p > hi {
                self.vel[axis] = -self.vel[axis];
            }
            self.pos[axis] = fold(p, lo, hi);
        }
    }
}

/// The wander process's walls [r+1, H−r−1].
pub fn wander_walls(radius: f64) -> (f64, f64) {
    (radius + 1.0, SIZE as f64 - radius - 1.0)
}

/// The range actions are reflected into, [r+0.5, H−r−0.5].
pub fn action_walls(radius: f64) -> (f64, f64) {
    (radius + 0.5, SIZE as f64 - radius - 0.5)
}

/// The per-action random draws of a motion: the orbit phase φ and the drift direction.
#[derive(Debug, Clone, Copy)]
pub struct ActionDraw {
    pub phase: f64,
    pub direction: f64,
}

impl ActionDraw {
    pub fn draw<R: Rng + ?Sized>(rng: &mut R) -> Self {
        let tau = std::f64::consts::TAU;
        ActionDraw { phase: rng.random_range(0.0..tau), direction: rng.random_range(0.0..tau) }
    }
}

/// Displacement from the action's anchor and radius factor, `u` seconds after the action start,
/// for amplitude `a` (px) and angular frequency `omega` (rad/s). `gain` scales the motion (a soft
/// onset ramp; 1 at full strength).
pub fn action_offset(motion: Motion, u: f64, a: f64, omega: f64, draw: ActionDraw, gain: f64) -> ([f64; 2], f64) {
    let phi = draw.phase;
    let (dx, dy, radius_factor) = match motion {
        Motion::HOsc => (a * (omega * u).sin(), 0.0, 1.0),
        Motion::VOsc => (0.0, a * (omega * u).sin(), 1.0),
        Motion::OrbitCw => (a * ((omega * u + phi).cos() - phi.cos()), a * ((omega * u + phi).sin() - phi.sin()), 1.0),
        Motion::OrbitCcw => {
            (a * ((omega * u + phi).cos() - phi.cos()), -a * ((omega * u + phi).sin() - phi.sin()), 1.0)
        }
        Motion::Pulse => (0.0, 0.0, 1.0 + 0.5 * gain * (omega * u).sin()),
        Motion::BounceDrift => {
            let speed = a * omega / std::f64::consts::SQRT_2;
            (speed * u * draw.direction.cos(), speed * u * draw.direction.sin(), 1.0)
        }
    };
    ([gain * dx, gain * dy], radius_factor)
}
