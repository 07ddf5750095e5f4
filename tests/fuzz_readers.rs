//! Every reader a user reaches, fuzzed (issue 12, item 6): annotations (ActivityNet and HACS),
//! result files, classifier scores, `.npy` headers, frame-store `meta.json`, JPEG frames and
//! safetensors weights. Each test runs ≥ 10,000 structure-aware mutations of valid seeds
//! (`fuzz_support`) and fails on any panic, on an input that takes more than a second, or on a
//! peak allocation above the reader's stated bound (the `memory_limit` column).
//!
//! Also the training formats: stage configurations and pipeline configurations (TOML), and
//! training checkpoints (safetensors with lofi's metadata). Adding a reader is one `run`
//! function, one `seeds` function and one line in `READERS` plus a one-line test.
//! Knobs: `LOFI_FUZZ_ITERS` (default 10,000), `LOFI_FUZZ_SEED`, `LOFI_FUZZ_CORPUS` (where
//! findings go), `LOFI_FUZZ_TRACK=1` (keep the in-flight input for aborts); `tools/fuzz.sh` sets
//! them for long runs.

mod fuzz_support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use fuzz_support::driver::{fuzz, Reader, Settings};
use fuzz_support::mutate::Shape;
use lofi::data::annotations::{Annotations, SegmentPolicy};
use lofi::data::frames::{open_video, write_meta, FrameFormat, VideoMeta, META_FILE, NPY_FILE};
use lofi::data::npy;
use lofi::nn::weights::{self, LoadPolicy};
use lofi::nn::{Param, ParamKind};
use lofi::post::classifier::VideoClassScores;
use lofi::post::detections::ResultFile;
use lofi::{DType, Device, Tensor};

#[global_allocator]
static ALLOC: fuzz_support::alloc::Tracking = fuzz_support::alloc::Tracking;

const MIB: usize = 1 << 20;

// ---- readers ---------------------------------------------------------------------------------------

const ANNOTATION_KEYS: &[&str] = &[
    "version",
    "taxonomy",
    "database",
    "subset",
    "duration",
    "annotations",
    "segment",
    "label",
    "url",
    "resolution",
    "nodeName",
    "parentName",
    "nodeId",
    "parentId",
    "training",
    "validation",
    "v1",
    "A",
    "B",
];

fn annotations(_: &Path, b: &[u8]) -> bool {
    Annotations::parse(Path::new("gt.json"), b, SegmentPolicy::Clip).is_ok()
}

fn activitynet_seeds(_: &Path) -> Vec<Vec<u8>> {
    vec![
        br#"{"version": "VERSION 1.3", "taxonomy": [{"nodeId": 0, "nodeName": "Root", "parentId": null, "parentName": null},
            {"nodeId": 1, "nodeName": "A", "parentId": 0, "parentName": "Root"}, {"nodeId": 2, "nodeName": "B", "parentId": 0, "parentName": "Root"}],
            "database": {"v1": {"subset": "validation", "duration": 100.5, "resolution": "640x480", "url": "https://x",
            "annotations": [{"segment": [10.0, 20.5], "label": "A"}, {"segment": [30.0, 99.9], "label": "B"}]},
            "v2": {"subset": "training", "duration": 12.0, "annotations": []}}}"#
            .to_vec(),
        br#"{"database": {"a": {"subset": "validation", "duration": 3, "annotations": [{"segment": [-1, 4], "label": "x"}]}}}"#.to_vec(),
    ]
}

fn hacs_seeds(_: &Path) -> Vec<Vec<u8>> {
    vec![br#"{"database": {"--0edUL8zmA": {"annotations": [{"label": "Dancing ballet", "segment": [0.0, 91.2]}],
        "subset": "training", "duration": "92.166667", "url": "https://www.youtube.com/watch?v=--0edUL8zmA"},
        "v2": {"annotations": [], "subset": "validation", "duration": " 5.5 "}}}"#
        .to_vec()]
}

const RESULT_KEYS: &[&str] =
    &["version", "results", "external_data", "label", "score", "segment", "used", "details", "v1"];

