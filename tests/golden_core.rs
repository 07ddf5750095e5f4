//! Golden cases owned by the core: every `output.*` and `grad.*` tensor of each case is compared
//! (README metric), run in f32 on the CPU backend from the stored inputs and parameters.

mod common;

use common::golden::Case;
use lofi::autograd::Var;
use lofi::nn::{BlockKind, Builder, Module, ResNetTsm, ResNetTsmConfig, ResidualBlock, Stem};
use lofi::ops::conv::{self, Conv2dOpts};
use lofi::ops::norm::{self, BnMode, BnOpts, RunningStats};
use lofi::ops::{elementwise, loss, matmul, pool, shift};
use lofi::rng::Rng;
use lofi::train::{Adam, Sgd};
use lofi::{DType, Device, Tensor};

const F32: DType = DType::F32;

fn leaf(c: &Case, name: &str) -> Var {
    Var::leaf(c.tensor(name, F32))
}

fn usize_of(c: &Case, key: &str) -> usize {
    c.hyper(key).as_u64().unwrap_or_else(|| panic!("{}: hyper.{key} missing", c.name)) as usize
}

fn conv2d_case(name: &str) {
    let c = Case::load(name);
    let (x, w) = (leaf(&c, "input.x"), leaf(&c, "param.weight"));
    let o = Conv2dOpts::new(usize_of(&c, "stride"), usize_of(&c, "padding"), usize_of(&c, "groups"));
    let y = conv::conv2d(&x, &w, None, o).unwrap();
    c.check_outputs_and_grads(&[("y", &y)], &[("input.x", &x), ("param.weight", &w)], 1e-5);
    c.finish();
}

#[test]
fn golden_conv2d_3x3_s1_p1() {
    conv2d_case("conv2d_3x3_s1_p1");
}
#[test]
fn golden_conv2d_3x3_s2_p1() {
    conv2d_case("conv2d_3x3_s2_p1");
}
#[test]
fn golden_conv2d_7x7_s2_p3() {
    conv2d_case("conv2d_7x7_s2_p3");
}
#[test]
fn golden_conv2d_1x1_s2_p0() {
    conv2d_case("conv2d_1x1_s2_p0");
}

#[test]
fn golden_conv1d_k3_p1_g4_bias() {
    let c = Case::load("conv1d_k3_p1_g4_bias");
    let (x, w, b) = (leaf(&c, "input.x"), leaf(&c, "param.weight"), leaf(&c, "param.bias"));
    let y = conv::conv1d(&x, &w, Some(&b), usize_of(&c, "stride"), usize_of(&c, "padding"), usize_of(&c, "groups"))
        .unwrap();
    c.check_outputs_and_grads(&[("y", &y)], &[("input.x", &x), ("param.weight", &w), ("param.bias", &b)], 1e-5);
    c.finish();
}

#[test]
fn golden_temporal_shift() {
    let c = Case::load("temporal_shift");
    let x = leaf(&c, "input.x");
    let y = shift::temporal_shift(&x, usize_of(&c, "T")).unwrap();
    // exact: a shift only moves values
    c.check_outputs_and_grads(&[("y", &y)], &[("input.x", &x)], 0.0);
    c.finish();
}

#[test]
fn golden_batchnorm2d_train() {
    let c = Case::load("batchnorm2d_train");
    let (x, w, b) = (leaf(&c, "input.x"), leaf(&c, "param.weight"), leaf(&c, "param.bias"));
    let (rm, rv) = (c.tensor("input.running_mean", F32), c.tensor("input.running_var", F32));
    let opts = BnOpts { eps: c.hyper("eps").as_f64().unwrap(), momentum: c.hyper("momentum").as_f64().unwrap() };
    let running = RunningStats { mean: &rm, var: &rv };
    let (_, mean, var) =
        norm::batch_norm_fwd(x.tensor(), w.tensor(), b.tensor(), &running, BnMode::Train, opts).unwrap();
    c.check("output.batch_mean", &mean, 1e-5);
    c.check("output.batch_var_biased", &var, 1e-5);
    // The forward above already updated the running statistics once; start again from the inputs.
    let (rm, rv) = (c.tensor("input.running_mean", F32), c.tensor("input.running_var", F32));
    let running = RunningStats { mean: &rm, var: &rv };
    let y = norm::batch_norm(&x, &w, &b, &running, BnMode::Train, opts).unwrap();
    c.check("output.running_mean", &rm, 1e-5);
    c.check("output.running_var", &rv, 1e-5);
    c.check_outputs_and_grads(&[("y", &y)], &[("input.x", &x), ("param.weight", &w), ("param.bias", &b)], 1e-5);
    c.finish();
}

