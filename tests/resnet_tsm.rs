//! The TSM-ResNet encoder: torchvision topology and names for the presets, the bottleneck block's
//! gradient, and the synthetic-tiny shapes.

mod common;

use lofi::autograd::gradcheck::gradcheck;
use lofi::nn::{BlockKind, Builder, Module, ResNetTsm, ResNetTsmConfig, ResidualBlock};
use lofi::ops::norm::BnMode;
use lofi::rng::Rng;
use lofi::{DType, Device, Tensor};

fn on_meta(cfg: &ResNetTsmConfig) -> ResNetTsm {
    ResNetTsm::new(&Builder::new(&Device::meta(usize::MAX), DType::F32, Rng::seeded(0)), cfg).unwrap()
}

fn trainable_count(m: &impl Module) -> usize {
    m.params().iter().filter(|p| p.is_trainable()).map(|p| p.value().numel()).sum()
}

#[test]
fn presets_match_torchvision_parameter_counts_and_names() {
    // torchvision resnet18 / resnet50 without the fc layer: 11,689,512 − 513,000 and
    // 25,557,032 − 2,049,000
    let r18 = on_meta(&ResNetTsmConfig::resnet18());
    assert_eq!(trainable_count(&r18), 11_176_512);
    let r50 = on_meta(&ResNetTsmConfig::resnet50());
    assert_eq!(trainable_count(&r50), 23_508_032);
    let names: Vec<String> = r50.params().iter().map(|p| p.name().to_string()).collect();
    for want in [
        "conv1.weight",
        "bn1.running_mean",
        "layer1.0.downsample.0.weight",
        "layer3.5.bn3.running_var",
        "layer4.2.conv3.weight",
    ] {
        assert!(names.iter().any(|n| n == want), "missing {want}");
    }
    // torchvision's state_dict entries less the fc's 2 and one num_batches_tracked per BN:
    // resnet50 320 − 2 − 53, resnet18 122 − 2 − 20
    assert_eq!(names.len(), 265);
    assert_eq!(r18.params().len(), 100);
}

#[test]
fn synthetic_tiny_gives_one_64_d_feature_per_snippet() {
    let cfg = ResNetTsmConfig::synthetic_tiny();
    assert_eq!((cfg.frames, cfg.feature_dim()), (4, 64));
    let m = ResNetTsm::new(&Builder::new(&Device::cpu(), DType::F32, Rng::seeded(1)), &cfg).unwrap();
    let frames: Vec<u8> = (0..3 * 4 * 32 * 32 * 3).map(|i| (i % 251) as u8).collect();
    let frames = Tensor::from_vec(frames, [12, 32, 32, 3], &Device::cpu()).unwrap();
    let y = m.forward(&m.prepare_frames(&frames, DType::F32).unwrap()).unwrap();
    assert_eq!(y.dims(), &[3, 64]);
    assert!(y.tensor().to_vec::<f32>().unwrap().iter().all(|v| v.is_finite()));
    // ~77k parameters (SYNTHETIC.md §3)
    let n = trainable_count(&m);
    assert!((70_000..85_000).contains(&n), "{n} parameters");
}

#[test]
fn gradcheck_bottleneck_block_with_downsample() {
    let cfg = ResNetTsmConfig { frames: 2, bn_mode: BnMode::Train, ..ResNetTsmConfig::resnet50() };
    let block = ResidualBlock::new(
        &Builder::new(&Device::cpu(), DType::F64, Rng::seeded(2)),
        BlockKind::Bottleneck,
        8,
        4,
        2,
        &cfg,
    )
    .unwrap();
    let mut r = Rng::seeded(3);
    let x = common::rand_f64(&mut r, &[4, 8, 5, 5], -1.0, 1.0);
    let report = gradcheck(&[x], &[true], 1e-6, |v| block.forward(&v[0])).unwrap();
    assert!(report[0].max_abs_numeric > 0.0);
}

#[test]
fn bad_configurations_are_rejected() {
    let mut cfg = ResNetTsmConfig::synthetic_tiny();
    cfg.widths.pop();
    assert!(ResNetTsm::new(&Builder::new(&Device::meta(usize::MAX), DType::F32, Rng::seeded(0)), &cfg).is_err());
    assert!(ResNetTsmConfig::preset("resnet34").is_err());
    let m = on_meta(&ResNetTsmConfig::synthetic_tiny());
    let x =
        lofi::autograd::Var::constant(Tensor::zeros([6, 3, 32, 32], DType::F32, &Device::meta(usize::MAX)).unwrap());
    assert!(m.forward(&x).is_err(), "6 frames is not a multiple of T = 4");
}
