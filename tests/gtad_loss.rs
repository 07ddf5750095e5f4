//! G-TAD loss beyond the golden cases: each degenerate-case guard of SPEC §d pinned to a value
//! computed by hand, the IEEE behaviour of the sampling when a bucket is empty, an f64 gradcheck
//! of the whole loss, and the seeded draws.

use lofi::autograd::gradcheck::gradcheck;
use lofi::autograd::Var;
use lofi::loss::gtad::{gtad_loss, pem_cls_loss, pem_reg_loss, tem_loss, GtadTargets, RegDraws};
use lofi::rng::Rng;
use lofi::{Device, Tensor};

const EPS: f64 = 1e-6;

fn var(v: &[f64]) -> Var {
    Var::leaf(Tensor::from_vec(v.to_vec(), [v.len()], &Device::cpu()).unwrap())
}

fn value(v: &Var) -> f64 {
    v.tensor().to_f64_vec().unwrap()[0]
}

fn close(got: f64, want: f64) {
    assert!((got - want).abs() <= 1e-12 * want.abs().max(1.0), "got {got}, want {want}");
}

#[test]
fn tem_balanced_value_by_hand() {
    // N = 4, n+ = 1 (0.5 itself is negative: strict >): r = 4, c1 = 2, c0 = 2/3.
    let p = [0.9, 0.2, 0.4, 0.7];
    let l = tem_loss(&var(&p), &[0.8, 0.5, 0.0, 0.3]).unwrap();
    let want = -(2.0 * (0.9f64 + EPS).ln()
        + 2.0 / 3.0 * ((1.0 - 0.2f64 + EPS).ln() + (1.0 - 0.4f64 + EPS).ln() + (1.0 - 0.7f64 + EPS).ln()))
        / 4.0;
    close(value(&l), want);
}

#[test]
fn tem_guard_without_positives_is_the_plain_bce_mean() {
    // n+ = 0: the reference's r = N/0 makes the loss NaN; lofi falls back to the plain BCE mean.
    let l = tem_loss(&var(&[0.5, 0.25]), &[0.0, 0.5]).unwrap();
    close(value(&l), -((0.5f64 + EPS).ln() + (0.75f64 + EPS).ln()) / 2.0);
}

#[test]
fn tem_guard_with_only_positives_is_the_plain_bce_mean() {
    // n+ = N: c0 = 0.5·r/(r − 1) = 1/0.
    let l = tem_loss(&var(&[0.5, 0.25]), &[1.0, 0.6]).unwrap();
    close(value(&l), -((0.5f64 + EPS).ln() + (0.25f64 + EPS).ln()) / 2.0);
}

/// L = 2, B = 1: the map is [d, s] = [[a, b], [c, masked]].
const MASK2: [f32; 4] = [1.0, 1.0, 1.0, 0.0];

fn draws(n: usize, u: f32) -> RegDraws {
    RegDraws { u_m: vec![u; n], u_l: vec![u; n] }
}

#[test]
fn pem_reg_guard_without_high_iou_is_the_masked_mse() {
    // n_H = 0 ⇒ thresholds are 1 and no draw < 1 passes: Σw = 0, the reference gives 0/0.
    let g = [0.5, 0.2, 0.0, 0.0];
    let p = [0.6, 0.1, 0.3, 0.9];
    let (l, w) = pem_reg_loss(&var(&p), &g, &MASK2, &draws(4, 0.999)).unwrap();
    assert_eq!(w, MASK2.to_vec(), "the guard weights are the mask");
    let want = 0.5 * ((0.6f64 - 0.5f32 as f64).powi(2) + (0.1f64 - 0.2f32 as f64).powi(2) + 0.3f64.powi(2)) / 3.0;
    close(value(&l), want);
}

#[test]
fn pem_reg_selects_everything_when_a_bucket_is_empty() {
    // n_H = 1, n_M = 0, n_Lo = 0: 1 − n_H/0 = −inf, so M·u = 0 > −inf everywhere (official quirk,
    // IEEE): w = H + 1 + 1, the masked entry included.
    let g = [0.8, 0.0, 0.0, 0.0];
    let p = [0.6, 0.1, 0.3, 0.9];
    let (l, w) = pem_reg_loss(&var(&p), &g, &MASK2, &draws(4, 0.5)).unwrap();
    assert_eq!(w, vec![3.0, 2.0, 2.0, 2.0]);
    // w·G is formed in f32 on the host, as the reference's f32 tensors do.
    let d = [0.6 * 3.0 - (3.0f32 * 0.8f32) as f64, 0.2, 0.6, 1.8];
    close(value(&l), 0.5 * d.iter().map(|v| v * v).sum::<f64>() / 9.0);
}

