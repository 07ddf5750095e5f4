//! The G-TAD head beyond the golden case: parameter counts (official widths, golden widths, every
//! width configurable), any L with D = L and L-independent weights, configuration errors.

use lofi::autograd::Var;
use lofi::nn::gtad::{Gtad, GtadConfig};
use lofi::nn::{Builder, Module};
use lofi::rng::Rng;
use lofi::{DType, Device, Tensor};

fn counted(model: &Gtad) -> usize {
    model.params().iter().map(|p| p.value().numel()).sum()
}

fn small(in_channels: usize) -> GtadConfig {
    GtadConfig {
        h_dim_1d: 16,
        h_dim_2d: 8,
        h_dim_3d: 12,
        gcnext_groups: 4,
        gcnext_width_group: 2,
        inner_bins: 6,
        context_bins: 2,
        ..GtadConfig::activitynet(in_channels)
    }
}

#[test]
fn official_widths_have_5_584_772_parameters() {
    let cfg = GtadConfig::activitynet(512);
    assert_eq!(cfg.param_count(), 5_584_772);
    assert_eq!(cfg.goi_channels(), 9216);
    let model = Gtad::new(&Builder::new(&Device::meta(usize::MAX), DType::F32, Rng::seeded(1)), &cfg).unwrap();
    assert_eq!(counted(&model), 5_584_772);
    // SPEC §b.7: 5.56M for C_in 400, 5.88M for 2048 (only the grouped input conv changes)
    assert_eq!(GtadConfig::activitynet(400).param_count(), 5_584_772 - 112 * 256 * 3 / 4);
    assert_eq!(GtadConfig::activitynet(2048).param_count(), 5_879_684);
}

#[test]
fn parameter_count_formula_matches_the_built_model_at_other_widths() {
    for cfg in [small(8), GtadConfig { h_dim_1d: 64, h_dim_2d: 32, h_dim_3d: 64, ..GtadConfig::activitynet(32) }] {
        let model = Gtad::new(&Builder::new(&Device::meta(usize::MAX), DType::F32, Rng::seeded(2)), &cfg).unwrap();
        assert_eq!(counted(&model), cfg.param_count(), "{cfg:?}");
    }
    assert_eq!(
        GtadConfig { h_dim_1d: 64, h_dim_2d: 32, h_dim_3d: 64, ..GtadConfig::activitynet(32) }.param_count(),
        328_100
    );
}

#[test]
fn official_parameter_names() {
    let model = Gtad::new(&Builder::new(&Device::meta(usize::MAX), DType::F32, Rng::seeded(1)), &small(8)).unwrap();
    let names: Vec<String> = model.params().iter().map(|p| p.name().to_string()).collect();
    for want in [
        "backbone1.0.weight",
        "backbone1.2.tconvs.0.weight",
        "backbone1.2.sconvs.4.bias",
        "regu_s.0.tconvs.2.weight",
        "regu_s.1.weight",
        "regu_e.1.bias",
        "backbone2.0.sconvs.2.weight",
        "localization.0.weight",
        "localization.8.bias",
    ] {
        assert!(names.iter().any(|n| n == want), "missing {want}");
    }
    assert_eq!(names.len(), 2 + 4 * 12 + 2 * 2 + 5 * 2);
}

#[test]
fn any_length_with_the_same_weights() {
    let model = Gtad::new(&Builder::new(&Device::cpu(), DType::F32, Rng::seeded(3)), &small(8)).unwrap();
    let mut r = Rng::seeded(4);
    for (b, l) in [(1, 5), (2, 9), (1, 25)] {
        let v: Vec<f32> = r.uniform_vec(b * 8 * l, -1.0, 1.0).into_iter().map(|x| x as f32).collect();
        let x = Var::constant(Tensor::from_vec(v, [b, 8, l], &Device::cpu()).unwrap());
        let out = model.forward(&x).unwrap();
        assert_eq!(out.confidence_map.dims(), &[b, 2, l, l]);
        assert_eq!(out.start.dims(), &[b, l]);
        assert_eq!(out.end.dims(), &[b, l]);
        assert_eq!(out.knn_idx.len(), 5);
        let m = out.confidence_map.tensor().to_vec::<f32>().unwrap();
        assert!(m.iter().all(|p| *p > 0.0 && *p < 1.0), "sigmoid outputs");
    }
}

#[test]
fn bad_configurations_and_inputs_are_errors() {
    let b = Builder::new(&Device::meta(usize::MAX), DType::F32, Rng::seeded(1));
    assert!(Gtad::new(&b, &small(6)).is_err(), "C_in must be a multiple of the 4 input groups");
    assert!(Gtad::new(&b, &GtadConfig { h_dim_2d: 0, ..small(8) }).is_err());
    let model = Gtad::new(&Builder::new(&Device::cpu(), DType::F32, Rng::seeded(1)), &small(8)).unwrap();
    let wrong_c = Var::constant(Tensor::zeros([1, 12, 6], DType::F32, &Device::cpu()).unwrap());
    assert!(model.forward(&wrong_c).is_err());
    let too_short = Var::constant(Tensor::zeros([1, 8, 2], DType::F32, &Device::cpu()).unwrap());
    assert!(model.forward(&too_short).is_err(), "L must be at least k");
}
