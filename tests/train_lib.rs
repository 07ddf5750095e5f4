//! The training library below the CLI: parameter groups take their own rates, optimizer state and
//! weights survive a checkpoint exactly, a checkpoint of another architecture is refused with the
//! mismatched names listed, and the Meta dry run of a step predicts the CPU pool's peak of that
//! step byte for byte.

use std::collections::BTreeMap;

use lofi::fidelity::Fidelity;
use lofi::nn::Param;
use lofi::rng::Seeds;
use lofi::tensor::Device;
use lofi::train::checkpoint::{self, Position, Snapshot};
use lofi::train::model::Model;
use lofi::train::optimizer::{OptimConfig, OptimKind};
use lofi::train::spec::{HeadSpec, Precision, StepSpec};
use lofi::train::step::{train_step, StepContext};

fn head_spec(batch: usize, l: usize) -> StepSpec {
    StepSpec {
        encoder: None,
        head: HeadSpec::Tal { preset: "gtad-synthetic".into(), in_channels: 16, classes: vec!["a".into(), "b".into()] },
        fidelity: Fidelity::new(l, 32, 32),
        batch,
        snippets_per_call: 16,
        recompute: lofi::nn::Recompute::None,
        precision: Precision::Fp32,
        optim: OptimConfig::default(),
    }
}

fn acp_spec() -> StepSpec {
    StepSpec {
        encoder: Some("synthetic-tiny".into()),
        head: HeadSpec::Classifier { classes: vec!["a".into(), "b".into(), "c".into()] },
        fidelity: Fidelity::new(1, 32, 32),
        batch: 4,
        snippets_per_call: 8,
        recompute: lofi::nn::Recompute::None,
        precision: Precision::Fp32,
        optim: OptimConfig { kind: OptimKind::Sgd, lr: 0.1, encoder_lr: Some(0.01), ..OptimConfig::default() },
    }
}

fn ctx<'a>(device: &'a Device, step: u64) -> StepContext<'a> {
    StepContext {
        stage: "test",
        step,
        seeds: Seeds::new(3),
        lr_factor: 1.0,
        snippet_weight: 0.5,
        snippets_per_call: 8,
        recompute: lofi::nn::Recompute::None,
        precision: Precision::Fp32,
        device,
    }
}

fn values(params: &[Param]) -> Vec<Vec<f64>> {
    params.iter().map(|p| p.value().to_f64_vec().unwrap()).collect()
}

#[test]
fn each_group_moves_at_its_own_rate() {
    // Plain SGD (no momentum, no decay): Δw = −lr·g. Doubling only the encoder's rate doubles the
    // encoder's step and leaves the head's unchanged.
    let dev = Device::cpu();
    let step_of = |encoder_lr: f64| {
        let mut spec = acp_spec();
        spec.optim = OptimConfig {
            kind: OptimKind::Sgd,
            lr: 0.1,
            encoder_lr: Some(encoder_lr),
            weight_decay: 0.0,
            ..OptimConfig::default()
        };
        let model = spec.build_model(&dev, &Seeds::new(1)).unwrap();
        let mut opt = spec.build_optimizer(&model).unwrap();
        // Trainable weights only: BN running statistics move with the data, not with the rate.
        let trained = |p: Vec<Param>| values(&p.into_iter().filter(Param::is_trainable).collect::<Vec<_>>());
        let before = (trained(model.encoder_params()), trained(model.head_params()));
        train_step(&model, &mut opt, &spec.placeholder_batch(&dev).unwrap(), &ctx(&dev, 0)).unwrap();
        let delta = |a: Vec<Vec<f64>>, b: Vec<Vec<f64>>| -> Vec<f64> {
            a.into_iter().flatten().zip(b.into_iter().flatten()).map(|(x, y)| x - y).collect()
        };
        (delta(trained(model.encoder_params()), before.0), delta(trained(model.head_params()), before.1))
    };
    let (enc1, head1) = step_of(0.01);
    let (enc2, head2) = step_of(0.02);
    assert!(head1 == head2, "the head's rate did not change");
    let moved: Vec<(f64, f64)> =
        enc1.iter().zip(&enc2).filter(|(a, _)| a.abs() > 1e-6).map(|(a, b)| (*a, *b)).collect();
    assert!(!moved.is_empty(), "the encoder moved");
    for (a, b) in moved {
        // f32 rounding of w − lr·g: a few ulps of a weight of size ~1.
        assert!((b - 2.0 * a).abs() <= 1e-3 * a.abs() + 1e-6, "encoder step {a} at rate 0.01 vs {b} at 0.02");
    }
    let opt = acp_spec().build_optimizer(&acp_spec().build_model(&dev, &Seeds::new(1)).unwrap()).unwrap();
    assert_eq!(opt.rates(0.5), vec![("encoder", 0.005), ("head", 0.05)]);
}