#[test]
fn golden_maxpool_3x3_s2_p1() {
    let c = Case::load("maxpool_3x3_s2_p1");
    let x = leaf(&c, "input.x");
    let (k, s, p) = (usize_of(&c, "kernel"), usize_of(&c, "stride"), usize_of(&c, "padding"));
    let (_, argmax, _) = pool::maxpool2d_fwd(x.tensor(), k, s, p).unwrap();
    c.check("output.argmax", &argmax, 0.0);
    let y = pool::maxpool2d(&x, k, s, p).unwrap();
    c.check_outputs_and_grads(&[("y", &y)], &[("input.x", &x)], 1e-5);
    c.finish();
}

#[test]
fn golden_global_avgpool() {
    let c = Case::load("global_avgpool");
    let x = leaf(&c, "input.x");
    let y = pool::global_avg_pool(&x).unwrap();
    c.check_outputs_and_grads(&[("y", &y)], &[("input.x", &x)], 1e-5);
    c.finish();
}

#[test]
fn golden_linear() {
    let c = Case::load("linear");
    let (x, w, b) = (leaf(&c, "input.x"), leaf(&c, "param.weight"), leaf(&c, "param.bias"));
    let y = matmul::linear(&x, &w, Some(&b)).unwrap();
    c.check_outputs_and_grads(&[("y", &y)], &[("input.x", &x), ("param.weight", &w), ("param.bias", &b)], 1e-5);
    c.finish();
}

#[test]
fn golden_relu() {
    let c = Case::load("relu");
    let x = leaf(&c, "input.x");
    let y = elementwise::relu(&x).unwrap();
    c.check_outputs_and_grads(&[("y", &y)], &[("input.x", &x)], 0.0);
    c.finish();
}

#[test]
fn golden_cross_entropy() {
    let c = Case::load("cross_entropy");
    let logits = leaf(&c, "input.logits");
    let l = loss::cross_entropy(&logits, &c.tensor("input.target", DType::I64)).unwrap();
    c.check_outputs_and_grads(&[("loss", &l)], &[("input.logits", &logits)], 1e-5);
    c.finish();
}

/// Gradients of the optimizer cases are stored inputs; a fake "parameter" carries them by id.
fn grads_for(p: &lofi::nn::Param, g: Tensor) -> lofi::autograd::Gradients {
    let v = p.var();
    let y = elementwise::mul(&v, &Var::constant(g)).unwrap();
    let ones = Tensor::full(1.0f32, y.tensor().shape().clone(), &Device::cpu()).unwrap();
    y.backward_with(ones).unwrap()
}

#[test]
fn golden_sgd_step() {
    let c = Case::load("sgd_step");
    let p = lofi::nn::Param::new("p", c.tensor("input.param", F32).try_clone().unwrap(), lofi::nn::ParamKind::Weight);
    let h = |k: &str| c.hyper(k).as_f64().unwrap();
    let mut sgd = Sgd::new(h("lr"), h("momentum"), h("weight_decay"));
    let steps = usize_of(&c, "steps");
    for step in 1..=steps {
        let g = grads_for(&p, c.tensor(&format!("input.grad_step{step}"), F32));
        sgd.step(std::slice::from_ref(&p), &g).unwrap();
        c.check(&format!("output.param_after_step{step}"), &p.value(), 1e-6);
    }
    c.finish();
}

