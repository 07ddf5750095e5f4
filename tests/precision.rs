//! The bf16 policy on the CPU (bf16 storage, f32 arithmetic): training in bf16 tracks the fp32
//! loss curve, the parameters stay an f32 master copy that an update below half a bf16 ulp still
//! moves, weight gradients and BN statistics stay f32, and recompute stays exact.

use lofi::fidelity::Fidelity;
use lofi::nn::{Param, Recompute};
use lofi::rng::{Rng, Seeds};
use lofi::tensor::{DType, Device, Tensor};
use lofi::train::model::Model;
use lofi::train::optimizer::{OptimConfig, OptimKind};
use lofi::train::spec::{HeadSpec, Precision, StepSpec};
use lofi::train::step::{train_step, StepBatch, StepContext, StepInput, StepTargets};

fn classifier_spec(precision: Precision, optim: OptimConfig) -> StepSpec {
    StepSpec {
        encoder: Some("synthetic-tiny".into()),
        head: HeadSpec::Classifier { classes: vec!["red".into(), "blue".into()] },
        fidelity: Fidelity::new(1, 32, 32),
        batch: 8,
        snippets_per_call: 8,
        recompute: Recompute::None,
        precision,
        optim,
    }
}

fn ctx(device: &Device, step: u64, precision: Precision, k: usize, recompute: Recompute) -> StepContext<'_> {
    StepContext {
        stage: "precision",
        step,
        seeds: Seeds::new(3),
        lr_factor: 1.0,
        snippet_weight: 0.5,
        snippets_per_call: k,
        recompute,
        precision,
        device,
    }
}

/// Clips of two classes that differ in their dominant colour channel, with noise: the same
/// batch for the same step whatever the precision.
fn colour_batch(spec: &StepSpec, step: u64) -> StepBatch {
    let frames = spec.frames_per_sample().unwrap();
    let (b, side) = (spec.batch, spec.fidelity.height);
    let mut rng = Rng::seeded(1000 + step);
    let classes: Vec<usize> = (0..b).map(|i| (i + step as usize) % 2).collect();
    let mut data = Vec::with_capacity(b * frames * side * side * 3);
    for &class in &classes {
        for _ in 0..frames * side * side {
            for ch in 0..3 {
                let lit = (class == 0 && ch == 0) || (class == 1 && ch == 2);
                let base = if lit { 135.0 } else { 115.0 };
                data.push((base + 60.0 * rng.normal()).clamp(0.0, 255.0) as u8);
            }
        }
    }
    let input = Tensor::from_vec(data, [b * frames, side, side, 3], &Device::cpu()).unwrap();
    StepBatch {
        input: StepInput::Frames(input),
        targets: StepTargets::Classes(classes),
        samples: b,
        snippets: 1,
        fidelity: Some(spec.fidelity),
    }
}

