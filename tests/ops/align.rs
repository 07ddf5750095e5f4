use super::check_all;
use crate::common::rand_f64;
use lofi::autograd::Var;
use lofi::ops::align;
use lofi::rng::Rng;
use lofi::{Device, Tensor};

fn rois(rows: &[[f64; 3]]) -> Tensor {
    Tensor::from_vec(rows.iter().flatten().copied().collect::<Vec<_>>(), [rows.len(), 3], &Device::cpu()).unwrap()
}

#[test]
fn gradcheck_align1d_near_and_beyond_both_ends() {
    let mut r = Rng::seeded(100);
    let x = rand_f64(&mut r, &[2, 3, 7], -1.0, 1.0);
    let rois = rois(&[
        [0.0, -2.7, 1.3],  // samples below −1 (dropped), in [−1, 0] (clamped to x[0]) and inside
        [1.0, 5.2, 9.1],   // samples in [L − 1, L] (x[L − 1]) and beyond L (dropped)
        [1.0, -0.9, 7.95], // the whole feature, grid 3 at 4 bins
        [0.0, 3.3, 3.1],   // reversed: length forced to 1
        [1.0, 8.5, 12.0],  // entirely beyond L
        [0.0, 0.25, 5.75], // grid 2, interior
    ]);
    for bins in [4, 3] {
        check_all(std::slice::from_ref(&x), |v| align::align1d(&v[0], &rois, bins));
    }
}

#[test]
fn align1d_values_by_hand() {
    // x[i] = i + 1 on L = 10 (the reference's own example), one channel.
    let x = Tensor::from_vec((1..=10).map(f64::from).collect::<Vec<_>>(), [1, 1, 10], &Device::cpu()).unwrap();
    let r = rois(&[
        [0.0, -0.5, 9.5],  // len 10, 10 bins: bin 1, grid 1, t = p → x[p]
        [0.0, 11.0, 12.0], // beyond L: 0
        [0.0, -1.5, -0.5], // len 1 at 10 bins: t = −1.45 + 0.1p; p ≤ 4 dropped, p ≥ 5 clamp to x[0]
    ]);
    let y = align::align1d_fwd(&x, &r, 10).unwrap().to_f64_vec().unwrap();
    assert_eq!(&y[..10], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]);
    assert_eq!(&y[10..20], &[0.0; 10]);
    assert_eq!(&y[20..25], &[0.0; 5]);
    assert_eq!(&y[25..30], &[1.0; 5]);
    // len 4 over 1 bin: grid 4, samples 2.5, 3.5, 4.5, 5.5 → (3.5 + 4.5 + 5.5 + 6.5)/4
    let y = align::align1d_fwd(&x, &rois(&[[0.0, 2.0, 6.0]]), 1).unwrap().to_f64_vec().unwrap();
    assert_eq!(y, vec![5.0]);
    // len 8 over 2 bins, start −3: bin 0 samples −2.5 (out), −1.5 (out), −0.5 (x[0]), 0.5 (1.5):
    // (0 + 0 + 1 + 1.5)/4 — outside samples count in the divisor
    let y = align::align1d_fwd(&x, &rois(&[[0.0, -3.0, 5.0]]), 2).unwrap().to_f64_vec().unwrap();
    assert_eq!(y[0], 2.5 / 4.0);
}

#[test]
fn align1d_samples_exactly_on_minus_one_and_l_count_as_inside() {
    let x = Tensor::from_vec(vec![2.0f32, 4.0, 8.0], [1, 1, 3], &Device::cpu()).unwrap();
    // len 2 at 1 bin: grid 2, samples at s + 0.5 and s + 1.5
    let r = Tensor::from_vec(vec![0.0f32, -1.5, 0.5], [1, 3], &Device::cpu()).unwrap();
    let y = align::align1d_fwd(&x, &r, 1).unwrap();
    // t = −1 (inside: x[0]) and t = 0 (x[0])
    assert_eq!(y.to_vec::<f32>().unwrap(), vec![2.0]);
    let r = Tensor::from_vec(vec![0.0f32, 1.5, 3.5], [1, 3], &Device::cpu()).unwrap();
    // t = 2 (x[2]) and t = 3 = L (inside: x[L − 1])
    assert_eq!(align::align1d_fwd(&x, &r, 1).unwrap().to_vec::<f32>().unwrap(), vec![8.0]);
}

#[test]
fn align1d_backward_scatters_to_both_taps() {
    let x = Var::leaf(Tensor::zeros([1, 1, 4], lofi::DType::F64, &Device::cpu()).unwrap());
    // one sample at t = 1.25: weights 0.75 on x[1], 0.25 on x[2]
    let y = align::align1d(&x, &rois(&[[0.0, 0.75, 1.75]]), 1).unwrap();
    let g = y.backward().unwrap();
    assert_eq!(g.get(x.id().unwrap()).unwrap().to_f64_vec().unwrap(), vec![0.0, 0.75, 0.25, 0.0]);
}

