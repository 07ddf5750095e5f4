//! CPU matmul and conv2d throughput at ResNet-18 shapes (criterion; throughput in FLOP, so the
//! "elem/s" column reads as FLOP/s). Forward convs at batch 2 of 224² frames' stage sizes, and the
//! im2col GEMMs those convs run.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lofi::ops::conv::{self, Conv2dOpts};
use lofi::ops::matmul;
use lofi::rng::Rng;
use lofi::{Device, Tensor};

fn rand(shape: &[usize], seed: u64) -> Tensor {
    let mut r = Rng::seeded(seed);
    let n = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|_| r.uniform_range(-1.0, 1.0) as f32).collect();
    Tensor::from_vec(v, shape.to_vec(), &Device::cpu()).expect("bench tensor")
}

/// (name, c_in, c_out, k, stride, pad, input side) of ResNet-18's distinct conv shapes.
const CONVS: [(&str, usize, usize, usize, usize, usize, usize); 5] = [
    ("conv1_7x7s2_224", 3, 64, 7, 2, 3, 224),
    ("layer1_3x3_56", 64, 64, 3, 1, 1, 56),
    ("layer2_3x3_28", 128, 128, 3, 1, 1, 28),
    ("layer3_3x3_14", 256, 256, 3, 1, 1, 14),
    ("layer4_3x3_7", 512, 512, 3, 1, 1, 7),
];

fn conv2d(c: &mut Criterion) {
    let mut g = c.benchmark_group("conv2d_fwd_resnet18");
    g.sample_size(10);
    let n = 2;
    for (i, &(name, ci, co, k, s, p, hw)) in CONVS.iter().enumerate() {
        let x = rand(&[n, ci, hw, hw], i as u64);
        let w = rand(&[co, ci, k, k], 100 + i as u64);
        let o = Conv2dOpts::new(s, p, 1);
        let ho = (hw + 2 * p - k) / s + 1;
        g.throughput(Throughput::Elements((2 * n * co * ho * ho * ci * k * k) as u64));
        g.bench_function(BenchmarkId::from_parameter(name), |b| b.iter(|| conv::conv2d_fwd(&x, &w, o).expect("conv")));
    }
    g.finish();
}

fn gemm(c: &mut Criterion) {
    let mut g = c.benchmark_group("matmul_resnet18_im2col");
    g.sample_size(10);
    for (i, &(name, ci, co, k, s, p, hw)) in CONVS.iter().enumerate() {
        let ho = (hw + 2 * p - k) / s + 1;
        let (m, kk, nn) = (co, ci * k * k, ho * ho);
        let a = rand(&[m, kk], i as u64);
        let b = rand(&[kk, nn], 50 + i as u64);
        g.throughput(Throughput::Elements((2 * m * kk * nn) as u64));
        g.bench_function(BenchmarkId::from_parameter(name), |bch| {
            bch.iter(|| matmul::matmul_fwd(&a, &b, false, false).expect("gemm"))
        });
    }
    g.finish();
}

criterion_group!(benches, gemm, conv2d);
criterion_main!(benches);
