//! Bad input gives an error naming the video and the file: missing frame files, corrupt JPEG or
//! npy, zero-frame videos, a `meta.json` that disagrees with the array, and annotations naming a
//! video absent from the store. With `skip_bad_videos` the loader carries on and says what it
//! skipped and why.

mod data_common;

use data_common::{write_jpeg_video, write_npy_video};
use lofi::data::annotations::{Segment, Video};
use lofi::data::frames::{jpeg_name, open_video, write_meta, FrameFormat, VideoMeta, NPY_FILE};
use lofi::data::loader::{Dataset, Loader, LoaderOptions};
use lofi::data::sampler::{sample_video, Mode, SamplerConfig};
use lofi::data::stream_rng::stream_rng;
use lofi::fidelity::Fidelity;
use std::path::Path;
use std::sync::Arc;

fn cfg() -> SamplerConfig {
    SamplerConfig::paper(Fidelity::new(4, 32, 32))
}

/// Samples video `id` under `root`, returning the error text.
fn sample_error(root: &Path, id: &str) -> String {
    let store = match open_video(root, id) {
        Ok(store) => store,
        Err(e) => return e.to_string(),
    };
    let mut out = vec![0u8; cfg().bytes_per_video()];
    match sample_video(store.as_ref(), &cfg(), Mode::Eval, &mut stream_rng(0, "bad", 0), &mut out) {
        Ok(()) => panic!("{id}: bad input was accepted"),
        Err(e) => e.to_string(),
    }
}

fn assert_names(msg: &str, parts: &[&str]) {
    for part in parts {
        assert!(msg.contains(part), "error {msg:?} does not name {part:?}");
    }
}

#[test]
fn missing_jpeg_frame_names_video_and_file() {
    let dir = tempfile::tempdir().unwrap();
    write_jpeg_video(dir.path(), "vid_a", 10, 36, 48);
    std::fs::remove_file(dir.path().join("vid_a").join(jpeg_name(4))).unwrap();
    assert_names(&sample_error(dir.path(), "vid_a"), &["vid_a", "img_00005.jpg"]);
}

#[test]
fn corrupt_jpeg_names_video_and_file() {
    let dir = tempfile::tempdir().unwrap();
    write_jpeg_video(dir.path(), "vid_b", 10, 36, 48);
    std::fs::write(dir.path().join("vid_b").join(jpeg_name(0)), b"\xff\xd8 this is not a jpeg").unwrap();
    assert_names(&sample_error(dir.path(), "vid_b"), &["vid_b", "img_00001.jpg", "JPEG"]);
    // A valid JPEG of the wrong size is caught too.
    write_jpeg_video(dir.path(), "vid_c", 4, 40, 48);
    let meta = VideoMeta { format: FrameFormat::Jpeg, fps: 8.0, frames: 4, height: 36, width: 48 };
    write_meta(&dir.path().join("vid_c"), &meta).unwrap();
    assert_names(&sample_error(dir.path(), "vid_c"), &["vid_c", "img_0000", "meta.json"]);
}

#[test]
fn corrupt_or_truncated_npy_names_video_and_file() {
    let dir = tempfile::tempdir().unwrap();
    write_npy_video(dir.path(), "garbage", 6, 32, 32);
    std::fs::write(dir.path().join("garbage").join(NPY_FILE), b"definitely not numpy").unwrap();
    assert_names(&sample_error(dir.path(), "garbage"), &["garbage", NPY_FILE]);

    write_npy_video(dir.path(), "short", 6, 32, 32);
    let path = dir.path().join("short").join(NPY_FILE);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 100]).unwrap();
    assert_names(&sample_error(dir.path(), "short"), &["short", NPY_FILE, "truncated"]);

    write_npy_video(dir.path(), "wrong_dtype", 2, 4, 4);
    let path = dir.path().join("wrong_dtype").join(NPY_FILE);
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.windows(3).position(|w| w == b"|u1").unwrap();
    bytes[at..at + 3].copy_from_slice(b"<f4");
    std::fs::write(&path, bytes).unwrap();
    assert_names(&sample_error(dir.path(), "wrong_dtype"), &["wrong_dtype", NPY_FILE, "dtype", "<f4"]);

    // meta.json and the array disagree.
    write_npy_video(dir.path(), "mismatch", 6, 32, 32);
    let meta = VideoMeta { format: FrameFormat::Npy, fps: 8.0, frames: 7, height: 32, width: 32 };
    write_meta(&dir.path().join("mismatch"), &meta).unwrap();
    assert_names(&sample_error(dir.path(), "mismatch"), &["mismatch", NPY_FILE, "meta.json"]);
}

