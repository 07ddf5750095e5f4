//! Criterion benchmark of the data path on one thread (so the numbers are frames/s per core):
//! - `jpeg_480x360_to_224`: JPEG decode + antialiased resize (short side 256) + 224² crop, from
//!   360p frames;
//! - `jpeg_341x256_to_224`: the same from frames prepared at short side 256 (decode + crop only);
//! - `synthetic_npy_32`: the synthetic benchmark's path, seeking u8 frames in `frames.npy` and
//!   copying the 32² snippet frames (L = 32, T = 4).
//!
//! Throughput is reported per sampled frame. The frames are generated here (seeded), so the bench
//! needs nothing outside the repository.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lofi::data::frames::{jpeg_name, open_video, write_meta, FrameFormat, VideoMeta, NPY_FILE};
use lofi::data::npy;
use lofi::data::sampler::{sample_video, Mode, SamplerConfig};
use lofi::data::stream_rng::stream_rng;
use lofi::data::synth::{generate, SynthConfig};
use lofi::fidelity::{Fidelity, SnippetFrames};
use rand::Rng;
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

/// A smooth colour pattern with noise, so the JPEGs compress like natural frames rather than
/// like flat colour or pure noise.
fn natural_frame(t: usize, h: usize, w: usize) -> Vec<u8> {
    let mut rng = stream_rng(t as u64, "bench/frame", 0);
    let mut out = vec![0u8; h * w * 3];
    for y in 0..h {
        for x in 0..w {
            for c in 0..3 {
                let v = 128.0
                    + 60.0 * ((x as f64 / 23.0 + t as f64 * 0.1 + c as f64).sin())
                    + 50.0 * ((y as f64 / 17.0 - c as f64).cos())
                    + rng.random_range(-12.0..12.0);
                out[(y * w + x) * 3 + c] = v.clamp(0.0, 255.0) as u8;
            }
        }
    }
    out
}

fn write_jpeg_video(root: &Path, id: &str, frames: usize, h: usize, w: usize) {
    let dir = root.join(id);
    std::fs::create_dir_all(&dir).expect("bench dir");
    for t in 0..frames {
        let encoder = jpeg_encoder::Encoder::new_file(dir.join(jpeg_name(t)), 90).expect("jpeg file");
        encoder.encode(&natural_frame(t, h, w), w as u16, h as u16, jpeg_encoder::ColorType::Rgb).expect("encode");
    }
    write_meta(&dir, &VideoMeta { format: FrameFormat::Jpeg, fps: 15.0, frames, height: h, width: w }).expect("meta");
}

fn bench_jpeg(c: &mut Criterion, root: &Path, id: &str, h: usize, w: usize) {
    // 64 frames, one snippet of 64 frames at stride 1: every frame is decoded exactly once.
    write_jpeg_video(root, id, 64, h, w);
    let store = open_video(root, id).expect("open");
    let mut cfg = SamplerConfig::paper(Fidelity::new(1, 224, 224));
    cfg.snippet = SnippetFrames { frames: 64, stride: 1 };
    let mut out = vec![0u8; cfg.bytes_per_video()];
    let mut group = c.benchmark_group("loader");
    group.throughput(Throughput::Elements(64));
    group.bench_function(format!("jpeg_{w}x{h}_to_224"), |b| {
        b.iter(|| {
            let mut rng = stream_rng(0, "bench", 0);
            sample_video(store.as_ref(), &cfg, Mode::Train, &mut rng, black_box(&mut out)).expect("sample");
        })
    });
    group.finish();
}

fn loader_benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    bench_jpeg(c, dir.path(), "v360p", 360, 480);
    bench_jpeg(c, dir.path(), "v256", 256, 341);

    let synth = dir.path().join("synth");
    let cfg = SynthConfig { videos_per_split: 1, clips: 0, ..SynthConfig::default() };
    generate(&synth, &cfg, &indicatif::ProgressBar::hidden()).expect("synth");
    let store = open_video(&synth.join("frames"), "train_0000").expect("open");
    let header = npy::read_header(&synth.join("frames").join("train_0000").join(NPY_FILE)).expect("npy");
    assert_eq!(header.shape[1..], [32, 32, 3]);
    let sampler = SamplerConfig::synthetic(Fidelity::new(32, 32, 32));
    let mut out = vec![0u8; sampler.bytes_per_video()];
    let mut group = c.benchmark_group("loader");
    group.throughput(Throughput::Elements(sampler.frames_per_video() as u64));
    group.bench_function("synthetic_npy_32", |b| {
        b.iter(|| {
            let mut rng = stream_rng(0, "bench", 0);
            sample_video(store.as_ref(), &sampler, Mode::Train, &mut rng, black_box(&mut out)).expect("sample");
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    targets = loader_benches
}
criterion_main!(benches);