#[test]
fn weights_and_optimizer_state_survive_a_checkpoint_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let spec = head_spec(2, 8);
    let dev = Device::cpu();
    let model = spec.build_model(&dev, &Seeds::new(1)).unwrap();
    let mut opt = spec.build_optimizer(&model).unwrap();
    let batch = spec.placeholder_batch(&dev).unwrap();
    for step in 0..2 {
        train_step(&model, &mut opt, &batch, &ctx(&dev, step)).unwrap();
    }
    let (optim_tensors, adam_steps) = opt.state();
    assert!(!optim_tensors.is_empty());
    let snap = Snapshot {
        stage: "head",
        seed: 3,
        position: Position { step: 2, epoch: 1, batch: 0 },
        params: &model.params(),
        optim_tensors,
        adam_steps,
        rng_streams: BTreeMap::new(),
    };
    let path = checkpoint::write(dir.path(), &snap, 2).unwrap();

    // A fresh model and optimizer, restored, take the same next step as the original.
    let copy = spec.build_model(&dev, &Seeds::new(99)).unwrap();
    let mut copy_opt = spec.build_optimizer(&copy).unwrap();
    let c = checkpoint::read(&path, &dev).unwrap();
    assert_eq!(c.position, Position { step: 2, epoch: 1, batch: 0 });
    checkpoint::restore_params(&c, &copy.params()).unwrap();
    copy_opt.load_state(&c.optim, &c.adam_steps).unwrap();
    train_step(&model, &mut opt, &batch, &ctx(&dev, 2)).unwrap();
    train_step(&copy, &mut copy_opt, &batch, &ctx(&dev, 2)).unwrap();
    let (a, b) = (values(&model.params()), values(&copy.params()));
    assert!(a == b, "a restored run takes bitwise the same step");
}

#[test]
fn a_checkpoint_of_another_architecture_lists_the_mismatched_names() {
    let dir = tempfile::tempdir().unwrap();
    let dev = Device::cpu();
    let small = head_spec(1, 4).build_model(&dev, &Seeds::new(1)).unwrap();
    let snap = Snapshot {
        stage: "head",
        seed: 0,
        position: Position { step: 1, epoch: 0, batch: 1 },
        params: &small.params(),
        optim_tensors: Vec::new(),
        adam_steps: Vec::new(),
        rng_streams: BTreeMap::new(),
    };
    let path = checkpoint::write(dir.path(), &snap, 1).unwrap();
    let other = acp_spec().build_model(&dev, &Seeds::new(1)).unwrap();
    let e =
        checkpoint::restore_params(&checkpoint::read(&path, &dev).unwrap(), &other.params()).unwrap_err().to_string();
    assert!(
        e.contains("another architecture") && e.contains("conv1.weight") && e.contains("backbone1.0.weight"),
        "{e}"
    );
}

/// A model whose ACP classifier has a bias of another width than the file's.
#[test]
fn a_mis_shaped_tensor_is_named_with_both_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let dev = Device::cpu();
    let three = acp_spec().build_model(&dev, &Seeds::new(1)).unwrap();
    let snap = Snapshot {
        stage: "acp",
        seed: 0,
        position: Position { step: 1, epoch: 0, batch: 1 },
        params: &three.params(),
        optim_tensors: Vec::new(),
        adam_steps: Vec::new(),
        rng_streams: BTreeMap::new(),
    };
    let path = checkpoint::write(dir.path(), &snap, 1).unwrap();
    let mut four_classes = acp_spec();
    four_classes.head = HeadSpec::Classifier { classes: vec!["a".into(); 4] };
    let four = four_classes.build_model(&dev, &Seeds::new(1)).unwrap();
    let e =
        checkpoint::restore_params(&checkpoint::read(&path, &dev).unwrap(), &four.params()).unwrap_err().to_string();
    assert!(e.contains("fc.weight") && e.contains("[3, 64]") && e.contains("[4, 64]"), "{e}");
}

