use super::{check_all, TOL};
use crate::common::rand_f64;
use lofi::autograd::{gradcheck::gradcheck, Var};
use lofi::nn::{BatchNorm2d, Builder, Module};
use lofi::ops::norm::{batch_norm, BnMode, BnOpts, RunningStats};
use lofi::rng::Rng;
use lofi::{DType, Device, Tensor};

fn stats() -> (Tensor, Tensor) {
    let dev = Device::cpu();
    (
        Tensor::from_vec(vec![0.1f64, -0.2, 0.3], [3], &dev).unwrap(),
        Tensor::from_vec(vec![0.5f64, 1.5, 0.9], [3], &dev).unwrap(),
    )
}

fn inputs(seed: u64) -> Vec<Tensor> {
    let mut r = Rng::seeded(seed);
    vec![
        rand_f64(&mut r, &[4, 3, 3, 5], -1.0, 1.0),
        rand_f64(&mut r, &[3], 0.5, 1.5),
        rand_f64(&mut r, &[3], -0.5, 0.5),
    ]
}

#[test]
fn gradcheck_batchnorm_train() {
    check_all(&inputs(30), |v| {
        let (rm, rv) = stats();
        batch_norm(&v[0], &v[1], &v[2], &RunningStats { mean: &rm, var: &rv }, BnMode::Train, BnOpts::default())
    });
}

#[test]
fn gradcheck_batchnorm_eval() {
    check_all(&inputs(31), |v| {
        let (rm, rv) = stats();
        batch_norm(&v[0], &v[1], &v[2], &RunningStats { mean: &rm, var: &rv }, BnMode::Eval, BnOpts::default())
    });
}

#[test]
fn batchnorm_train_updates_running_stats_with_unbiased_variance() {
    let x = Tensor::from_vec(vec![1.0f64, 3.0, 5.0, 7.0], [2, 1, 2, 1], &Device::cpu()).unwrap();
    let (g, b) = (
        Tensor::from_vec(vec![1.0f64], [1], &Device::cpu()).unwrap(),
        Tensor::from_vec(vec![0.0f64], [1], &Device::cpu()).unwrap(),
    );
    let rm = Tensor::from_vec(vec![0.0f64], [1], &Device::cpu()).unwrap();
    let rv = Tensor::from_vec(vec![1.0f64], [1], &Device::cpu()).unwrap();
    let running = RunningStats { mean: &rm, var: &rv };
    batch_norm(&Var::constant(x), &Var::constant(g), &Var::constant(b), &running, BnMode::Train, BnOpts::default())
        .unwrap();
    // mean 4, unbiased var (9+1+1+9)/3 = 20/3; momentum 0.1
    assert!((rm.to_f64_vec().unwrap()[0] - 0.4).abs() < 1e-12);
    assert!((rv.to_f64_vec().unwrap()[0] - (0.9 + 0.1 * 20.0 / 3.0)).abs() < 1e-12);
}

#[test]
fn batchnorm_frozen_trains_nothing_and_keeps_running_stats() {
    let mut bn = BatchNorm2d::new(&Builder::new(&Device::cpu(), DType::F64, Rng::seeded(0)), 3, BnMode::Train).unwrap();
    bn.set_mode(BnMode::Frozen);
    assert!(bn.params().iter().all(|p| !p.is_trainable()));
    let x = inputs(32).remove(0);
    let before = bn.running_mean.value().to_f64_vec().unwrap();
    // gradient flows to x only, and through fixed statistics
    let report = gradcheck(std::slice::from_ref(&x), &[true], TOL, |v| bn.forward(&v[0])).unwrap();
    assert_eq!(report.len(), 1);
    let y = bn.forward(&Var::leaf(x)).unwrap();
    let ones = Tensor::full(1.0f64, y.tensor().shape().clone(), &Device::cpu()).unwrap();
    let grads = y.backward_with(ones).unwrap();
    assert!(grads.get(bn.weight.id()).is_none() && grads.get(bn.bias.id()).is_none());
    assert_eq!(bn.running_mean.value().to_f64_vec().unwrap(), before);
}
