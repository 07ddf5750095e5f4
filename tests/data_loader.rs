//! Loader: batches are identical for any thread count and prefetch depth, cover each video once per
//! epoch, differ between epochs when shuffled, and carry the sampler's frames and G-TAD labels.

use lofi::data::annotations::{Annotations, SegmentPolicy};
use lofi::data::frames::open_video;
use lofi::data::labels::gtad_labels;
use lofi::data::loader::{Batch, Dataset, Loader, LoaderOptions};
use lofi::data::sampler::{sample_video, segments_to_unit, Mode, SamplerConfig};
use lofi::data::stream_rng::stream_rng;
use lofi::data::synth::{generate, SynthConfig};
use lofi::fidelity::Fidelity;
use std::path::Path;
use std::sync::Arc;

fn synth_dataset(dir: &Path, videos: usize) -> Arc<Dataset> {
    let cfg = SynthConfig { seed: 11, videos_per_split: videos, clips: 0, ..SynthConfig::default() };
    generate(dir, &cfg, &indicatif::ProgressBar::hidden()).unwrap();
    let ann = Annotations::load(&dir.join("annotations.json"), SegmentPolicy::Clip).unwrap();
    let train: Vec<_> = ann.subset("training").cloned().collect();
    Arc::new(Dataset::open(&dir.join("frames"), train, false).unwrap())
}

fn options(threads: usize, prefetch: usize, epoch: u64) -> LoaderOptions {
    LoaderOptions {
        sampler: SamplerConfig::synthetic(Fidelity::new(16, 24, 24)),
        mode: Mode::Train,
        batch_size: 3,
        shuffle: true,
        drop_last: false,
        seed: 5,
        epoch,
        threads,
        prefetch,
        skip_bad_videos: false,
    }
}

fn epoch(dataset: &Arc<Dataset>, opts: LoaderOptions) -> Vec<Batch> {
    Loader::start(Arc::clone(dataset), opts).unwrap().map(|b| b.unwrap()).collect()
}

fn ids(batches: &[Batch]) -> Vec<Vec<String>> {
    batches.iter().map(|b| b.videos.iter().map(|v| v.id.clone()).collect()).collect()
}

#[test]
fn batches_do_not_depend_on_threads_or_prefetch() {
    let dir = tempfile::tempdir().unwrap();
    let dataset = synth_dataset(dir.path(), 10);
    let reference = epoch(&dataset, options(1, 1, 0));
    assert_eq!(reference.len(), 4, "10 videos in batches of 3");
    for (threads, prefetch) in [(2, 1), (3, 2), (4, 8)] {
        let other = epoch(&dataset, options(threads, prefetch, 0));
        assert_eq!(ids(&reference), ids(&other), "threads {threads}");
        for (a, b) in reference.iter().zip(&other) {
            assert_eq!(a.index, b.index);
            assert!(a.frames == b.frames, "batch {} frames differ with {threads} threads", a.index);
        }
    }
    // Every video once per epoch; the order changes with the epoch.
    let mut seen: Vec<String> = ids(&reference).concat();
    seen.sort();
    let mut all: Vec<String> = dataset.videos().iter().map(|v| v.id.clone()).collect();
    all.sort();
    assert_eq!(seen, all);
    let next_epoch = epoch(&dataset, options(2, 2, 1));
    assert_ne!(ids(&reference), ids(&next_epoch));
}

#[test]
fn batch_content_is_the_sampled_video_and_its_labels() {
    let dir = tempfile::tempdir().unwrap();
    let dataset = synth_dataset(dir.path(), 4);
    let mut opts = options(2, 2, 3);
    opts.drop_last = true;
    opts.mode = Mode::Eval;
    opts.shuffle = false;
    let batches = epoch(&dataset, opts);
    assert_eq!(batches.len(), 1, "drop_last keeps only the full batch");
    let batch = &batches[0];
    let per_video = opts.sampler.bytes_per_video();
    assert_eq!(batch.frames.len(), 3 * per_video);
    for (slot, target) in batch.videos.iter().enumerate() {
        let video = &dataset.videos()[target.index];
        assert_eq!(video.id, target.id);
        let store = open_video(&dir.path().join("frames"), &video.id).unwrap();
        let mut want = vec![0u8; per_video];
        let mut rng = stream_rng(opts.seed, &format!("loader/augment/{}", opts.epoch), target.index as u64);
        sample_video(store.as_ref(), &opts.sampler, opts.mode, &mut rng, &mut want).unwrap();
        assert!(batch.frames[slot * per_video..(slot + 1) * per_video] == want[..], "{}", video.id);
        let seconds: Vec<[f64; 2]> = video.segments.iter().map(|s| [s.start, s.end]).collect();
        let unit = segments_to_unit(&seconds, video.duration);
        assert_eq!(target.segments, unit);
        assert_eq!(target.labels, gtad_labels(&unit, 16));
        assert!(target.labels.iou_map.iter().any(|&v| v > 0.5), "{}: some anchor overlaps an action", video.id);
    }
    assert_eq!(batch.sampler.normalization, lofi::normalization::Normalization::SYNTHETIC);
}

#[test]
fn workers_stay_within_the_prefetch_bound() {
    let dir = tempfile::tempdir().unwrap();
    let dataset = synth_dataset(dir.path(), 12);
    let mut loader = Loader::start(Arc::clone(&dataset), options(4, 2, 0)).unwrap();
    assert_eq!(loader.batches(), 4);
    // Give the 4 workers ample time: only 2 batches may be claimed ahead of the consumer.
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(loader.queued(), 2);
    assert!(loader.next().unwrap().is_ok());
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(loader.queued(), 2);
    assert_eq!(loader.by_ref().count(), 3);
    assert_eq!(loader.queued(), 0);
}

#[test]
fn dropping_the_loader_early_stops_its_workers() {
    let dir = tempfile::tempdir().unwrap();
    let dataset = synth_dataset(dir.path(), 9);
    let mut loader = Loader::start(Arc::clone(&dataset), options(3, 1, 0)).unwrap();
    assert_eq!(loader.batches(), 3);
    assert!(loader.next().unwrap().is_ok());
    drop(loader); // must return (joins the workers) rather than hang
    assert!(Loader::start(dataset, LoaderOptions { batch_size: 0, ..options(1, 1, 0) }).is_err());
}
