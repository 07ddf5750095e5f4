//! The fuzz driver on stable Rust: for each reader, `iters` inputs mutated from its seeds
//! (`mutate`), each run under `catch_unwind`, timed, and measured by the counting allocator.
//! Findings — a panic, an input that takes more CPU time than the limit, a peak allocation above the reader's
//! stated bound — are written to the corpus folder as `<reader>/<kind>-<hash>.bin` and reported.
//! With `track_in_flight`, each input is first written to `<reader>/in-flight.bin`, so that an
//! abort (which no `catch_unwind` sees) leaves the input that caused it behind for
//! `tools/fuzz.sh` to keep.

use super::alloc;
use super::mutate::{mutate, Shape};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One reader under test: one small function and one table line each.
pub struct Reader {
    pub name: &'static str,
    pub shape: Shape,
    /// Valid inputs the mutations start from.
    pub seeds: fn(&Path) -> Vec<Vec<u8>>,
    /// Reads one input (through a file in `scratch` where the reader takes a path); true when the
    /// reader accepted it. Errors are fine; only panics, aborts, slowness and memory count.
    pub run: fn(&Path, &[u8]) -> bool,
    /// The stated memory bound, in bytes, for one input.
    pub memory_limit: fn(&[u8]) -> usize,
}

/// How long and where to fuzz.
#[derive(Debug, Clone)]
pub struct Settings {
    pub iters: usize,
    pub seed: u64,
    pub corpus: PathBuf,
    pub time_limit: Duration,
    pub track_in_flight: bool,
}

/// What one reader's run found.
#[derive(Debug, Default)]
pub struct Stats {
    pub inputs: usize,
    /// Inputs the reader accepted (the rest it refused with an error).
    pub accepted: usize,
    pub findings: Vec<String>,
    pub elapsed: Duration,
    /// The most CPU time one input took.
    pub slowest: Duration,
    pub max_peak: usize,
}

fn hash(bytes: &[u8]) -> u64 {
    // FNV-1a: stable across runs and platforms, enough to name a file.
    bytes.iter().fold(0xcbf29ce484222325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x100000001b3))
}

/// CPU time of the calling thread: what an input costs, whatever else the machine is doing (a
/// shared CI runner can stall a thread for longer than the time limit).
fn thread_cpu_time() -> Duration {
    // SAFETY: clock_gettime writes into the zeroed timespec we own.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec.max(0) as u64, ts.tv_nsec.clamp(0, 999_999_999) as u32)
}

fn keep(dir: &Path, kind: &str, input: &[u8]) -> PathBuf {
    let path = dir.join(format!("{kind}-{:016x}.bin", hash(input)));
    let _ = std::fs::create_dir_all(dir);
    let _ = std::fs::write(&path, input);
    path
}

/// Fuzzes `reader` with `settings`.
pub fn fuzz(reader: &Reader, settings: &Settings) -> Stats {
    let dir = settings.corpus.join(reader.name);
    let scratch = dir.join("scratch");
    let _ = std::fs::create_dir_all(&scratch);
    let seeds = (reader.seeds)(&scratch);
    let mut rng = ChaCha8Rng::seed_from_u64(settings.seed ^ hash(reader.name.as_bytes()));
    let mut entropy = vec![0u8; 4096];
    let mut stats = Stats::default();
    let start = Instant::now();
    let in_flight = dir.join("in-flight.bin");
    for i in 0..settings.iters {
        // The seeds themselves first, then mutations.
        let input = match seeds.get(i) {
            Some(s) => s.clone(),
            None => {
                rng.fill_bytes(&mut entropy);
                let mut u = arbitrary::Unstructured::new(&entropy);
                mutate(reader.shape, &seeds, &mut u).unwrap_or_else(|_| seeds[i % seeds.len()].clone())
            }
        };
        if settings.track_in_flight {
            let _ = std::fs::write(&in_flight, &input);
        }
        let base = alloc::start();
        let t0 = thread_cpu_time();
        let outcome = catch_unwind(AssertUnwindSafe(|| (reader.run)(&scratch, &input)));
        let took = thread_cpu_time().saturating_sub(t0);
        let peak = alloc::peak_above(base);
        stats.inputs += 1;
        stats.slowest = stats.slowest.max(took);
        stats.max_peak = stats.max_peak.max(peak);
        let limit = (reader.memory_limit)(&input);
        let mut finding = |kind: &str, what: String| {
            let path = keep(&dir, kind, &input);
            if stats.findings.len() < 20 {
                stats.findings.push(format!("{}: {what} (input kept in {})", reader.name, path.display()));
            }
        };
        match outcome {
            Ok(true) => stats.accepted += 1,
            Ok(false) => {}
            Err(payload) => {
                let msg = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                finding("panic", format!("panicked: {msg}"));
            }
        }
        if took > settings.time_limit {
            finding("slow", format!("took {took:?}"));
        }
        if peak > limit {
            finding("memory", format!("allocated {peak} B at peak, bound {limit} B"));
        }
    }
    if settings.track_in_flight {
        let _ = std::fs::remove_file(&in_flight);
    }
    let _ = std::fs::remove_dir_all(&scratch);
    stats.elapsed = start.elapsed();
    stats
}
