use super::check_all;
use crate::common::rand_f64;
use lofi::ops::matmul;
use lofi::rng::Rng;

#[test]
fn gradcheck_matmul() {
    let mut r = Rng::seeded(10);
    let a = rand_f64(&mut r, &[3, 5], -1.0, 1.0);
    let b = rand_f64(&mut r, &[5, 7], -1.0, 1.0);
    check_all(&[a, b], |v| matmul::matmul(&v[0], &v[1]));
}

#[test]
fn gradcheck_linear_with_and_without_bias() {
    let mut r = Rng::seeded(11);
    let x = rand_f64(&mut r, &[5, 7], -1.0, 1.0);
    let w = rand_f64(&mut r, &[3, 7], -1.0, 1.0);
    let b = rand_f64(&mut r, &[3], -1.0, 1.0);
    check_all(&[x.clone(), w.clone(), b], |v| matmul::linear(&v[0], &v[1], Some(&v[2])));
    check_all(&[x, w], |v| matmul::linear(&v[0], &v[1], None));
}

#[test]
fn matmul_matches_naive_product() {
    let mut r = Rng::seeded(12);
    let a = rand_f64(&mut r, &[4, 9], -1.0, 1.0);
    let b = rand_f64(&mut r, &[9, 6], -1.0, 1.0);
    let y = matmul::matmul_fwd(&a, &b, false, false).unwrap().to_f64_vec().unwrap();
    let (av, bv) = (a.to_f64_vec().unwrap(), b.to_f64_vec().unwrap());
    for i in 0..4 {
        for j in 0..6 {
            let want: f64 = (0..9).map(|k| av[i * 9 + k] * bv[k * 6 + j]).sum();
            assert!((y[i * 6 + j] - want).abs() < 1e-12);
        }
    }
}
