//! The ACP classification head: it learns a separable problem with the cross-entropy loss, and its
//! video-level scores (softmax of the mean snippet logits) round-trip through the CUHK-layout file
//! that the detection fusion reads.

use lofi::autograd::Var;
use lofi::loss::classification_loss;
use lofi::nn::classifier::{video_scores, Classifier};
use lofi::nn::{Builder, Module};
use lofi::post::classifier::VideoClassScores;
use lofi::rng::Rng;
use lofi::train::Sgd;
use lofi::{DType, Device, Tensor};

#[test]
fn learns_separable_classes() {
    let head = Classifier::new(&Builder::new(&Device::cpu(), DType::F32, Rng::seeded(1)).pp("fc"), 4, 3).unwrap();
    assert_eq!(head.params()[0].name(), "fc.weight");
    let mut r = Rng::seeded(2);
    let targets: Vec<usize> = (0..24).map(|i| i % 3).collect();
    // class c has feature c raised by 2 plus noise
    let feats: Vec<f32> = targets
        .iter()
        .flat_map(|&c| (0..4).map(move |j| if j == c { 2.0 } else { 0.0 }).collect::<Vec<f32>>())
        .map(|v| v + r.uniform_range(-0.3, 0.3) as f32)
        .collect();
    let x = Var::constant(Tensor::from_vec(feats, [24, 4], &Device::cpu()).unwrap());
    let mut sgd = Sgd::new(0.5, 0.0, 0.0);
    let mut losses = Vec::new();
    for _ in 0..20 {
        let loss = classification_loss(&head.forward(&x).unwrap(), &targets).unwrap();
        losses.push(loss.tensor().to_f64_vec().unwrap()[0]);
        sgd.step(&head.params(), &loss.backward().unwrap()).unwrap();
    }
    assert!(losses[19] < 0.5 * losses[0], "{losses:?}");
}

#[test]
fn video_scores_are_the_softmax_of_the_mean_logits() {
    let logits = Tensor::from_vec(vec![1.0f32, 0.0, 3.0, 0.0], [2, 2], &Device::cpu()).unwrap();
    let s = video_scores(&logits).unwrap();
    let e2 = 2.0f64.exp();
    assert!((s[0] - e2 / (e2 + 1.0)).abs() < 1e-12 && (s[1] - 1.0 / (e2 + 1.0)).abs() < 1e-12, "{s:?}");
    assert!(video_scores(&Tensor::zeros([0, 3], DType::F32, &Device::cpu()).unwrap()).is_err());
}

#[test]
fn scores_round_trip_through_the_cuhk_layout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cls.json");
    let a = video_scores(&Tensor::from_vec(vec![0.1f32, 2.0, -1.0], [1, 3], &Device::cpu()).unwrap()).unwrap();
    let b = video_scores(&Tensor::from_vec(vec![3.0f32, 0.0, 1.0, 2.0, 0.5, 0.5], [2, 3], &Device::cpu()).unwrap())
        .unwrap();
    let classes = vec!["jump".to_string(), "run".to_string(), "swim".to_string()];
    let table = VideoClassScores::new(classes, vec![("vid_a".into(), a), ("vid_b".into(), b)]).unwrap();
    table.write(&path).unwrap();
    assert!(!dir.path().join("cls.json.tmp").exists());
    let back = VideoClassScores::load(&path).unwrap();
    assert_eq!(back, table);
    assert_eq!(back.top_k("vid_a", 1).unwrap()[0].0, 1);
    assert_eq!(back.top_k("vid_b", 2).unwrap().iter().map(|c| c.0).collect::<Vec<_>>(), vec![0, 2]);
}

#[test]
fn bad_heads_and_targets_are_errors() {
    let b = Builder::new(&Device::cpu(), DType::F32, Rng::seeded(1));
    assert!(Classifier::new(&b, 4, 0).is_err());
    let head = Classifier::new(&b, 2, 3).unwrap();
    let x = Var::constant(Tensor::zeros([2, 2], DType::F32, &Device::cpu()).unwrap());
    assert!(classification_loss(&head.forward(&x).unwrap(), &[0, 3]).is_err(), "class 3 of 3");
    assert!(classification_loss(&head.forward(&x).unwrap(), &[0]).is_err(), "one target per row");
}