#[test]
fn zero_frame_video_and_bad_meta_name_video_and_file() {
    let dir = tempfile::tempdir().unwrap();
    write_npy_video(dir.path(), "empty", 0, 32, 32);
    assert_names(&sample_error(dir.path(), "empty"), &["empty", "meta.json", "zero frames"]);
    std::fs::create_dir_all(dir.path().join("no_meta")).unwrap();
    assert_names(&sample_error(dir.path(), "no_meta"), &["no_meta", "meta.json"]);
    write_npy_video(dir.path(), "bad_json", 2, 8, 8);
    std::fs::write(dir.path().join("bad_json").join("meta.json"), b"{\"fps\": ").unwrap();
    assert_names(&sample_error(dir.path(), "bad_json"), &["bad_json", "meta.json"]);
    assert_names(&sample_error(dir.path(), "../escape"), &["../escape"]);
}

fn video(id: &str) -> Video {
    Video {
        id: id.into(),
        subset: "training".into(),
        duration: 2.0,
        segments: vec![Segment { start: 0.5, end: 1.5, class: 0 }],
    }
}

#[test]
fn annotations_naming_a_missing_video_fail_or_are_skipped_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    write_npy_video(dir.path(), "present", 16, 32, 32);
    let videos = vec![video("present"), video("absent")];
    let err = Dataset::open(dir.path(), videos.clone(), false).err().expect("missing video accepted").to_string();
    assert_names(&err, &["absent", &dir.path().join("absent").display().to_string()]);
    let dataset = Dataset::open(dir.path(), videos, true).unwrap();
    assert_eq!(dataset.len(), 1);
    assert_eq!(dataset.skipped().len(), 1);
    assert_eq!(dataset.skipped()[0].video, "absent");
    assert!(dataset.skipped()[0].reason.contains("not found"), "{}", dataset.skipped()[0].reason);
}

fn loader_options(skip: bool) -> LoaderOptions {
    LoaderOptions {
        sampler: cfg(),
        mode: Mode::Eval,
        batch_size: 2,
        shuffle: false,
        drop_last: false,
        seed: 0,
        epoch: 0,
        threads: 2,
        prefetch: 2,
        skip_bad_videos: skip,
    }
}

#[test]
fn loader_reports_a_bad_frame_or_skips_the_video() {
    let dir = tempfile::tempdir().unwrap();
    for id in ["good_1", "broken", "good_2", "good_3"] {
        write_jpeg_video(dir.path(), id, 12, 36, 48);
    }
    std::fs::write(dir.path().join("broken").join(jpeg_name(6)), b"not a jpeg").unwrap();
    let videos: Vec<Video> = ["good_1", "broken", "good_2", "good_3"].iter().map(|id| video(id)).collect();

    let dataset = Arc::new(Dataset::open(dir.path(), videos.clone(), false).unwrap());
    let results: Vec<_> = Loader::start(dataset, loader_options(false)).unwrap().collect();
    assert_eq!(results.len(), 1, "the epoch stops at the bad batch");
    let err = results[0].as_ref().expect_err("bad frame accepted").to_string();
    assert_names(&err, &["broken", "img_00007.jpg"]);

    let dataset = Arc::new(Dataset::open(dir.path(), videos, true).unwrap());
    let mut loader = Loader::start(dataset, loader_options(true)).unwrap();
    let kept: Vec<String> =
        loader.by_ref().map(|b| b.unwrap()).flat_map(|b| b.videos.into_iter().map(|v| v.id)).collect();
    assert_eq!(kept, vec!["good_1", "good_2", "good_3"]);
    let skipped = loader.skipped();
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].video, "broken");
    assert_names(&skipped[0].reason, &["img_00007.jpg"]);
}