/// The prediction is the dry run: the Meta peak of two steps equals the peak the CPU pool
/// measures for the same two steps on the same shapes.
#[test]
fn the_dry_run_predicts_the_cpu_pool_peak_byte_for_byte() {
    for spec in [head_spec(2, 8), acp_spec()] {
        let predicted = spec.dry_run_peak().unwrap();
        let dev = Device::cpu_with_budget(usize::MAX);
        let model: Model = spec.build_model(&dev, &Seeds::new(0)).unwrap();
        let mut opt = spec.build_optimizer(&model).unwrap();
        let batch = spec.placeholder_batch(&Device::cpu()).unwrap();
        let mut measured = 0;
        for step in 0..2 {
            let mut c = ctx(&dev, step);
            c.snippets_per_call = spec.snippets_per_call;
            c.snippet_weight = 1.0;
            measured = measured.max(train_step(&model, &mut opt, &batch, &c).unwrap().peak_bytes);
        }
        assert_eq!(predicted, measured, "{:?}", spec.head);
        assert!(predicted > 0);
    }
}

fn e2e_spec(recompute: lofi::nn::Recompute, k: usize) -> StepSpec {
    StepSpec {
        encoder: Some("synthetic-tiny".into()),
        head: HeadSpec::Tal { preset: "gtad-synthetic".into(), in_channels: 64, classes: vec!["a".into(), "b".into()] },
        fidelity: Fidelity::new(6, 16, 16),
        batch: 2,
        snippets_per_call: k,
        recompute,
        precision: Precision::Fp32,
        optim: OptimConfig::default(),
    }
}

/// Recompute changes what is kept, never what is computed: for a fixed number of snippets per
/// encoder call, two steps with no recompute, chunk recompute and stage recompute leave every
/// parameter and BN statistic bitwise equal, the dry run predicts each peak exactly, and with
/// several calls per step recompute lowers the peak. (With one call for the whole batch at this
/// tiny size the head's map dominates the peak, and recompute only adds its saved input.)
#[test]
fn recompute_policies_give_bitwise_the_same_steps() {
    use lofi::nn::Recompute;
    let dev = Device::cpu();
    for k in [3, 12] {
        let mut results = Vec::new();
        for policy in [Recompute::None, Recompute::Chunk, Recompute::Stage] {
            let spec = e2e_spec(policy, k);
            let pool = Device::cpu_with_budget(usize::MAX);
            let model = spec.build_model(&pool, &Seeds::new(4)).unwrap();
            let mut opt = spec.build_optimizer(&model).unwrap();
            let mut batch = spec.placeholder_batch(&dev).unwrap();
            if let lofi::train::step::StepInput::Frames(f) = &batch.input {
                let frames: Vec<u8> = (0..f.numel()).map(|i| ((i * 37 + 11) % 251) as u8).collect();
                batch.input = lofi::train::step::StepInput::Frames(
                    lofi::Tensor::from_vec(frames, f.dims().to_vec(), &dev).unwrap(),
                );
            }
            let mut peak = 0;
            for step in 0..2 {
                let mut c = ctx(&pool, step);
                c.snippets_per_call = k;
                c.recompute = policy;
                peak = peak.max(train_step(&model, &mut opt, &batch, &c).unwrap().peak_bytes);
            }
            let predicted = spec.dry_run_peak().unwrap();
            assert_eq!(predicted, peak, "{policy:?} k {k}: the dry run predicts the peak");
            results.push((values(&model.params()), peak));
        }
        assert!(results[0].0 == results[1].0, "k {k}: chunk recompute changed the step");
        assert!(results[0].0 == results[2].0, "k {k}: stage recompute changed the step");
        if k == 3 {
            // Several calls per step: only one call's activations are alive at a time.
            let peaks: Vec<usize> = results.iter().map(|r| r.1).collect();
            assert!(peaks[1] < peaks[0] && peaks[2] < peaks[0], "k {k}: peaks {peaks:?}");
        }
    }
    // A different number of snippets per call is a (slightly) different computation.
    let step_at = |k: usize| {
        let spec = e2e_spec(Recompute::None, k);
        let model = spec.build_model(&dev, &Seeds::new(4)).unwrap();
        let mut opt = spec.build_optimizer(&model).unwrap();
        let batch = spec.placeholder_batch(&dev).unwrap();
        let mut c = ctx(&dev, 0);
        c.snippets_per_call = k;
        train_step(&model, &mut opt, &batch, &c).unwrap();
        values(&model.params())
    };
    assert!(step_at(3) != step_at(12));
}