#[test]
fn align1d_rejects_bad_rois() {
    let x = Tensor::zeros([2, 1, 4], lofi::DType::F64, &Device::cpu()).unwrap();
    assert!(align::align1d_fwd(&x, &rois(&[[2.0, 0.0, 1.0]]), 4).is_err(), "batch index out of range");
    assert!(align::align1d_fwd(&x, &rois(&[[0.5, 0.0, 1.0]]), 4).is_err(), "fractional batch index");
    assert!(align::align1d_fwd(&x, &rois(&[[0.0, f64::NAN, 1.0]]), 4).is_err(), "NaN start");
    let two = Tensor::zeros([3, 2], lofi::DType::F64, &Device::cpu()).unwrap();
    assert!(align::align1d_fwd(&x, &two, 4).is_err(), "rois must have 3 columns");
}

#[test]
fn align1d_backward_does_not_depend_on_thread_count() {
    let run = || {
        let mut r = Rng::seeded(101);
        let x = Var::leaf(rand_f64(&mut r, &[2, 5, 9], -1.0, 1.0));
        let rows: Vec<[f64; 3]> =
            (0..40).map(|i| [(i % 2) as f64, r.uniform_range(-2.0, 8.0), r.uniform_range(-1.0, 11.0)]).collect();
        let y = align::align1d(&x, &rois(&rows), 4).unwrap();
        let up = rand_f64(&mut r, y.dims(), -1.0, 1.0);
        let g = y.backward_with(up).unwrap();
        g.get(x.id().unwrap()).unwrap().to_f64_vec().unwrap()
    };
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap().install(run);
    let three = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap().install(run);
    assert_eq!(one, three);
}

/// The backend's Align1D (geometry once per roi) against the sample-by-sample reference, on G-TAD
/// shapes with rois inside, across and beyond both ends, in f32 and f64.
#[test]
fn align1d_fast_path_matches_the_reference() {
    use lofi::backend::cpu::align::{align1d_bwd_reference, align1d_fwd_reference};
    use lofi::backend::{cpu::CpuBackend, Backend};
    let mut r = Rng::seeded(7);
    let (b, c, l, bins) = (2, 5, 16, 4);
    let mut rows = Vec::new();
    for i in 0..40 {
        let s = r.uniform_range(-6.0, 18.0);
        rows.push([(i % b) as f64, s, s + r.uniform_range(-1.0, 20.0)]);
    }
    rows.push([0.0, 0.0, 0.0]);
    let rois64 = rois(&rows);
    let x64 = rand_f64(&mut r, &[b, c, l], -1.0, 1.0);
    let dy64 = rand_f64(&mut r, &[rows.len(), c, bins], -1.0, 1.0);
    for f32_run in [false, true] {
        let cast =
            |t: &Tensor| if f32_run { lofi::ops::shape::cast_fwd(t, lofi::DType::F32).unwrap() } else { t.clone() };
        let (x, rois, dy) = (cast(&x64), cast(&rois64), cast(&dy64));
        let dt = x.dtype();
        let y_fast = Tensor::zeros([rows.len(), c, bins], dt, &Device::cpu()).unwrap();
        let y_ref = Tensor::zeros([rows.len(), c, bins], dt, &Device::cpu()).unwrap();
        CpuBackend.align1d_fwd(&x, &rois, &y_fast, bins).unwrap();
        let dx_fast = Tensor::zeros([b, c, l], dt, &Device::cpu()).unwrap();
        let dx_ref = Tensor::zeros([b, c, l], dt, &Device::cpu()).unwrap();
        CpuBackend.align1d_bwd(&dy, &rois, &dx_fast, bins).unwrap();
        if f32_run {
            align1d_fwd_reference::<f32>(&x, &rois, &y_ref, bins).unwrap();
            align1d_bwd_reference::<f32>(&dy, &rois, &dx_ref, bins).unwrap();
        } else {
            align1d_fwd_reference::<f64>(&x, &rois, &y_ref, bins).unwrap();
            align1d_bwd_reference::<f64>(&dy, &rois, &dx_ref, bins).unwrap();
        }
        let tol = if f32_run { 1e-5 } else { 1e-12 };
        for (fast, reference) in [(&y_fast, &y_ref), (&dx_fast, &dx_ref)] {
            let (a, e) = (fast.to_f64_vec().unwrap(), reference.to_f64_vec().unwrap());
            let worst = a.iter().zip(&e).map(|(a, e)| (a - e).abs() / (1.0 + e.abs())).fold(0.0, f64::max);
            assert!(worst <= tol, "f32 {f32_run}: worst relative difference {worst:e}");
        }
    }
}
