//! Golden cases of the G-TAD head and loss (official G-TAD code): kNN, GCNeXt, Align1D at 32 and 4
//! bins, SGAlign, the full model and the loss (with the n_H > n_M quirk). Every `output.*` and
//! `grad.*` tensor is compared with the README metric; shapes and hyper-parameters come from the
//! files, so the held-out set (`LOFI_GOLDEN_DIR`) runs unchanged.

mod common;

use common::golden::Case;
use lofi::autograd::Var;
use lofi::loss::{gtad_loss, GtadTargets, RegDraws};
use lofi::nn::gtad::{anchors, Gcnext, GcnextConfig, Gtad, GtadConfig, SgAlign};
use lofi::nn::{Builder, Module};
use lofi::ops::align;
use lofi::ops::graph::{self, GraphStyle};
use lofi::rng::Rng;
use lofi::{DType, Device, Tensor};

const F32: DType = DType::F32;

fn leaf(c: &Case, name: &str) -> Var {
    Var::leaf(c.tensor(name, F32))
}

fn usize_of(c: &Case, key: &str) -> usize {
    c.hyper(key).as_u64().unwrap_or_else(|| panic!("{}: hyper.{key} missing", c.name)) as usize
}

/// `Case::check_outputs_and_grads` with owned leaf names.
fn check_grads(c: &Case, outputs: &[(&str, &Var)], leaves: &[(String, Var)], tol: f64) {
    let leaves: Vec<(&str, &Var)> = leaves.iter().map(|(n, v)| (n.as_str(), v)).collect();
    c.check_outputs_and_grads(outputs, &leaves, tol);
}

/// Loads every `param.<name>` into the module's parameter of that name; returns the leaves.
fn load_params(c: &Case, m: &impl Module) -> Vec<(String, Var)> {
    let params = m.params();
    let names = c.names("param.");
    assert_eq!(names.len(), params.len(), "{}: parameter count", c.name);
    for name in &names {
        let short = &name["param.".len()..];
        let p = params.iter().find(|p| p.name() == short).unwrap_or_else(|| panic!("{}: model has no {short}", c.name));
        p.set(c.tensor(name, F32)).unwrap();
    }
    params.iter().map(|p| (format!("param.{}", p.name()), p.var())).collect()
}

fn builder() -> Builder {
    Builder::new(&Device::cpu(), F32, Rng::seeded(0))
}

#[test]
fn golden_gtad_knn() {
    let c = Case::load("gtad_knn");
    let x = leaf(&c, "input.x");
    let k = usize_of(&c, "k");
    let idx = graph::knn(x.tensor(), k).unwrap();
    c.check("output.idx", &idx, 0.0);
    c.check("output.neg_sqdist", &graph::knn_scores(x.tensor()).unwrap(), 1e-5);
    let feature = graph::graph_feature(&x, &idx, GraphStyle::NeighbourSelf).unwrap();
    // The case stores no upstream: forward values only.
    let leaves: Vec<(String, Var)> =
        if c.has("grad.input.x") { vec![("input.x".into(), x.clone())] } else { Vec::new() };
    check_grads(&c, &[("graph_feature_style1", &feature)], &leaves, 1e-5);
    c.finish();
}

#[test]
fn golden_gtad_gcnext() {
    let c = Case::load("gtad_gcnext");
    let x = leaf(&c, "input.x");
    let cfg = GcnextConfig {
        channels: x.dims()[1],
        k: usize_of(&c, "k"),
        groups: usize_of(&c, "groups"),
        width_group: usize_of(&c, "width_group"),
    };
    assert_eq!(cfg.width(), usize_of(&c, "width"));
    let block = Gcnext::new(&builder(), cfg).unwrap();
    let mut leaves = load_params(&c, &block);
    let (y, idx) = block.forward(&x).unwrap();
    c.check("output.knn_idx", &idx, 0.0);
    leaves.push(("input.x".into(), x.clone()));
    check_grads(&c, &[("y", &y)], &leaves, 1e-5);
    c.finish();
}

fn align_case(name: &str) {
    let c = Case::load(name);
    assert_eq!(usize_of(&c, "sampling_ratio"), 0, "lofi implements the adaptive grid (ratio 0)");
    assert_eq!(c.hyper("spatial_scale").as_f64(), Some(1.0));
    let x = leaf(&c, "input.x");
    let y = align::align1d(&x, &c.tensor("input.rois", F32), usize_of(&c, "pooled")).unwrap();
    check_grads(&c, &[("y", &y)], &[("input.x".into(), x.clone())], 1e-5);
    c.finish();
}

#[test]
fn golden_align1d_p32() {
    align_case("align1d_p32");
}

