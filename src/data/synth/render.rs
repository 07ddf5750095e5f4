//! Rendering of one synthetic frame (SYNTHETIC.md §2, "Frames", "Background", "Objects"): a static
//! textured background, anti-aliased discs and squares painted actor first (so distractors can
//! occlude it), then i.i.d. Gaussian pixel noise, stored as u8 = round(255·clip(v, 0, 1)).

use crate::data::synth::motion::SIZE;
use rand::Rng;
use rand_distr::StandardNormal;
use std::f64::consts::{PI, TAU};

/// The static background of one video or clip, as RGB f32 in [0, 1], [SIZE, SIZE, 3].
#[derive(Debug, Clone)]
pub struct Background {
    pub pixels: Vec<f32>,
    /// Orientation θ of the dominant grating (the `ctx_p` shortcut sets it from the class).
    pub theta: f64,
}

impl Background {
    /// Base colour ~ U[0.25, 0.75]³ plus `tex_amp`·w_c·texture, w_c ~ U[0.5, 1], clipped; the texture
    /// is (1.5·sin(2π·2.5·(cosθ·x + sinθ·y) + φ) + Σ₂ 0.5·sin(2π(fx·x + fy·y) + φ'))/2 with x, y in
    /// frame widths and integer fx, fy ∈ [−2, 2]. `theta` overrides the random θ ~ U[0, π).
    pub fn draw<R: Rng + ?Sized>(rng: &mut R, tex_amp: f64, theta: Option<f64>) -> Self {
        let base: [f64; 3] = std::array::from_fn(|_| rng.random_range(0.25..=0.75));
        let drawn_theta = rng.random_range(0.0..PI);
        let theta = theta.unwrap_or(drawn_theta);
        let phase = rng.random_range(0.0..TAU);
        let waves: [(f64, f64, f64); 2] = std::array::from_fn(|_| {
            (rng.random_range(-2..=2) as f64, rng.random_range(-2..=2) as f64, rng.random_range(0.0..TAU))
        });
        let weights: [f64; 3] = std::array::from_fn(|_| rng.random_range(0.5..=1.0));
        let mut pixels = vec![0f32; SIZE * SIZE * 3];
        for i in 0..SIZE {
            for j in 0..SIZE {
                let x = (j as f64 + 0.5) / SIZE as f64;
                let y = (i as f64 + 0.5) / SIZE as f64;
                let mut tex = 1.5 * (TAU * 2.5 * (theta.cos() * x + theta.sin() * y) + phase).sin();
                for &(fx, fy, ph) in &waves {
                    tex += 0.5 * (TAU * (fx * x + fy * y) + ph).sin();
                }
                tex /= 2.0;
                for c in 0..3 {
                    pixels[(i * SIZE + j) * 3 + c] = (base[c] + tex_amp * weights[c] * tex).clamp(0.0, 1.0) as f32;
                }
            }
        }
        Background { pixels, theta }
    }
}

/// Disc (Euclidean distance) or square (Chebyshev distance).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Disc,
    Square,
}

/// What an object looks like; its radius is the base radius r₀ (a pulse scales it per frame).
#[derive(Debug, Clone, Copy)]
pub struct Look {
    pub shape: Shape,
    pub radius: f64,
    pub colour: [f32; 3],
}

impl Look {
    /// Shape 50/50, radius ~ U[lo, hi], colour ~ U[0,1]³ with one random channel forced to 0 or 1.
    pub fn draw<R: Rng + ?Sized>(rng: &mut R, radius: [f64; 2]) -> Self {
        let shape = if rng.random_bool(0.5) { Shape::Disc } else { Shape::Square };
        let radius = rng.random_range(radius[0]..=radius[1]);
        let mut colour: [f32; 3] = std::array::from_fn(|_| rng.random_range(0.0..=1.0));
        let channel = rng.random_range(0..3);
        colour[channel] = if rng.random_bool(0.5) { 1.0 } else { 0.0 };
        Look { shape, radius, colour }
    }
}

/// An object in one frame: its look, where it is and how big.
#[derive(Debug, Clone, Copy)]
pub struct Placed {
    pub look: Look,
    pub pos: [f64; 2],
    pub radius: f64,
}

/// Composites `objects` (in order) over `background`, adds N(0, σ²) noise to every value and
/// writes the u8 frame [SIZE, SIZE, 3] into `out`.
pub fn render_frame<R: Rng + ?Sized>(
    background: &Background,
    objects: &[Placed],
    noise: f64,
    rng: &mut R,
    out: &mut [u8],
) {
    let mut frame = background.pixels.clone();
    for obj in objects {
        paint(&mut frame, obj);
    }
    for (dst, &v) in out.iter_mut().zip(&frame) {
        let eps: f64 = rng.sample(StandardNormal);
        let noisy = (f64::from(v) + noise * eps).clamp(0.0, 1.0);
        *dst = (noisy * 255.0).round() as u8;
    }
}

/// Anti-aliased coverage mask = clip(r − dist + 0.5, 0, 1), blended over the pixels it touches.
fn paint(frame: &mut [f32], obj: &Placed) {
    let r = obj.radius;
    let [cx, cy] = obj.pos;
    let lo = |c: f64| ((c - r - 1.0).floor().max(0.0)) as usize;
    let hi = |c: f64| ((c + r + 1.0).ceil().max(0.0) as usize).min(SIZE);
    for i in lo(cy)..hi(cy) {
        for j in lo(cx)..hi(cx) {
            let dx = j as f64 + 0.5 - cx;
            let dy = i as f64 + 0.5 - cy;
            let dist = match obj.look.shape {
                Shape::Disc => (dx * dx + dy * dy).sqrt(),
                Shape::Square => dx.abs().max(dy.abs()),
            };
            let mask = (r - dist + 0.5).clamp(0.0, 1.0) as f32;
            if mask > 0.0 {
                let px = &mut frame[(i * SIZE + j) * 3..(i * SIZE + j) * 3 + 3];
                for (v, &colour) in px.iter_mut().zip(&obj.look.colour) {
                    *v = (1.0 - mask) * *v + mask * colour;
                }
            }
        }
    }
}
