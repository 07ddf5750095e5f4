use super::check_all;
use crate::common::rand_f64;
use lofi::ops::shift;
use lofi::rng::Rng;
use lofi::{Device, Tensor};

#[test]
fn gradcheck_temporal_shift() {
    let mut r = Rng::seeded(50);
    // C = 17: fold = 2 (a floor), T = 3, two snippets
    check_all(&[rand_f64(&mut r, &[6, 17, 2, 3], -1.0, 1.0)], |v| shift::temporal_shift(&v[0], 3));
}

#[test]
fn shift_moves_exactly_as_spec_a() {
    // T = 2 frames, C = 8 (fold 1): channel 0 reads t+1, channel 1 reads t−1, others stay.
    let x: Vec<f64> = (0..16).map(|i| i as f64 + 1.0).collect(); // [frame][channel]
    let t = Tensor::from_vec(x, [2, 8, 1, 1], &Device::cpu()).unwrap();
    let y = shift::temporal_shift_fwd(&t, 2).unwrap().to_f64_vec().unwrap();
    assert_eq!(y[0], 9.0, "frame 0 channel 0 reads frame 1");
    assert_eq!(y[8], 0.0, "frame 1 channel 0 is zero padded");
    assert_eq!(y[1], 0.0, "frame 0 channel 1 is zero padded");
    assert_eq!(y[9], 2.0, "frame 1 channel 1 reads frame 0");
    assert_eq!(&y[2..8], &[3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
}

#[test]
fn shift_rejects_frames_not_multiple_of_t() {
    let t = Tensor::zeros([5, 8, 1, 1], lofi::DType::F64, &Device::cpu()).unwrap();
    assert!(shift::temporal_shift_fwd(&t, 2).is_err());
}
