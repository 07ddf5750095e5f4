//! The training/evaluation loader: background threads open, sample (decode + resize + crop) and
//! label whole batches into a bounded queue, and the iterator hands them out in batch order.
//!
//! Determinism: the epoch's video order comes from the stream (seed, "loader/order", epoch), each
//! video's crop and flip from (seed, "loader/augment/<epoch>", video index); a batch's content never
//! depends on which thread built it or when, so batches are identical for any thread count.
//!
//! Bounded memory: workers never run more than `prefetch` batches ahead of the consumer.
//!
//! Bad videos: an unreadable video is an error naming the video and the file; with
//! `skip_bad_videos` it is left out of its batch instead and listed by [`Loader::skipped`] with the
//! reason (a batch left empty is skipped).

use crate::data::annotations::Video;
use crate::data::frames::{open_video, FrameStore};
use crate::data::labels::{gtad_labels, GtadLabels};
use crate::data::sampler::{sample_video, segments_to_unit, Mode, SamplerConfig};
use crate::data::stream_rng::stream_rng;
use crate::error::{Error, Result};
use rand::seq::SliceRandom;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

/// A video left out, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct SkippedVideo {
    pub video: String,
    pub reason: String,
}

/// Annotated videos matched with their frame stores.
pub struct Dataset {
    root: PathBuf,
    videos: Vec<Video>,
    stores: Vec<Box<dyn FrameStore>>,
    skipped: Vec<SkippedVideo>,
}

impl Dataset {
    /// Opens every video of `videos` in the frame store at `root` (reading each `meta.json`). A
    /// video missing from the store or with a bad `meta.json`/array header is an error naming the
    /// video and file, or, with `skip_bad_videos`, is left out and listed in [`Dataset::skipped`].
    pub fn open(root: &Path, videos: Vec<Video>, skip_bad_videos: bool) -> Result<Dataset> {
        let mut dataset =
            Dataset { root: root.to_path_buf(), videos: Vec::new(), stores: Vec::new(), skipped: Vec::new() };
        for video in videos {
            match open_video(root, &video.id) {
                Ok(store) => {
                    dataset.videos.push(video);
                    dataset.stores.push(store);
                }
                Err(e) if skip_bad_videos => {
                    dataset.skipped.push(SkippedVideo { video: video.id, reason: e.to_string() })
                }
                Err(e) => return Err(e),
            }
        }
        Ok(dataset)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn len(&self) -> usize {
        self.videos.len()
    }
    pub fn is_empty(&self) -> bool {
        self.videos.is_empty()
    }
    pub fn videos(&self) -> &[Video] {
        &self.videos
    }
    /// Videos left out when opening.
    pub fn skipped(&self) -> &[SkippedVideo] {
        &self.skipped
    }
}

/// How to iterate one epoch.
#[derive(Debug, Clone, Copy)]
pub struct LoaderOptions {
    pub sampler: SamplerConfig,
    pub mode: Mode,
    pub batch_size: usize,
    /// Shuffle the video order (training); otherwise dataset order.
    pub shuffle: bool,
    /// Drop the last, incomplete batch.
    pub drop_last: bool,
    pub seed: u64,
    pub epoch: u64,
    /// Worker threads (0 = one per core).
    pub threads: usize,
    /// Batches kept ready ahead of the consumer (at least 1).
    pub prefetch: usize,
    pub skip_bad_videos: bool,
}

/// Targets of one video of a batch.
#[derive(Debug, Clone)]
pub struct VideoTargets {
    pub id: String,
    /// Position in the dataset.
    pub index: usize,
    /// Seconds.
    pub duration: f64,
    /// Ground-truth segments as fractions of the video, clipped to [0, 1].
    pub segments: Vec<[f64; 2]>,
    /// Class id of each segment.
    pub classes: Vec<usize>,
    /// G-TAD targets at the batch's L.
    pub labels: GtadLabels,
}

/// One batch: frames u8 [B, L·T, H, W, 3] (B = `videos.len()`) plus per-video targets.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Batch number within the epoch.
    pub index: usize,
    pub sampler: SamplerConfig,
    pub frames: Vec<u8>,
    pub videos: Vec<VideoTargets>,
}

struct State {
    next_claim: usize,
    delivered: usize,
    ready: BTreeMap<usize, Result<Batch>>,
    stop: bool,
}