#[test]
fn pem_reg_sampling_compares_draws_with_the_f32_threshold() {
    // L = 3: n_H = 1, n_M = 2 (threshold 1 − 1/2 = 0.5, kept when u > 0.5, strict), n_Lo = 2
    // (threshold 1 − 1/2 = 0.5). Masked entries (s + d ≥ 3) never count in M·u or Lo·u.
    let mask = [1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0];
    let g = [0.8, 0.5, 0.6, 0.2, 0.1, 0.0, 0.0, 0.0, 0.0];
    let d = RegDraws {
        u_m: vec![0.9, 0.5, 0.51, 0.99, 0.99, 0.99, 0.99, 0.99, 0.99],
        u_l: vec![0.99, 0.99, 0.99, 0.6, 0.5, 0.99, 0.99, 0.99, 0.99],
    };
    let (_, w) = pem_reg_loss(&var(&[0.5; 9]), &g, &mask, &d).unwrap();
    assert_eq!(w, vec![1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
}

#[test]
fn pem_cls_guard_without_positives_is_the_masked_bce_mean() {
    // n_P = 0: r = N/0; the masked entry (index 3) never counts.
    let p = [0.2, 0.4, 0.6, 0.99];
    let l = pem_cls_loss(&var(&p), &[0.9, 0.3, 0.0, 0.0], &MASK2).unwrap();
    let want = -((0.8f64 + EPS).ln() + (0.6f64 + EPS).ln() + (0.4f64 + EPS).ln()) / 3.0;
    close(value(&l), want);
}

#[test]
fn pem_cls_guard_with_only_positives_is_the_masked_bce_mean() {
    // n_Nn = 0: c0 = 1/0.
    let p = [0.2, 0.4, 0.6, 0.01];
    let l = pem_cls_loss(&var(&p), &[0.95, 0.91, 1.0, 0.0], &MASK2).unwrap();
    let want = -((0.2f64 + EPS).ln() + (0.4f64 + EPS).ln() + (0.6f64 + EPS).ln()) / 3.0;
    close(value(&l), want);
}

#[test]
fn pem_cls_balanced_value_by_hand() {
    // N = 3 masked entries, n_P = 1 (0.9 itself is negative): r = 3, c1 = 1.5, c0 = 0.75.
    let p = [0.7, 0.4, 0.6, 0.5];
    let l = pem_cls_loss(&var(&p), &[0.95, 0.9, 0.1, 0.99], &MASK2).unwrap();
    let want = -(1.5 * (0.7f64 + EPS).ln() + 0.75 * ((0.6f64 + EPS).ln() + (0.4f64 + EPS).ln())) / 3.0;
    close(value(&l), want);
}

#[test]
fn gradcheck_whole_loss_f64() {
    let (b, l) = (2, 5);
    let mut r = Rng::seeded(7);
    let mut uniform = |n: usize, lo: f64, hi: f64| r.uniform_vec(n, lo, hi);
    let iou: Vec<f32> = uniform(b * l * l, 0.0, 1.0).into_iter().map(|v| v as f32).collect();
    let start: Vec<f32> = uniform(b * l, 0.0, 1.0).into_iter().map(|v| v as f32).collect();
    let end: Vec<f32> = uniform(b * l, 0.0, 1.0).into_iter().map(|v| v as f32).collect();
    let targets = GtadTargets::new(b, l, iou, start, end).unwrap();
    let d = RegDraws::sample(&mut Rng::seeded(8), b * l * l);
    let t = |v: Vec<f64>, s: Vec<usize>| Tensor::from_vec(v, s, &Device::cpu()).unwrap();
    let inputs = [
        t(uniform(b * 2 * l * l, 0.05, 0.95), vec![b, 2, l, l]),
        t(uniform(b * l, 0.05, 0.95), vec![b, l]),
        t(uniform(b * l, 0.05, 0.95), vec![b, l]),
    ];
    let report = gradcheck(&inputs, &[true; 3], 1e-6, |v| Ok(gtad_loss(&v[0], &v[1], &v[2], &targets, &d)?.total))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(report.iter().all(|e| e.max_abs_numeric > 0.0));
}

#[test]
fn reg_draws_are_seeded_uniforms() {
    let a = RegDraws::sample(&mut Rng::seeded(3), 50);
    let b = RegDraws::sample(&mut Rng::seeded(3), 50);
    assert_eq!(a, b);
    assert_ne!(a.u_m, a.u_l, "two independent maps");
    assert!(a.u_m.iter().chain(&a.u_l).all(|u| (0.0..=1.0).contains(u)));
}

#[test]
fn loss_rejects_mismatched_shapes() {
    let targets = GtadTargets::new(1, 3, vec![0.0; 9], vec![0.0; 3], vec![0.0; 3]).unwrap();
    let map = Var::constant(Tensor::zeros([1, 2, 4, 4], lofi::DType::F64, &Device::cpu()).unwrap());
    let se = Var::constant(Tensor::zeros([1, 3], lofi::DType::F64, &Device::cpu()).unwrap());
    assert!(gtad_loss(&map, &se, &se, &targets, &draws(9, 0.5)).is_err());
    assert!(GtadTargets::new(1, 3, vec![0.0; 8], vec![0.0; 3], vec![0.0; 3]).is_err());
}