fn results(_: &Path, b: &[u8]) -> bool {
    ResultFile::parse(Path::new("pred.json"), b).is_ok()
}

fn result_seeds(_: &Path) -> Vec<Vec<u8>> {
    vec![br#"{"version": "VERSION 1.3", "results": {"v1": [{"label": "A", "score": 0.9, "segment": [10.0, 20.0]},
        {"label": "B", "score": 1e-5, "segment": [0, 0]}], "v2": []}, "external_data": {"used": true, "details": "x"}}"#
        .to_vec()]
}

const SCORE_KEYS: &[&str] = &["results", "class", "v1", "v2"];

fn class_scores(_: &Path, b: &[u8]) -> bool {
    VideoClassScores::parse(Path::new("cls.json"), b).is_ok()
}

fn score_seeds(_: &Path) -> Vec<Vec<u8>> {
    vec![br#"{"results": {"v1": [0.1, 0.9, 0.0], "v2": [1, 0, 0.5]}, "class": ["A", "B", "C"]}"#.to_vec()]
}

fn npy_header(scratch: &Path, b: &[u8]) -> bool {
    let path = scratch.join("a.npy");
    std::fs::write(&path, b).is_ok() && npy::read_header(&path).is_ok()
}

fn npy_seeds(scratch: &Path) -> Vec<Vec<u8>> {
    let path = scratch.join("seed.npy");
    let mut out = Vec::new();
    for shape in [&[2usize, 3, 4, 3][..], &[5], &[0, 7]] {
        let n: usize = shape.iter().product();
        if npy::write_u8(&path, shape, &vec![9u8; n]).is_ok() {
            out.extend(std::fs::read(&path).ok());
        }
    }
    out
}

const META_KEYS: &[&str] = &["format", "fps", "frames", "height", "width", "jpeg", "npy"];

/// meta.json of a video whose frames.npy is a valid [3, 4, 5, 3] array (and whose JPEG folder
/// holds one valid 5×4 frame), opened through the frame store and read at its first and last
/// frame: a meta that disagrees with the data must be refused, never trusted.
fn frame_meta(scratch: &Path, b: &[u8]) -> bool {
    let dir = scratch.join("v");
    if !dir.join(NPY_FILE).is_file() {
        let _ = std::fs::create_dir_all(&dir);
        let _ = npy::write_u8(&dir.join(NPY_FILE), &[3, 4, 5, 3], &[1u8; 180]);
        let _ = std::fs::write(dir.join("img_00001.jpg"), jpeg_bytes(4, 5));
    }
    if std::fs::write(dir.join(META_FILE), b).is_err() {
        return false;
    }
    let Ok(store) = open_video(scratch, "v") else { return false };
    let last = store.meta().frames - 1;
    store.read_frames(&[0, last], &mut |_, _| Ok(())).is_ok()
}

fn meta_seeds(_: &Path) -> Vec<Vec<u8>> {
    vec![
        br#"{"format": "npy", "fps": 8.0, "frames": 3, "height": 4, "width": 5}"#.to_vec(),
        br#"{"format": "jpeg", "fps": 29.97, "frames": 1, "height": 4, "width": 5}"#.to_vec(),
    ]
}

/// A small valid JPEG of the given size.
fn jpeg_bytes(height: u16, width: u16) -> Vec<u8> {
    let rgb: Vec<u8> = (0..height as usize * width as usize * 3).map(|i| (i * 37 % 251) as u8).collect();
    let mut out = Vec::new();
    let encoder = jpeg_encoder::Encoder::new(&mut out, 90);
    let _ = encoder.encode(&rgb, width, height, jpeg_encoder::ColorType::Rgb);
    out
}

const JPEG_SIZE: (usize, usize) = (16, 24);

/// One JPEG frame of a 16×24 store, decoded through the frame store.
fn jpeg_frame(scratch: &Path, b: &[u8]) -> bool {
    let dir = scratch.join("j");
    if !dir.join(META_FILE).is_file() {
        let _ = std::fs::create_dir_all(&dir);
        let (height, width) = JPEG_SIZE;
        let _ = write_meta(&dir, &VideoMeta { format: FrameFormat::Jpeg, fps: 8.0, frames: 1, height, width });
    }
    if std::fs::write(dir.join("img_00001.jpg"), b).is_err() {
        return false;
    }
    let Ok(store) = open_video(scratch, "j") else { return false };
    store.read_frames(&[0], &mut |_, _| Ok(())).is_ok()
}

fn jpeg_seeds(_: &Path) -> Vec<Vec<u8>> {
    let (h, w) = JPEG_SIZE;
    let mut progressive = Vec::new();
    let rgb: Vec<u8> = (0..h * w * 3).map(|i| (i * 13 % 256) as u8).collect();
    let mut encoder = jpeg_encoder::Encoder::new(&mut progressive, 75);
    encoder.set_progressive(true);
    let _ = encoder.encode(&rgb, w as u16, h as u16, jpeg_encoder::ColorType::Rgb);
    vec![jpeg_bytes(h as u16, w as u16), progressive]
}

const TENSOR_NAMES: &[&str] = &["conv1.weight", "bn1.running_mean", "fc.bias"];

/// A safetensors file loaded into three parameters by name (partial policy, so any subset fits).
fn safetensors(scratch: &Path, b: &[u8]) -> bool {
    let path = scratch.join("w.safetensors");
    if std::fs::write(&path, b).is_err() {
        return false;
    }
    weights::load(&path, &params(), LoadPolicy::Partial).is_ok()
}

fn params() -> Vec<Param> {
    let cpu = Device::cpu();
    let t = |dims: &[usize], dt| Tensor::zeros(dims.to_vec(), dt, &cpu).unwrap_or_else(|e| panic!("{e}"));
    vec![
        Param::new(TENSOR_NAMES[0], t(&[2, 3, 1, 1], DType::F32), ParamKind::Weight),
        Param::new(TENSOR_NAMES[1], t(&[2], DType::F32), ParamKind::Buffer),
        Param::new(TENSOR_NAMES[2], t(&[4], DType::F64), ParamKind::Weight),
    ]
}

fn safetensors_seeds(scratch: &Path) -> Vec<Vec<u8>> {
    let path = scratch.join("seed.safetensors");
    match weights::save(&path, &params()) {
        Ok(()) => std::fs::read(&path).into_iter().collect(),
        Err(e) => panic!("cannot write the safetensors seed: {e}"),
    }
}

// ---- training formats -------------------------------------------------------------------------------

const CONFIG_KEYS: &[&str] = &[
    "stage",
    "seed",
    "log_every",
    "model",
    "encoder",
    "head",
    "snippets_per_call",
    "recompute",
    "precision",
    "data",
    "batch",
    "epochs",
    "steps",
    "loader_threads",
    "optim",
    "kind",
    "lr",
    "weight_decay",
    "momentum",
    "encoder_lr",
    "schedule",
    "milestones",
    "gamma",
    "every_epochs",
    "min_factor",
    "warmup_steps",
    "loss",
    "snippet_class_weight",
    "checkpoint",
    "every",
    "keep",
    "acp",
    "holdout",
    "lofi",
    "config",
    "ratio",
    "full",
    "s",
    "t",
    "st",
    "cycle_batches",
    "methods",
    "synth",
    "videos",
    "clips",
    "extract",
    "lofi-t",
    "cosine",
    "adam",
    "sgd",
];

fn train_config(_: &Path, b: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(b) else { return false };
    let cfg = lofi::train::config::TrainConfig::parse(lofi::train::config::Stage::Lofi, text, Path::new("run.toml"));
    cfg.is_ok_and(|c| c.validate().is_ok())
}

fn config_seeds(_: &Path) -> Vec<Vec<u8>> {
    let defaults = lofi::train::config::TrainConfig::defaults(lofi::train::config::Stage::Lofi);
    vec![
        defaults.to_toml().unwrap_or_else(|e| panic!("{e}")).into_bytes(),
        b"[optim]\nkind = \"sgd\"\nlr = 0.1\n[schedule]\nkind = \"multistep\"\nmilestones = [0.75, 900]\n".to_vec(),
    ]
}

fn pipeline_config(scratch: &Path, b: &[u8]) -> bool {
    let path = scratch.join("pipeline.toml");
    std::fs::write(&path, b).is_ok() && lofi::pipeline::PipelineConfig::load(&path).is_ok()
}

fn pipeline_seeds(_: &Path) -> Vec<Vec<u8>> {
    vec![b"methods = [\"acp\", \"lofi-t\"]\n[synth]\nvideos = 6\nclips = 360\n[stage.acp]\ndata = { steps = 40, batch = 32 }\n[stage.lofi]\nlofi = { ratio = 4.0 }\n".to_vec()]
}

fn checkpoint(scratch: &Path, b: &[u8]) -> bool {
    let path = scratch.join("checkpoints").join("step-000000001.safetensors");
    let written = std::fs::create_dir_all(path.parent().unwrap_or(scratch)).and_then(|_| std::fs::write(&path, b));
    written.is_ok() && lofi::train::checkpoint::read(&path, &Device::cpu()).is_ok()
}

fn checkpoint_seeds(scratch: &Path) -> Vec<Vec<u8>> {
    use lofi::train::checkpoint::{write, Position, Snapshot};
    let ps = params();
    let optim = vec![("head/conv1.weight.exp_avg".to_string(), ps[0].value())];
    let snap = Snapshot {
        stage: "head",
        seed: 3,
        position: Position { step: 1, epoch: 0, batch: 1 },
        params: &ps,
        optim_tensors: optim,
        adam_steps: vec![("head".into(), 1)],
        rng_streams: std::collections::BTreeMap::from([("loss".to_string(), "per step".to_string())]),
    };
    let run = scratch.join("seed-run");
    match write(&run, &snap, 1) {
        Ok(path) => std::fs::read(path).into_iter().collect(),
        Err(e) => panic!("cannot write the checkpoint seed: {e}"),
    }
}

const CHECKPOINT_NAMES: &[&str] =
    &["model/conv1.weight", "model/bn1.running_mean", "model/fc.bias", "optim/head/conv1.weight.exp_avg"];

/// The readers and their stated memory bounds (bytes at peak for one input of `b.len()` bytes).
const READERS: &[Reader] = &[
    Reader {
        name: "annotations_activitynet",
        shape: Shape::Json { keys: ANNOTATION_KEYS },
        seeds: activitynet_seeds,
        run: annotations,
        memory_limit: |b| MIB + 64 * b.len(),
    },
    Reader {
        name: "annotations_hacs",
        shape: Shape::Json { keys: ANNOTATION_KEYS },
        seeds: hacs_seeds,
        run: annotations,
        memory_limit: |b| MIB + 64 * b.len(),
    },
    Reader {
        name: "result_file",
        shape: Shape::Json { keys: RESULT_KEYS },
        seeds: result_seeds,
        run: results,
        memory_limit: |b| MIB + 64 * b.len(),
    },
    Reader {
        name: "class_scores",
        shape: Shape::Json { keys: SCORE_KEYS },
        seeds: score_seeds,
        run: class_scores,
        memory_limit: |b| MIB + 64 * b.len(),
    },
    Reader {
        name: "npy_header",
        shape: Shape::Npy,
        seeds: npy_seeds,
        run: npy_header,
        memory_limit: |b| MIB + 4 * b.len(),
    },
    Reader {
        name: "frame_meta",
        shape: Shape::Json { keys: META_KEYS },
        seeds: meta_seeds,
        run: frame_meta,
        memory_limit: |b| MIB + 64 * b.len(),
    },
    // The decoded size is the store's 16×24 frame (the header must agree with it).
    Reader {
        name: "jpeg_frame",
        shape: Shape::Jpeg,
        seeds: jpeg_seeds,
        run: jpeg_frame,
        memory_limit: |b| MIB + 16 * JPEG_SIZE.0 * JPEG_SIZE.1 * 3 + 8 * b.len(),
    },
    Reader {
        name: "safetensors",
        shape: Shape::Safetensors { names: TENSOR_NAMES },
        seeds: safetensors_seeds,
        run: safetensors,
        memory_limit: |b| MIB + 8 * b.len(),
    },
    Reader {
        name: "train_config",
        shape: Shape::Toml { keys: CONFIG_KEYS },
        seeds: config_seeds,
        run: train_config,
        memory_limit: |b| MIB + 64 * b.len(),
    },
    Reader {
        name: "pipeline_config",
        shape: Shape::Toml { keys: CONFIG_KEYS },
        seeds: pipeline_seeds,
        run: pipeline_config,
        memory_limit: |b| MIB + 64 * b.len(),
    },
    Reader {
        name: "checkpoint",
        shape: Shape::Safetensors { names: CHECKPOINT_NAMES },
        seeds: checkpoint_seeds,
        run: checkpoint,
        memory_limit: |b| MIB + 8 * b.len(),
    },
];

// ---- the tests -------------------------------------------------------------------------------------

fn settings() -> Settings {
    let env = |k: &str| std::env::var(k).ok();
    Settings {
        iters: env("LOFI_FUZZ_ITERS").and_then(|v| v.parse().ok()).unwrap_or(10_000),
        seed: env("LOFI_FUZZ_SEED").and_then(|v| v.parse().ok()).unwrap_or(0x10f1),
        corpus: env("LOFI_FUZZ_CORPUS")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fuzz-corpus")),
        time_limit: Duration::from_secs(1),
        track_in_flight: env("LOFI_FUZZ_TRACK").is_some_and(|v| v == "1"),
    }
}

fn fuzz_reader(name: &str) {
    let Some(reader) = READERS.iter().find(|r| r.name == name) else { panic!("no reader {name}") };
    let settings = settings();
    let stats = fuzz(reader, &settings);
    println!(
        "fuzz {name}: {} inputs ({} accepted) in {:.2?}, slowest {:.2?}, peak {} B, seed {:#x}",
        stats.inputs, stats.accepted, stats.elapsed, stats.slowest, stats.max_peak, settings.seed
    );
    assert!(stats.inputs >= settings.iters, "{name}: only {} inputs", stats.inputs);
    assert!(stats.findings.is_empty(), "{name}: {} findings:\n{}", stats.findings.len(), stats.findings.join("\n"));
    // The mutations must reach past the first check: some inputs are accepted, most are not.
    assert!(
        stats.accepted > 0 && stats.accepted < stats.inputs,
        "{name}: {} of {} accepted",
        stats.accepted,
        stats.inputs
    );
}

#[test]
fn fuzz_annotations_activitynet() {
    fuzz_reader("annotations_activitynet");
}
#[test]
fn fuzz_annotations_hacs() {
    fuzz_reader("annotations_hacs");
}
#[test]
fn fuzz_result_file() {
    fuzz_reader("result_file");
}
#[test]
fn fuzz_class_scores() {
    fuzz_reader("class_scores");
}
#[test]
fn fuzz_npy_header() {
    fuzz_reader("npy_header");
}
#[test]
fn fuzz_frame_meta() {
    fuzz_reader("frame_meta");
}
#[test]
fn fuzz_jpeg_frame() {
    fuzz_reader("jpeg_frame");
}
#[test]
fn fuzz_safetensors() {
    fuzz_reader("safetensors");
}

#[test]
fn fuzz_train_config() {
    fuzz_reader("train_config");
}
#[test]
fn fuzz_pipeline_config() {
    fuzz_reader("pipeline_config");
}
#[test]
fn fuzz_checkpoint() {
    fuzz_reader("checkpoint");
}

#[test]
fn every_reader_has_a_test() {
    let source = include_str!("fuzz_readers.rs");
    for r in READERS {
        assert!(source.contains(&format!("fuzz_reader(\"{}\")", r.name)), "{} has no #[test]", r.name);
    }
}
