//! Frames/s of one CPU training step (forward + backward + SGD) of two encoders on 512 frames of
//! 32×32: the `synthetic-tiny` preset and the golden tiny TSM-ResNet (resnet18 topology, widths
//! 8/16/32/64, ImageNet stem, T = 8). Throughput is in frames.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lofi::autograd::Var;
use lofi::nn::{Builder, Module, ResNetTsm, ResNetTsmConfig, Stem};
use lofi::rng::Rng;
use lofi::train::Sgd;
use lofi::{DType, Device, Tensor};

const FRAMES: usize = 512;

fn step_bench(c: &mut Criterion, name: &str, cfg: ResNetTsmConfig) {
    let dev = Device::cpu();
    let model = ResNetTsm::new(&Builder::new(&dev, DType::F32, Rng::seeded(1)), &cfg).expect("model");
    let params = model.params();
    let mut r = Rng::seeded(2);
    let frames: Vec<u8> = (0..FRAMES * 32 * 32 * 3).map(|_| r.below(256) as u8).collect();
    let frames = Tensor::from_vec(frames, [FRAMES, 32, 32, 3], &dev).expect("frames");
    let snippets = FRAMES / cfg.frames;
    let up = Tensor::full(1.0f32 / snippets as f32, [snippets, cfg.feature_dim()], &dev).expect("upstream");
    let mut sgd = Sgd::new(0.01, 0.0, 1e-4);
    let mut g = c.benchmark_group("train_step_cpu");
    g.sample_size(10);
    g.throughput(Throughput::Elements(FRAMES as u64));
    g.bench_function(name, |b| {
        b.iter(|| {
            let x: Var = model.prepare_frames(&frames, DType::F32).expect("normalise");
            let y = model.forward(&x).expect("forward");
            let grads = y.backward_with(up.clone()).expect("backward");
            sgd.step(&params, &grads).expect("sgd");
        })
    });
    g.finish();
}

fn steps(c: &mut Criterion) {
    lofi::memory::host::keep_freed_memory_for_reuse();
    step_bench(c, "synthetic_tiny_512x32x32", ResNetTsmConfig::synthetic_tiny());
    let golden_tiny = ResNetTsmConfig {
        stem_width: 8,
        widths: vec![8, 16, 32, 64],
        stem: Stem::Imagenet,
        frames: 8,
        ..ResNetTsmConfig::resnet18()
    };
    step_bench(c, "golden_tiny_tsm_resnet_512x32x32", golden_tiny);
}

criterion_group!(benches, steps);
criterion_main!(benches);
