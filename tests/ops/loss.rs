use super::check_all;
use crate::common::rand_f64;
use lofi::autograd::Var;
use lofi::ops::loss;
use lofi::rng::Rng;
use lofi::{Device, Tensor};

#[test]
fn gradcheck_cross_entropy() {
    let mut r = Rng::seeded(60);
    let target = Tensor::from_vec(vec![0i64, 4, 2, 2, 1], [5], &Device::cpu()).unwrap();
    check_all(&[rand_f64(&mut r, &[5, 5], -2.0, 2.0)], |v| loss::cross_entropy(&v[0], &target));
}

#[test]
fn cross_entropy_rejects_out_of_range_target() {
    let logits = Var::constant(Tensor::zeros([2, 3], lofi::DType::F64, &Device::cpu()).unwrap());
    let target = Tensor::from_vec(vec![0i64, 3], [2], &Device::cpu()).unwrap();
    assert!(loss::cross_entropy(&logits, &target).is_err());
}

#[test]
fn gradcheck_weighted_bce() {
    let mut r = Rng::seeded(61);
    let t: Vec<f64> = (0..21).map(|i| if i % 3 == 0 { 1.0 } else { 0.0 }).collect();
    let t = Tensor::from_vec(t, [3, 7], &Device::cpu()).unwrap();
    check_all(&[rand_f64(&mut r, &[3, 7], 0.05, 0.95)], |v| loss::weighted_bce(&v[0], &t, 1.75, 0.7));
}

#[test]
fn weighted_bce_value_by_hand() {
    // p = [0.5, 0.25], t = [1, 0], w1 = 2, w0 = 1:
    // −(2·ln(0.5 + 1e-6) + 1·ln(0.75 + 1e-6)) / 2
    let p = Var::constant(Tensor::from_vec(vec![0.5f64, 0.25], [2], &Device::cpu()).unwrap());
    let t = Tensor::from_vec(vec![1.0f64, 0.0], [2], &Device::cpu()).unwrap();
    let l = loss::weighted_bce(&p, &t, 2.0, 1.0).unwrap().tensor().to_f64_vec().unwrap()[0];
    let want = -(2.0 * (0.5f64 + 1e-6).ln() + (0.75f64 + 1e-6).ln()) / 2.0;
    assert!((l - want).abs() < 1e-14);
}
