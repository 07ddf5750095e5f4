use super::check_all;
use crate::common::rand_f64;
use lofi::ops::shape;
use lofi::rng::Rng;
use lofi::{Device, Tensor};

#[test]
fn gradcheck_permute_reshape() {
    let mut r = Rng::seeded(70);
    let x = rand_f64(&mut r, &[2, 3, 5], -1.0, 1.0);
    check_all(std::slice::from_ref(&x), |v| shape::permute(&v[0], &[2, 0, 1]));
    check_all(&[x], |v| shape::reshape(&v[0], [5, 6]));
}

#[test]
fn gradcheck_slice_and_concat() {
    let mut r = Rng::seeded(71);
    let a = rand_f64(&mut r, &[2, 3, 5], -1.0, 1.0);
    let b = rand_f64(&mut r, &[2, 4, 5], -1.0, 1.0);
    check_all(std::slice::from_ref(&a), |v| shape::slice(&v[0], 1, 1, 2));
    check_all(&[a, b], |v| shape::concat(&[&v[0], &v[1]], 1));
}

#[test]
fn gradcheck_gather_with_repeats() {
    let mut r = Rng::seeded(72);
    let idx = Tensor::from_vec(vec![2i64, 0, 2, 4], [4], &Device::cpu()).unwrap();
    check_all(&[rand_f64(&mut r, &[3, 5, 2], -1.0, 1.0)], |v| shape::gather(&v[0], 1, &idx));
}

#[test]
fn gather_rejects_out_of_range_index() {
    let x = Tensor::zeros([3, 5], lofi::DType::F64, &Device::cpu()).unwrap();
    let idx = Tensor::from_vec(vec![5i64], [1], &Device::cpu()).unwrap();
    assert!(shape::gather_fwd(&x, 1, &idx).is_err());
}

#[test]
fn permute_materialises_the_right_order() {
    let x = Tensor::from_vec((0..6).map(|i| i as f64).collect::<Vec<_>>(), [2, 3], &Device::cpu()).unwrap();
    let y = shape::permute_fwd(&x, &[1, 0]).unwrap();
    assert_eq!(y.dims(), &[3, 2]);
    assert_eq!(y.to_f64_vec().unwrap(), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
}

#[test]
fn topk_sorts_descending_with_lower_index_first_on_ties() {
    let x = Tensor::from_vec(vec![0.5f32, 2.0, 0.5, -1.0, 3.0, 3.0], [2, 3], &Device::cpu()).unwrap();
    let (v, i) = shape::topk(&x, 2).unwrap();
    assert_eq!(i.to_vec::<i64>().unwrap(), vec![1, 0, 1, 2]);
    assert_eq!(v.to_vec::<f32>().unwrap(), vec![2.0, 0.5, 3.0, 3.0]);
}

#[test]
fn cast_round_trips_through_every_dtype() {
    let x = Tensor::from_vec(vec![1.0f32, -2.0, 3.5, 250.0], [4], &Device::cpu()).unwrap();
    for d in [lofi::DType::F64, lofi::DType::BF16, lofi::DType::F16, lofi::DType::F32] {
        let back = shape::cast_fwd(&shape::cast_fwd(&x, d).unwrap(), lofi::DType::F32).unwrap();
        assert_eq!(back.to_vec::<f32>().unwrap(), vec![1.0, -2.0, 3.5, 250.0], "via {d}");
    }
    let ints = shape::cast_fwd(&x, lofi::DType::I64).unwrap().to_vec::<i64>().unwrap();
    assert_eq!(ints, vec![1, -2, 3, 250]);
}