#[test]
fn golden_adam_step() {
    let c = Case::load("adam_step");
    let p = lofi::nn::Param::new("p", c.tensor("input.param", F32).try_clone().unwrap(), lofi::nn::ParamKind::Weight);
    let h = |k: &str| c.hyper(k).as_f64().unwrap();
    let mut adam = Adam::new(h("lr"), h("weight_decay"));
    (adam.beta1, adam.beta2, adam.eps) = (h("beta1"), h("beta2"), h("eps"));
    for step in 1..=usize_of(&c, "steps") {
        let g = grads_for(&p, c.tensor(&format!("input.grad_step{step}"), F32));
        adam.step(std::slice::from_ref(&p), &g).unwrap();
        let (m, v) = adam.moments(&p).unwrap();
        c.check(&format!("output.exp_avg_after_step{step}"), m, 1e-5);
        c.check(&format!("output.exp_avg_sq_after_step{step}"), v, 1e-5);
        c.check(&format!("output.param_after_step{step}"), &p.value(), 1e-5);
    }
    c.finish();
}

/// Loads every `param.<name>` of the case into the module's parameter of that name.
fn load_params(c: &Case, m: &impl Module) {
    let params = m.params();
    for name in c.names("param.") {
        let short = &name["param.".len()..];
        let p = params.iter().find(|p| p.name() == short).unwrap_or_else(|| panic!("{}: model has no {short}", c.name));
        p.set(c.tensor(&name, F32)).unwrap();
    }
}

/// Runs a TSM module case: output.y / output.feature etc., running stats, all gradients.
fn check_module(c: &Case, m: &impl Module, x: &Var, outputs: &[(&str, &Var)], tol: f64) {
    let params = m.params();
    for p in params.iter().filter(|p| p.kind() == lofi::nn::ParamKind::Buffer) {
        let name = format!("output.{}", p.name());
        c.check(&name, &p.value(), tol);
    }
    let leaves: Vec<(String, Var)> =
        params.iter().filter(|p| p.is_trainable()).map(|p| (format!("param.{}", p.name()), p.var())).collect();
    let mut all: Vec<(&str, &Var)> = vec![("input.x", x)];
    all.extend(leaves.iter().map(|(n, v)| (n.as_str(), v)));
    c.check_outputs_and_grads(outputs, &all, tol);
}

fn block_case(name: &str) {
    let c = Case::load(name);
    let (cin, t) = (usize_of(&c, "C"), usize_of(&c, "T"));
    let planes = c.hyper("planes").as_u64().map_or(cin, |v| v as usize);
    let stride = usize_of(&c, "stride");
    let cfg = ResNetTsmConfig { frames: t, bn_mode: BnMode::Train, ..ResNetTsmConfig::resnet18() };
    let b = Builder::new(&Device::cpu(), F32, Rng::seeded(0));
    let block = ResidualBlock::new(&b, BlockKind::Basic, cin, planes, stride, &cfg).unwrap();
    load_params(&c, &block);
    let x = leaf(&c, "input.x");
    let y = block.forward(&x).unwrap();
    check_module(&c, &block, &x, &[("y", &y)], 1e-5);
    c.finish();
}

#[test]
fn golden_tsm_basicblock() {
    block_case("tsm_basicblock");
}

#[test]
fn golden_tsm_basicblock_downsample() {
    block_case("tsm_basicblock_downsample");
}

#[test]
fn golden_tsm_resnet18_tiny() {
    let c = Case::load("tsm_resnet18_tiny");
    let widths: Vec<usize> =
        c.hyper("widths").as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
    let cfg = ResNetTsmConfig {
        stem_width: widths[0],
        widths,
        stem: Stem::Imagenet,
        frames: usize_of(&c, "T"),
        ..ResNetTsmConfig::resnet18()
    };
    let model = ResNetTsm::new(&Builder::new(&Device::cpu(), F32, Rng::seeded(0)), &cfg).unwrap();
    load_params(&c, &model);
    let x = leaf(&c, "input.x");
    let frame_feature = model.frame_features(&x).unwrap();
    let (nt, ch) = (frame_feature.dims()[0], frame_feature.dims()[1]);
    let t = cfg.frames;
    let feature =
        lofi::ops::shape::mean_axis(&lofi::ops::shape::reshape(&frame_feature, [nt / t, t, ch]).unwrap(), 1).unwrap();
    check_module(&c, &model, &x, &[("frame_feature", &frame_feature), ("feature", &feature)], 1e-4);
    c.finish();
}