fn loss_curve(precision: Precision, steps: u64) -> Vec<f64> {
    let optim = OptimConfig { lr: 2e-3, ..OptimConfig::default() };
    let spec = classifier_spec(precision, optim);
    let dev = Device::cpu_with_budget(usize::MAX);
    let model = spec.build_model(&dev, &Seeds::new(7)).unwrap();
    let mut opt = spec.build_optimizer(&model).unwrap();
    (0..steps)
        .map(|step| {
            let m = train_step(
                &model,
                &mut opt,
                &colour_batch(&spec, step),
                &ctx(&dev, step, precision, 8, Recompute::None),
            )
            .unwrap();
            m.losses[0].1
        })
        .collect()
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// 50 Adam steps of a small encoder + classifier: the bf16 curve stays within 5 % (of the fp32
/// loss, averaged over windows of 10 steps) of the fp32 curve, and both learn.
#[test]
fn bf16_training_tracks_the_fp32_loss_curve() {
    let fp32 = loss_curve(Precision::Fp32, 50);
    let bf16 = loss_curve(Precision::Bf16, 50);
    let windows: Vec<(f64, f64)> = fp32.chunks(10).zip(bf16.chunks(10)).map(|(a, b)| (mean(a), mean(b))).collect();
    println!("fp32 / bf16 loss per 10 steps: {windows:?}");
    for (i, (a, b)) in windows.iter().enumerate() {
        let rel = (a - b).abs() / a;
        assert!(rel < 0.05, "steps {}..{}: fp32 {a:.4} vs bf16 {b:.4} ({:.1} %)", i * 10, i * 10 + 10, rel * 100.0);
    }
    let (first, last) = (windows[0], windows[windows.len() - 1]);
    assert!(last.0 < 0.7 * first.0, "fp32 did not learn: {first:?} → {last:?}");
    assert!(last.1 < 0.7 * first.1, "bf16 did not learn: {first:?} → {last:?}");
    // The two precisions really computed differently (bf16 rounding reached the loss).
    assert!(fp32 != bf16);
}

fn trained(params: Vec<Param>) -> Vec<Param> {
    params.into_iter().filter(Param::is_trainable).collect()
}

/// The parameters, optimizer state and BN statistics stay f32 under bf16, and an update below
/// half a bf16 ulp of a weight still moves its f32 master value (it would be lost if the weights
/// were stored in bf16). Adam's first step moves every weight by about `lr` whatever its
/// gradient's scale; with lr = 1e-4 that is below half a bf16 ulp for every |w| ≥ 1/16 (2⁻¹²).
#[test]
fn an_update_below_half_a_bf16_ulp_still_moves_the_f32_master() {
    let lr = 1e-4;
    let optim = OptimConfig { kind: OptimKind::Adam, lr, weight_decay: 0.0, ..OptimConfig::default() };
    let spec = classifier_spec(Precision::Bf16, optim);
    let dev = Device::cpu_with_budget(usize::MAX);
    let model: Model = spec.build_model(&dev, &Seeds::new(7)).unwrap();
    let mut opt = spec.build_optimizer(&model).unwrap();
    for p in model.params() {
        assert_eq!(p.value().dtype(), DType::F32, "{} is stored in {}", p.name(), p.value().dtype());
    }
    let weights = trained(model.encoder_params());
    let before: Vec<Vec<f32>> = weights.iter().map(|p| p.value().to_vec::<f32>().unwrap()).collect();
    train_step(&model, &mut opt, &colour_batch(&spec, 0), &ctx(&dev, 0, Precision::Bf16, 8, Recompute::None)).unwrap();
    let (mut sub_ulp, mut moved) = (0usize, 0usize);
    for (p, old) in weights.iter().zip(&before) {
        let new = p.value().to_vec::<f32>().unwrap();
        for (&a, &b) in old.iter().zip(&new) {
            // bf16 keeps 8 significant bits: half its ulp at |a| is 2^(exponent(a) − 8).
            let half_ulp = 2f32.powi(a.abs().log2().floor() as i32 - 8);
            if a.abs() >= 1.0 / 16.0 {
                assert!(lr < half_ulp as f64);
                sub_ulp += 1;
                let delta = (b - a).abs() as f64;
                if delta > 0.5 * lr && delta < 1.5 * lr {
                    moved += 1;
                }
            }
        }
    }
    assert!(sub_ulp > 1000, "only {sub_ulp} weights with |w| ≥ 1/16");
    assert!(moved * 10 > sub_ulp * 9, "{moved} of {sub_ulp} weights moved by about lr = {lr}");
    for p in model.params() {
        assert_eq!(p.value().dtype(), DType::F32, "{} left f32 after the step", p.name());
    }
}

fn tal_spec(precision: Precision, recompute: Recompute, k: usize) -> StepSpec {
    StepSpec {
        encoder: Some("synthetic-tiny".into()),
        head: HeadSpec::Tal { preset: "gtad-synthetic".into(), in_channels: 64, classes: vec!["a".into(), "b".into()] },
        fidelity: Fidelity::new(6, 16, 16),
        batch: 2,
        snippets_per_call: k,
        recompute,
        precision,
        optim: OptimConfig::default(),
    }
}

/// Under bf16 too, recompute changes what is kept and never what is computed: no recompute,
/// chunk and stage recompute leave every parameter and BN statistic bitwise equal after two
/// end-to-end steps, with several encoder calls per step (the weights' bf16 copies are made once
/// per step and re-made inside a recomputed segment).
#[test]
fn bf16_recompute_policies_give_bitwise_the_same_steps() {
    let dev = Device::cpu();
    let k = 3;
    let mut results = Vec::new();
    for policy in [Recompute::None, Recompute::Chunk, Recompute::Stage] {
        let spec = tal_spec(Precision::Bf16, policy, k);
        let pool = Device::cpu_with_budget(usize::MAX);
        let model = spec.build_model(&pool, &Seeds::new(4)).unwrap();
        let mut opt = spec.build_optimizer(&model).unwrap();
        let mut batch = spec.placeholder_batch(&dev).unwrap();
        if let StepInput::Frames(f) = &batch.input {
            let frames: Vec<u8> = (0..f.numel()).map(|i| ((i * 37 + 11) % 251) as u8).collect();
            batch.input = StepInput::Frames(Tensor::from_vec(frames, f.dims().to_vec(), &dev).unwrap());
        }
        for step in 0..2 {
            train_step(&model, &mut opt, &batch, &ctx(&pool, step, Precision::Bf16, k, policy)).unwrap();
        }
        let values: Vec<Vec<f64>> = model.params().iter().map(|p| p.value().to_f64_vec().unwrap()).collect();
        results.push(values);
    }
    assert!(results[0] == results[1], "chunk recompute changed the bf16 step");
    assert!(results[0] == results[2], "stage recompute changed the bf16 step");
}

fn random(shape: &[usize], seed: u64, dtype: DType) -> Tensor {
    let mut rng = Rng::seeded(seed);
    let v: Vec<f32> = (0..shape.iter().product::<usize>()).map(|_| rng.normal() as f32).collect();
    lofi::ops::shape::cast_fwd(&Tensor::from_vec(v, shape.to_vec(), &Device::cpu()).unwrap(), dtype).unwrap()
}

/// The mixed ops' dtype contract: a conv weight gradient of bf16 activations comes back in f32,
/// summed in f32 over every im2col chunk (here one image per chunk, 64 chunks) — equal to the
/// f32 computation on the same bf16 values to f32 rounding — and BN takes bf16 x with f32 γ, β
/// and statistics, giving bf16 y and f32 batch statistics.
#[test]
fn mixed_ops_keep_weight_gradients_and_statistics_in_f32() {
    use lofi::ops::conv::{conv2d_bwd_weight, geometry, Conv2dOpts};
    let (x, dy) = (random(&[64, 8, 12, 12], 1, DType::BF16), random(&[64, 8, 12, 12], 2, DType::BF16));
    let w = random(&[8, 8, 3, 3], 3, DType::BF16);
    let g = geometry(&x, &w, Conv2dOpts::new(1, 1, 1)).unwrap().with_chunk(1);
    let dw = conv2d_bwd_weight(&g, &x, &dy).unwrap();
    assert_eq!(dw.dtype(), DType::F32);
    let wide = |t: &Tensor| lofi::ops::shape::cast_fwd(t, DType::F32).unwrap();
    let reference = conv2d_bwd_weight(&g, &wide(&x), &wide(&dy)).unwrap();
    let (a, b) = (dw.to_f64_vec().unwrap(), reference.to_f64_vec().unwrap());
    let scale = b.iter().map(|v| v.abs()).fold(0.0, f64::max);
    let worst = a.iter().zip(&b).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(worst <= 1e-5 * scale, "bf16-input weight gradient off by {worst} (scale {scale})");

    use lofi::ops::norm::{batch_norm_fwd, BnMode, BnOpts, RunningStats};
    let xb = random(&[4, 8, 6, 6], 4, DType::BF16);
    let ones = Tensor::from_vec(vec![1f32; 8], [8], &Device::cpu()).unwrap();
    let zeros = Tensor::from_vec(vec![0f32; 8], [8], &Device::cpu()).unwrap();
    let (rm, rv) = (zeros.try_clone().unwrap(), ones.try_clone().unwrap());
    let running = RunningStats { mean: &rm, var: &rv };
    let (y, mean, var) = batch_norm_fwd(&xb, &ones, &zeros, &running, BnMode::Train, BnOpts::default()).unwrap();
    assert_eq!((y.dtype(), mean.dtype(), var.dtype()), (DType::BF16, DType::F32, DType::F32));
    assert_eq!(rm.dtype(), DType::F32);
    assert!(rm.to_f64_vec().unwrap().iter().any(|&m| m != 0.0), "the running mean was updated");
}
