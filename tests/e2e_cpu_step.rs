//! The first end-to-end training step on the CPU, every stage of the pipeline at toy size:
//! `lofi synth` data → loader/sampler (16 snippets of 4 frames at 32²) → `synthetic-tiny`
//! TSM encoder → snippet features → G-TAD head at small widths → G-TAD labels → loss → backward
//! through head and encoder → SGD, 30 times on one fixed batch; then post-processing of the trained
//! outputs → detections JSON → `lofi eval`.
//!
//! It checks that the whole model can fit (the loss falls by at least half) and that the evaluator
//! accepts what the pipeline writes. Class scores for the fusion are the ground-truth classes of
//! each video with score 1 (an oracle): this test is about localisation plumbing, the ACP
//! classifier has its own. SGD uses momentum 0.9 (the paper's E2E stage uses 0) so that 30 steps
//! are enough to show the fit.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use lofi::autograd::{no_grad, Var};
use lofi::data::annotations::{Annotations, SegmentPolicy};
use lofi::data::loader::{Batch, Dataset, Loader, LoaderOptions};
use lofi::data::sampler::{Mode, SamplerConfig};
use lofi::data::synth::{generate, SynthConfig};
use lofi::fidelity::Fidelity;
use lofi::loss::{gtad_loss, GtadTargets, RegDraws};
use lofi::nn::gtad::{Gtad, GtadConfig};
use lofi::nn::{Builder, Module, ResNetTsm, ResNetTsmConfig};
use lofi::ops::shape;
use lofi::post::detections::ResultFile;
use lofi::post::fusion::{fuse, suppress};
use lofi::post::{generate_proposals, ProposalStyle, SoftNms};
use lofi::rng::Seeds;
use lofi::train::Sgd;
use lofi::{DType, Device, Tensor};

const SNIPPETS: usize = 16;
const STEPS: usize = 30;

/// Two training and two validation videos of the synthetic benchmark; one batch of both training
/// videos, sampled deterministically (evaluation mode: centre crop).
fn synthetic_batch(dir: &Path) -> (Annotations, Batch) {
    let cfg = SynthConfig { seed: 3, videos_per_split: 2, clips: 0, ..SynthConfig::default() };
    generate(dir, &cfg, &indicatif::ProgressBar::hidden()).unwrap();
    let ann = Annotations::load(&dir.join("annotations.json"), SegmentPolicy::Clip).unwrap();
    let train: Vec<_> = ann.subset("training").cloned().collect();
    let dataset = Arc::new(Dataset::open(&dir.join("frames"), train, false).unwrap());
    let opts = LoaderOptions {
        sampler: SamplerConfig::synthetic(Fidelity::new(SNIPPETS, 32, 32)),
        mode: Mode::Eval,
        batch_size: 2,
        shuffle: false,
        drop_last: false,
        seed: 1,
        epoch: 0,
        threads: 1,
        prefetch: 1,
        skip_bad_videos: false,
    };
    let batch = Loader::start(dataset, opts).unwrap().next().unwrap().unwrap();
    assert_eq!(batch.videos.len(), 2);
    (ann, batch)
}

fn head_config(in_channels: usize) -> GtadConfig {
    GtadConfig {
        h_dim_1d: 32,
        h_dim_2d: 16,
        h_dim_3d: 32,
        gcnext_groups: 8,
        gcnext_width_group: 4,
        inner_bins: 8,
        context_bins: 2,
        ..GtadConfig::activitynet(in_channels)
    }
}

struct Model {
    encoder: ResNetTsm,
    head: Gtad,
}

impl Model {
    /// (map, start, end) of the batch's u8 frames [B·L·T, H, W, 3].
    fn forward(&self, frames: &Tensor, batch: usize) -> (Var, Var, Var) {
        let x = self.encoder.prepare_frames(frames, DType::F32).unwrap();
        let snippets = self.encoder.forward(&x).unwrap(); // [B·L, C]
        let c = snippets.dims()[1];
        let features = shape::permute(&shape::reshape(&snippets, [batch, SNIPPETS, c]).unwrap(), &[0, 2, 1]).unwrap();
        let out = self.head.forward(&features).unwrap();
        (out.confidence_map, out.start, out.end)
    }

    fn params(&self) -> Vec<lofi::nn::Param> {
        let mut p = self.encoder.params();
        p.extend(self.head.params());
        p
    }
}

