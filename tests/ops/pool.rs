use super::check_all;
use lofi::ops::{pool, shape};
use lofi::rng::Rng;
use lofi::{Device, Tensor};

/// Distinct values (a shuffled ramp) so that no max-pool window has a near tie.
fn distinct(seed: u64, dims: &[usize]) -> Tensor {
    let n: usize = dims.iter().product();
    let mut v: Vec<f64> = (0..n).map(|i| i as f64 / n as f64 - 0.5).collect();
    Rng::seeded(seed).shuffle(&mut v);
    Tensor::from_vec(v, dims.to_vec(), &Device::cpu()).unwrap()
}

#[test]
fn gradcheck_maxpool2d() {
    check_all(&[distinct(40, &[2, 3, 7, 9])], |v| pool::maxpool2d(&v[0], 3, 2, 1));
    check_all(&[distinct(41, &[1, 2, 5, 5])], |v| pool::maxpool2d(&v[0], 2, 2, 0));
}

#[test]
fn maxpool_gradient_goes_to_first_maximum() {
    let x = Tensor::from_vec(vec![1.0f64, 1.0, 1.0, 1.0], [1, 1, 2, 2], &Device::cpu()).unwrap();
    let (_, argmax, _) = pool::maxpool2d_fwd(&x, 2, 2, 0).unwrap();
    assert_eq!(argmax.to_vec::<i64>().unwrap(), vec![0]);
}

#[test]
fn gradcheck_global_avg_pool() {
    let mut r = Rng::seeded(42);
    check_all(&[crate::common::rand_f64(&mut r, &[2, 3, 3, 5], -1.0, 1.0)], |v| pool::global_avg_pool(&v[0]));
}

#[test]
fn gradcheck_mean_over_each_axis() {
    let mut r = Rng::seeded(43);
    let x = crate::common::rand_f64(&mut r, &[3, 4, 5], -1.0, 1.0);
    for axis in 0..3 {
        check_all(std::slice::from_ref(&x), |v| shape::mean_axis(&v[0], axis));
    }
}