struct Shared {
    dataset: Arc<Dataset>,
    opts: LoaderOptions,
    batches: Vec<Vec<usize>>,
    state: Mutex<State>,
    changed: Condvar,
    skipped: Mutex<Vec<SkippedVideo>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A worker that panicked while holding the lock left consistent data (it only inserts
        // finished batches), so recover the guard rather than propagate the poison.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Iterator over one epoch's batches, built by background threads.
pub struct Loader {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
    next: usize,
}

impl Loader {
    /// Starts the workers for one epoch over `dataset`.
    pub fn start(dataset: Arc<Dataset>, opts: LoaderOptions) -> Result<Loader> {
        Loader::start_at(dataset, opts, 0)
    }

    /// Starts the epoch at batch `first_batch` (a resumed run): the batches before it are neither
    /// built nor handed out, and the ones after are exactly those of an uninterrupted epoch.
    pub fn start_at(dataset: Arc<Dataset>, opts: LoaderOptions, first_batch: usize) -> Result<Loader> {
        opts.sampler.validate()?;
        if opts.batch_size == 0 {
            return Err(Error::Config { flag: "batch size".into(), msg: "must be at least 1".into() });
        }
        let mut order: Vec<usize> = (0..dataset.len()).collect();
        if opts.shuffle {
            order.shuffle(&mut stream_rng(opts.seed, "loader/order", opts.epoch));
        }
        let batches: Vec<Vec<usize>> = order
            .chunks(opts.batch_size)
            .filter(|chunk| !opts.drop_last || chunk.len() == opts.batch_size)
            .map(<[usize]>::to_vec)
            .collect();
        let threads = match opts.threads {
            0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            n => n,
        };
        let shared = Arc::new(Shared {
            dataset,
            opts,
            batches,
            state: Mutex::new(State {
                next_claim: first_batch,
                delivered: first_batch,
                ready: BTreeMap::new(),
                stop: false,
            }),
            changed: Condvar::new(),
            skipped: Mutex::new(Vec::new()),
        });
        let remaining = shared.batches.len().saturating_sub(first_batch);
        let workers = (0..threads.min(remaining))
            .map(|_| {
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || worker(&shared))
            })
            .collect();
        Ok(Loader { shared, workers, next: first_batch })
    }

    /// Number of batches in the epoch (before any that end up empty are skipped).
    pub fn batches(&self) -> usize {
        self.shared.batches.len()
    }

    /// Batches claimed by workers but not yet handed out (built or being built); never more than
    /// `prefetch`, which is what bounds the loader's memory.
    pub fn queued(&self) -> usize {
        let state = self.shared.lock();
        state.next_claim - state.delivered.min(state.next_claim)
    }

    /// Every video left out so far (when opening the dataset and while sampling), sorted by id.
    pub fn skipped(&self) -> Vec<SkippedVideo> {
        let mut all = self.shared.dataset.skipped().to_vec();
        all.extend(self.shared.skipped.lock().unwrap_or_else(|p| p.into_inner()).iter().cloned());
        all.sort();
        all
    }
}

impl Iterator for Loader {
    type Item = Result<Batch>;

    fn next(&mut self) -> Option<Result<Batch>> {
        while self.next < self.shared.batches.len() {
            let mut state = self.shared.lock();
            let result = loop {
                if let Some(result) = state.ready.remove(&self.next) {
                    break result;
                }
                state = self.shared.changed.wait(state).unwrap_or_else(|p| p.into_inner());
            };
            self.next += 1;
            state.delivered = self.next;
            drop(state);
            self.shared.changed.notify_all();
            match result {
                Ok(batch) if batch.videos.is_empty() => continue,
                Ok(batch) => return Some(Ok(batch)),
                Err(e) => {
                    // The epoch cannot continue past a bad batch: stop the workers.
                    self.next = self.shared.batches.len();
                    self.shared.lock().stop = true;
                    self.shared.changed.notify_all();
                    return Some(Err(e));
                }
            }
        }
        None
    }
}

impl Drop for Loader {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.changed.notify_all();
        for worker in self.workers.drain(..) {
            // A worker that panicked has already reported its batch as an error.
            let _ = worker.join();
        }
    }
}

fn worker(shared: &Shared) {
    loop {
        let index = {
            let mut state = shared.lock();
            loop {
                if state.stop || state.next_claim >= shared.batches.len() {
                    return;
                }
                if state.next_claim < state.delivered + shared.opts.prefetch.max(1) {
                    break;
                }
                state = shared.changed.wait(state).unwrap_or_else(|p| p.into_inner());
            }
            state.next_claim += 1;
            state.next_claim - 1
        };
        let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| build_batch(shared, index)))
            .unwrap_or_else(|_| Err(Error::data(format!("loader batch {index}"), "worker panicked")));
        shared.lock().ready.insert(index, built);
        shared.changed.notify_all();
    }
}

/// Samples and labels the videos of batch `index`.
fn build_batch(shared: &Shared, index: usize) -> Result<Batch> {
    let opts = &shared.opts;
    let members = &shared.batches[index];
    let per_video = opts.sampler.bytes_per_video();
    let mut frames = vec![0u8; members.len() * per_video];
    let mut videos = Vec::with_capacity(members.len());
    let augment_stream = format!("loader/augment/{}", opts.epoch);
    for &v in members {
        let video = &shared.dataset.videos[v];
        let store = shared.dataset.stores[v].as_ref();
        let mut rng = stream_rng(opts.seed, &augment_stream, v as u64);
        let slot = &mut frames[videos.len() * per_video..(videos.len() + 1) * per_video];
        match sample_video(store, &opts.sampler, opts.mode, &mut rng, slot) {
            Ok(()) => {}
            Err(e) if opts.skip_bad_videos => {
                let reason = e.to_string();
                shared
                    .skipped
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(SkippedVideo { video: video.id.clone(), reason });
                continue;
            }
            Err(e) => return Err(e),
        }
        let seconds: Vec<[f64; 2]> = video.segments.iter().map(|s| [s.start, s.end]).collect();
        let segments = segments_to_unit(&seconds, video.duration);
        let labels = gtad_labels(&segments, opts.sampler.fidelity.snippets);
        videos.push(VideoTargets {
            id: video.id.clone(),
            index: v,
            duration: video.duration,
            segments,
            classes: video.segments.iter().map(|s| s.class).collect(),
            labels,
        });
    }
    frames.truncate(videos.len() * per_video);
    Ok(Batch { index, sampler: opts.sampler, frames, videos })
}