#[test]
fn golden_align1d_p4() {
    align_case("align1d_p4");
}

#[test]
fn golden_gtad_sgalign() {
    let c = Case::load("gtad_sgalign");
    let g = leaf(&c, "input.g");
    let [b, _, l] = <[usize; 3]>::try_from(g.dims()).unwrap();
    assert_eq!(usize_of(&c, "D"), l, "D = L");
    assert_eq!(c.hyper("expand_ratio").as_f64(), Some(0.5));
    let table: Vec<f32> = anchors(b, l).into_iter().flatten().map(|v| v as f32).collect();
    c.check("output.anchors", &Tensor::from_vec(table, [b * l * l, 3], &Device::cpu()).unwrap(), 0.0);
    let sg = SgAlign {
        k: usize_of(&c, "k"),
        inner_bins: usize_of(&c, "inner_bins"),
        context_bins: usize_of(&c, "context_bins"),
    };
    let (y, idx) = sg.forward(&g).unwrap();
    c.check("output.knn_idx", &idx, 0.0);
    check_grads(&c, &[("y", &y)], &[("input.g".into(), g.clone())], 1e-5);
    c.finish();
}

#[test]
fn golden_gtad_model() {
    let c = Case::load("gtad_model");
    assert_eq!(usize_of(&c, "goi_style"), 1);
    assert_eq!(usize_of(&c, "kern_2d"), 1);
    assert_eq!(usize_of(&c, "max_duration"), usize_of(&c, "temporal_scale"), "D = L");
    let cfg = GtadConfig {
        in_channels: usize_of(&c, "feat_dim"),
        h_dim_1d: usize_of(&c, "h_dim_1d"),
        h_dim_2d: usize_of(&c, "h_dim_2d"),
        h_dim_3d: usize_of(&c, "h_dim_3d"),
        ..GtadConfig::activitynet(0)
    };
    assert_eq!(cfg.goi_channels(), usize_of(&c, "h_dim_goi"));
    assert_eq!(cfg.param_count(), usize_of(&c, "n_params"));
    let model = Gtad::new(&builder(), &cfg).unwrap();
    let mut leaves = load_params(&c, &model);
    let x = leaf(&c, "input.x");
    let out = model.forward(&x).unwrap();
    for (i, idx) in out.knn_idx.iter().enumerate() {
        c.check(&format!("output.knn_idx_call{i}"), idx, 0.0);
    }
    leaves.push(("input.x".into(), x.clone()));
    let outputs = [("confidence_map", &out.confidence_map), ("start", &out.start), ("end", &out.end)];
    check_grads(&c, &outputs, &leaves, 2e-5);
    c.finish();
}

fn loss_case(name: &str) {
    let c = Case::load(name);
    let [b, d, l] = <[usize; 3]>::try_from(c.shape("input.gt_iou_map").as_slice()).unwrap();
    assert_eq!(d, l, "D = L");
    let targets =
        GtadTargets::new(b, l, c.f32("input.gt_iou_map"), c.f32("input.gt_start"), c.f32("input.gt_end")).unwrap();
    assert_eq!(&targets.mask()[..d * l], c.f32("input.mask").as_slice(), "get_mask");
    let draws = RegDraws { u_m: c.f32("input.u_m"), u_l: c.f32("input.u_l") };
    let (map, start, end) = (leaf(&c, "input.pred_bm"), leaf(&c, "input.pred_start"), leaf(&c, "input.pred_end"));
    let loss = gtad_loss(&map, &start, &end, &targets, &draws).unwrap();
    let w = Tensor::from_vec(loss.reg_weights.clone(), [b, d, l], &Device::cpu()).unwrap();
    c.check("output.reg_weights", &w, 0.0);
    let leaves: Vec<(String, Var)> = [("input.pred_bm", &map), ("input.pred_start", &start), ("input.pred_end", &end)]
        .iter()
        .map(|(n, v)| (n.to_string(), (*v).clone()))
        .collect();
    let outputs =
        [("loss", &loss.total), ("tem_loss", &loss.tem), ("pem_reg_loss", &loss.reg), ("pem_cls_loss", &loss.cls)];
    check_grads(&c, &outputs, &leaves, 1e-5);
    c.finish();
}

#[test]
fn golden_gtad_loss() {
    loss_case("gtad_loss");
}

#[test]
fn golden_gtad_loss_ratio_gt1() {
    let c = Case::load("gtad_loss_ratio_gt1");
    let w = c.f32("output.reg_weights");
    assert!(w.iter().any(|&v| v >= 2.0), "the case must exercise w > 1 (official quirk)");
    loss_case("gtad_loss_ratio_gt1");
}
