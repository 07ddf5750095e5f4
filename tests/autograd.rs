//! The tape: recompute segments give bit-identical gradients with a lower peak, BN statistics are
//! updated once per step inside a segment, no_grad records nothing, bad seeds are errors.

mod common;

use lofi::autograd::{self, backward_many, no_grad, recompute, Var};
use lofi::nn::{Builder, Module, ResNetTsm, ResNetTsmConfig};
use lofi::ops::{elementwise, shape};
use lofi::rng::Rng;
use lofi::{DType, Device, Tensor};

struct StepResult {
    grads: Vec<Vec<f32>>,
    running: Vec<Vec<f32>>,
    feature: Vec<f32>,
    peak: usize,
}

/// One forward + backward of the tiny encoder over 4 snippets in chunks of 1, on a fresh device.
fn tiny_step(recompute_chunks: bool) -> StepResult {
    let dev = Device::cpu_with_budget(usize::MAX);
    let cfg = ResNetTsmConfig::synthetic_tiny();
    let model = ResNetTsm::new(&Builder::new(&dev, DType::F32, Rng::seeded(7)), &cfg).unwrap();
    let mut r = Rng::seeded(8);
    let n = 4 * cfg.frames * 3 * 32 * 32;
    let x: Vec<f32> = (0..n).map(|_| r.normal() as f32).collect();
    let x = Var::leaf(Tensor::from_vec(x, [4 * cfg.frames, 3, 32, 32], &dev).unwrap());
    let up: Vec<f32> = (0..4 * cfg.feature_dim()).map(|_| r.normal() as f32).collect();
    let up = Tensor::from_vec(up, [4, cfg.feature_dim()], &dev).unwrap();
    dev.pool().reset_peak();
    let y = model
        .forward_chunked(&x, 1, if recompute_chunks { lofi::nn::Recompute::Chunk } else { lofi::nn::Recompute::None })
        .unwrap();
    let grads = y.backward_with(up).unwrap();
    let peak = dev.pool().peak();
    let params = model.params();
    let mut g: Vec<Vec<f32>> =
        params.iter().filter(|p| p.is_trainable()).map(|p| grads.get(p.id()).unwrap().to_vec().unwrap()).collect();
    g.push(grads.get(x.id().unwrap()).unwrap().to_vec().unwrap());
    let running = params.iter().filter(|p| !p.is_trainable()).map(|p| p.value().to_vec().unwrap()).collect();
    StepResult { grads: g, running, feature: y.tensor().to_vec().unwrap(), peak }
}

#[test]
fn recompute_gradients_are_bit_identical_and_peak_is_lower() {
    let plain = tiny_step(false);
    let segmented = tiny_step(true);
    assert_eq!(plain.feature, segmented.feature);
    assert_eq!(plain.grads, segmented.grads, "gradients through recompute segments must be bit-identical");
    assert_eq!(plain.running, segmented.running, "BN running statistics must be updated exactly as in the plain path");
    assert!(segmented.peak < plain.peak, "recompute peak {} must be below plain peak {}", segmented.peak, plain.peak);
}

#[test]
fn bn_running_stats_update_once_per_step_inside_a_segment() {
    let dev = Device::cpu_with_budget(usize::MAX);
    let bn =
        lofi::nn::BatchNorm2d::new(&Builder::new(&dev, DType::F64, Rng::seeded(1)), 2, lofi::ops::norm::BnMode::Train)
            .unwrap();
    // per channel values 1,3 (mean 2, unbiased var 2)
    let x = Var::leaf(Tensor::from_vec(vec![1.0f64, 5.0, 3.0, 7.0], [2, 2, 1, 1], &dev).unwrap());
    let layer = bn.clone();
    let y = recompute(&[x], move |v| layer.forward(&v[0])).unwrap();
    let ones = Tensor::full(1.0f64, [2, 2, 1, 1], &dev).unwrap();
    y.backward_with(ones).unwrap();
    // once: 0.9·0 + 0.1·mean (means 2 and 6); twice would give 0.19·mean
    let once = |old: f64, batch: f64| (1.0 - 0.1) * old + 0.1 * batch;
    assert_eq!(bn.running_mean.value().to_vec::<f64>().unwrap(), vec![once(0.0, 2.0), once(0.0, 6.0)]);
    // biased variance 1 per channel, made unbiased with n/(n − 1) = 2
    assert_eq!(bn.running_var.value().to_vec::<f64>().unwrap(), vec![once(1.0, 1.0 * 2.0); 2]);
}

#[test]
fn no_grad_records_nothing() {
    autograd::clear_tape();
    let x = Var::leaf(Tensor::full(1.0f32, [3], &Device::cpu()).unwrap());
    let y = no_grad(|| elementwise::relu(&x)).unwrap();
    assert!(!y.requires_grad());
    assert_eq!(autograd::tape_len(), 0);
    let z = elementwise::relu(&x).unwrap();
    assert!(z.requires_grad());
    assert_eq!(autograd::tape_len(), 1);
    autograd::clear_tape();
}

#[test]
fn backward_frees_saved_tensors_as_it_goes() {
    // A chain of 4 relus on 1 MiB tensors: every node saves its output. After backward, every saved
    // tensor is gone, and so is the consumed seed: only x and its gradient remain.
    let dev = Device::cpu_with_budget(usize::MAX);
    let x = Var::leaf(Tensor::full(1.0f32, [1 << 18], &dev).unwrap());
    let mut h = x.clone();
    for _ in 0..4 {
        h = elementwise::relu(&h).unwrap();
    }
    let seed = Tensor::full(1.0f32, [1 << 18], &dev).unwrap();
    let grads = h.backward_with(seed).unwrap();
    drop(h);
    assert_eq!(dev.pool().in_use(), 2 << 20);
    assert_eq!(grads.len(), 1);
}

#[test]
fn backward_rejects_non_scalar_and_mismatched_upstream() {
    let x = Var::leaf(Tensor::full(1.0f32, [3], &Device::cpu()).unwrap());
    let y = elementwise::relu(&x).unwrap();
    assert!(y.backward().is_err(), "backward() needs a scalar");
    let wrong = Tensor::full(1.0f32, [4], &Device::cpu()).unwrap();
    assert!(backward_many(vec![(y, wrong)]).is_err());
    autograd::clear_tape();
}

#[test]
fn gradient_of_a_value_used_in_two_branches_is_summed() {
    let dev = Device::cpu();
    let x = Var::leaf(Tensor::from_vec(vec![2.0f64, -3.0], [2], &dev).unwrap());
    let a = elementwise::scale(&x, 3.0).unwrap();
    let b = shape::reshape(&x, [1, 2]).unwrap();
    let y = elementwise::add(&a, &shape::reshape(&b, [2]).unwrap()).unwrap();
    let g = y.backward_with(Tensor::full(1.0f64, [2], &dev).unwrap()).unwrap();
    assert_eq!(g.get(x.id().unwrap()).unwrap().to_vec::<f64>().unwrap(), vec![4.0, 4.0]);
}
