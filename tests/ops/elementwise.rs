use super::check_all;
use crate::common::{rand_f64, rand_f64_away_from_zero};
use lofi::ops::elementwise as ew;
use lofi::rng::Rng;

#[test]
fn gradcheck_relu() {
    let mut r = Rng::seeded(1);
    check_all(&[rand_f64_away_from_zero(&mut r, &[3, 5, 7], 0.05)], |v| ew::relu(&v[0]));
}

#[test]
fn gradcheck_sigmoid() {
    let mut r = Rng::seeded(2);
    check_all(&[rand_f64(&mut r, &[5, 3], -3.0, 3.0)], |v| ew::sigmoid(&v[0]));
}

#[test]
fn gradcheck_add_sub_mul_scale() {
    let mut r = Rng::seeded(3);
    let a = rand_f64(&mut r, &[3, 7], -1.0, 1.0);
    let b = rand_f64(&mut r, &[3, 7], -1.0, 1.0);
    check_all(&[a.clone(), b.clone()], |v| ew::add(&v[0], &v[1]));
    check_all(&[a.clone(), b.clone()], |v| ew::sub(&v[0], &v[1]));
    check_all(&[a.clone(), b], |v| ew::mul(&v[0], &v[1]));
    check_all(&[a], |v| ew::scale(&v[0], -2.5));
}

#[test]
fn gradcheck_reused_value_accumulates() {
    // y = x·x + x uses x three times: the tape must add all three contributions.
    let mut r = Rng::seeded(4);
    check_all(&[rand_f64(&mut r, &[5], -1.0, 1.0)], |v| ew::add(&ew::mul(&v[0], &v[0])?, &v[0]));
}

#[test]
fn gradcheck_add_channel() {
    let mut r = Rng::seeded(5);
    let x = rand_f64(&mut r, &[2, 3, 5], -1.0, 1.0);
    let b = rand_f64(&mut r, &[3], -1.0, 1.0);
    check_all(&[x, b], |v| ew::add_channel(&v[0], &v[1]));
}