fn targets(batch: &Batch) -> GtadTargets {
    let v = &batch.videos;
    let cat = |f: &dyn Fn(&lofi::data::labels::GtadLabels) -> &Vec<f32>| -> Vec<f32> {
        v.iter().flat_map(|t| f(&t.labels).iter().copied()).collect()
    };
    GtadTargets::new(v.len(), SNIPPETS, cat(&|l| &l.iou_map), cat(&|l| &l.start), cat(&|l| &l.end)).unwrap()
}

#[test]
fn thirty_sgd_steps_fit_one_batch_and_the_evaluator_accepts_the_detections() {
    let dir = tempfile::tempdir().unwrap();
    let (ann, batch) = synthetic_batch(dir.path());
    let b = batch.videos.len();
    let f = batch.sampler.fidelity;
    let frames =
        Tensor::from_slice(&batch.frames, [b * batch.sampler.frames_per_video(), f.height, f.width, 3], &Device::cpu())
            .unwrap();

    let seeds = Seeds::new(7);
    let init = Builder::new(&Device::cpu(), DType::F32, seeds.stream("init"));
    let enc_cfg = ResNetTsmConfig::synthetic_tiny();
    assert_eq!(enc_cfg.frames, batch.sampler.snippet.frames, "the encoder's T is the sampler's");
    let model = Model {
        encoder: ResNetTsm::new(&init.pp("encoder"), &enc_cfg).unwrap(),
        head: Gtad::new(&init.pp("head"), &head_config(enc_cfg.feature_dim())).unwrap(),
    };
    let targets = targets(&batch);
    let params = model.params();
    let mut sgd = Sgd::new(0.1, 0.9, 1e-4);
    let mut loss_rng = seeds.stream("loss");
    let mut losses = Vec::new();
    for _ in 0..STEPS {
        let (map, start, end) = model.forward(&frames, b);
        let draws = RegDraws::sample(&mut loss_rng, b * SNIPPETS * SNIPPETS);
        let loss = gtad_loss(&map, &start, &end, &targets, &draws).unwrap();
        let value = loss.total.tensor().to_vec::<f32>().unwrap()[0];
        assert!(value.is_finite(), "step {}: loss {value}", losses.len());
        losses.push(value);
        let grads = loss.total.backward().unwrap();
        sgd.step(&params, &grads).unwrap();
    }
    println!("losses: {losses:?}");
    assert!(losses[STEPS - 1] <= 0.5 * losses[0], "the loss must fall by half: {losses:?}");

    // Inference on the trained model, then the reference post-processing, per video.
    let (map, start, end) = no_grad(|| model.forward(&frames, b));
    let (map, start, end) = (
        map.tensor().to_vec::<f32>().unwrap(),
        start.tensor().to_vec::<f32>().unwrap(),
        end.tensor().to_vec::<f32>().unwrap(),
    );
    let nms = SoftNms { sigma: 0.84, top_k: 100, emit_last: false };
    let mut results = ResultFile::new("lofi e2e test");
    let mut count = 0;
    for (i, video) in batch.videos.iter().enumerate() {
        let l = SNIPPETS;
        let props = generate_proposals(
            &start[i * l..(i + 1) * l],
            &end[i * l..(i + 1) * l],
            &map[i * 2 * l * l..(i + 1) * 2 * l * l],
            l,
            ProposalStyle::Gtad,
        )
        .unwrap();
        assert!(!props.proposals.is_empty(), "{}: no proposals", video.id);
        let mut classes: Vec<usize> = video.classes.clone();
        classes.sort_unstable();
        classes.dedup();
        let top: Vec<(String, f64)> = classes.iter().map(|&c| (ann.classes[c].clone(), 1.0)).collect();
        let dets = fuse(&suppress(&props.proposals, &nms), &top, video.duration, 100);
        count += dets.len();
        results.results.push((video.id.clone(), dets));
    }
    let pred = dir.path().join("detections.json");
    results.write(&pred).unwrap();

    let out = Command::new(env!("CARGO_BIN_EXE_lofi"))
        .args(["eval", "--gt"])
        .arg(dir.path().join("annotations.json"))
        .arg("--pred")
        .arg(&pred)
        .args(["--subset", "training", "--json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "lofi eval failed: {stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    assert_eq!(v["num_pred"].as_u64(), Some(count as u64), "every detection is evaluated: {v}");
    let ignored = v["ignored"].as_object().map_or(0, |o| o.values().filter_map(|x| x.as_u64()).sum::<u64>());
    assert_eq!(ignored, 0, "{v}");
    let avg = v["average_mAP"].as_f64().unwrap_or(-1.0);
    assert!((0.0..=1.0).contains(&avg), "{v}");
    println!("average mAP on the fitted batch: {avg}");
}
