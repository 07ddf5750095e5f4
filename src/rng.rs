//! Seeded randomness. One generator type (`Rng`, ChaCha8) and named sub-streams derived from a
//! master seed: `Seeds::new(42).stream("init")`, `.stream("data")`, `.stream("augment")`,
//! `.stream("loss")`. Work split across threads takes one child stream per item
//! (`rng.child(video_index)`), never one per thread, so results do not depend on the thread count.

use rand::{Rng as _, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The master seed of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Seeds {
    pub master: u64,
}

/// SplitMix64's finaliser: decorrelates nearby seeds and stream numbers.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a of a stream name: stable across platforms and Rust versions (unlike `Hash`).
fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01B3))
}

impl Seeds {
    pub fn new(master: u64) -> Seeds {
        Seeds { master }
    }
    /// The named sub-stream of this seed.
    pub fn stream(&self, name: &str) -> Rng {
        Rng::from_key(mix(self.master ^ mix(name_hash(name))))
    }
}

/// A deterministic random generator.
#[derive(Debug, Clone)]
pub struct Rng {
    key: u64,
    inner: ChaCha8Rng,
}

impl Rng {
    fn from_key(key: u64) -> Rng {
        Rng { key, inner: ChaCha8Rng::seed_from_u64(key) }
    }
    /// A generator for a bare seed (tests, tools).
    pub fn seeded(seed: u64) -> Rng {
        Rng::from_key(mix(seed))
    }
    /// An independent stream for item `index` (a video, a layer, a batch) of this stream. Depends
    /// only on this stream's key and `index`, not on how much of this stream was consumed.
    pub fn child(&self, index: u64) -> Rng {
        Rng::from_key(mix(self.key ^ mix(index.wrapping_add(1))))
    }
    /// An independent stream keyed by a name (a parameter's full path).
    pub fn named_child(&self, name: &str) -> Rng {
        self.child(name_hash(name))
    }
    pub fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }
    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        self.inner.random::<f64>()
    }
    /// Uniform in [lo, hi).
    pub fn uniform_range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }
    /// Uniform integer in [0, n); n must be positive.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        self.inner.random_range(0..n)
    }
    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]: ln is finite
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
    /// `n` values uniform in [lo, hi).
    pub fn uniform_vec(&mut self, n: usize, lo: f64, hi: f64) -> Vec<f64> {
        (0..n).map(|_| self.uniform_range(lo, hi)).collect()
    }
}

/// Lets `Rng` drive the `rand` / `rand_distr` APIs (distributions, `SliceRandom`) where that reads
/// better than the methods above; the stream is the same.
impl RngCore for Rng {
    fn next_u32(&mut self) -> u32 {
        self.inner.next_u32()
    }
    fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        self.inner.fill_bytes(dst)
    }
}
