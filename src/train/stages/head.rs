//! `head`: the TAL head (G-TAD + snippet classifier) trained from scratch on frozen snippet
//! features (`lofi extract` output, `--features DIR`) against the training split of
//! `DATA/annotations.json`. Features are standardised with the training split's per-channel mean
//! and standard deviation, which are stored in the head's file. The loss is G-TAD's plus
//! `loss.snippet_class_weight` × the cross-entropy of the class of every snippet covered more than
//! half by a ground-truth segment. `final.safetensors` holds the head, the snippet classifier and
//! the standardisation, which is everything `lofi infer` reads.

use std::collections::BTreeMap;
use std::path::Path;

use crate::data::annotations::{Annotations, SegmentPolicy, Video};
use crate::data::features::FeatureStore;
use crate::data::labels::{gtad_labels, GtadLabels};
use crate::data::sampler::segments_to_unit;
use crate::data::stream_rng::stream_rng;
use crate::fidelity::Fidelity;
use crate::loss::GtadTargets;
use crate::rng::Seeds;
use crate::tensor::{Device, Tensor};
use crate::train::config::TrainConfig;
use crate::train::model::{self, Head, TalTargets};
use crate::train::observer::Observer;
use crate::train::runner::{self, BatchSource, RunSummary};
use crate::train::spec::{HeadSpec, StepSpec};
use crate::train::stages::{prepare_run_dir, run_options, write_summary, StageInputs, FINAL_FILE};
use crate::train::step::{StepBatch, StepInput, StepTargets};
use crate::{Error, Result};

/// One training video: features [C, L] and its targets at L.
pub struct HeadSample {
    pub id: String,
    /// [C, L] row-major (the head's layout).
    pub features: Vec<f32>,
    pub labels: GtadLabels,
    pub snippet_classes: Vec<Option<usize>>,
}

/// What the stage reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HeadReport {
    pub run: RunSummary,
    pub videos: usize,
    pub snippets: usize,
    pub feature_dim: usize,
    pub parameters: usize,
}

/// Class of each of the L snippet cells [k/L, (k+1)/L] covered more than half by one of the
/// video's segments (fractions of the video), the best-covering segment's class.
pub fn snippet_classes(segments: &[[f64; 2]], classes: &[usize], l: usize) -> Vec<Option<usize>> {
    (0..l)
        .map(|k| {
            let (a, b) = (k as f64 / l as f64, (k + 1) as f64 / l as f64);
            let best = segments
                .iter()
                .zip(classes)
                .map(|(s, &c)| (((b.min(s[1]) - a.max(s[0])).max(0.0)) * l as f64, c))
                .fold(None::<(f64, usize)>, |acc, (cover, c)| match acc {
                    Some((best, _)) if best >= cover => acc,
                    _ => Some((cover, c)),
                });
            best.filter(|(cover, _)| *cover > 0.5).map(|(_, c)| c)
        })
        .collect()
}

/// The training samples: every annotated training video with its features; a video without
/// features is an error naming it.
pub fn training_samples(store: &FeatureStore, ann: &Annotations, subset: &str) -> Result<Vec<HeadSample>> {
    let (l, c) = (store.snippets(), store.feature_dim());
    let by_id: BTreeMap<&str, &crate::data::features::FeatureEntry> =
        store.index.videos.iter().map(|v| (v.id.as_str(), v)).collect();
    let videos: Vec<&Video> = ann.subset(subset).collect();
    if videos.is_empty() {
        return Err(Error::data("annotations", format!("the {subset} split is empty")));
    }
    videos
        .into_iter()
        .map(|v| {
            let entry = by_id.get(v.id.as_str()).ok_or_else(|| {
                Error::data(
                    format!("video {}", v.id),
                    format!("no features in {} (extract the same dataset)", store.dir.display()),
                )
            })?;
            let f = store.load(entry)?;
            let mut features = vec![0f32; c * l];
            for s in 0..l {
                for ch in 0..c {
                    features[ch * l + s] = f.values[s * c + ch];
                }
            }
            let seconds: Vec<[f64; 2]> = v.segments.iter().map(|s| [s.start, s.end]).collect();
            let unit = segments_to_unit(&seconds, v.duration);
            let classes: Vec<usize> = v.segments.iter().map(|s| s.class).collect();
            Ok(HeadSample {
                id: v.id.clone(),
                features,
                labels: gtad_labels(&unit, l),
                snippet_classes: snippet_classes(&unit, &classes, l),
            })
        })
        .collect()
}

/// Per-channel mean and (population) standard deviation over every snippet of `samples`.
pub fn channel_stats(samples: &[HeadSample], c: usize, l: usize) -> (Vec<f64>, Vec<f64>) {
    let n = (samples.len() * l).max(1) as f64;
    let mut mean = vec![0f64; c];
    let mut sq = vec![0f64; c];
    for s in samples {
        for ch in 0..c {
            for &v in &s.features[ch * l..(ch + 1) * l] {
                mean[ch] += v as f64;
                sq[ch] += v as f64 * v as f64;
            }
        }
    }
    let mean: Vec<f64> = mean.iter().map(|m| m / n).collect();
    let std = sq.iter().zip(&mean).map(|(s, m)| (s / n - m * m).max(0.0).sqrt()).collect();
    (mean, std)
}

/// Batches of training videos in a seeded order per epoch.
pub struct VideoFeatureBatches {
    pub samples: Vec<HeadSample>,
    pub batch: usize,
    pub seed: u64,
    pub channels: usize,
    pub snippets: usize,
}

impl BatchSource for VideoFeatureBatches {
    fn steps_per_epoch(&self) -> u64 {
        self.samples.len().div_ceil(self.batch).max(1) as u64
    }

    fn batch(&mut self, epoch: u64, index: u64) -> Result<StepBatch> {
        let mut order: Vec<usize> = (0..self.samples.len()).collect();
        stream_rng(self.seed, "head/order", epoch).shuffle(&mut order);
        let start = (index as usize * self.batch).min(order.len());
        let members: Vec<&HeadSample> =
            order[start..(start + self.batch).min(order.len())].iter().map(|&i| &self.samples[i]).collect();
        feature_batch(&members, self.channels, self.snippets)
    }

    fn rng_streams(&self) -> BTreeMap<String, String> {
        BTreeMap::from([(
            "head/order".into(),
            "stream_rng(seed, \"head/order\", epoch): the epoch's video order".into(),
        )])
    }
}

/// Features [B, C, L] and targets of `members`.
pub fn feature_batch(members: &[&HeadSample], c: usize, l: usize) -> Result<StepBatch> {
    let b = members.len();
    let features: Vec<f32> = members.iter().flat_map(|s| s.features.iter().copied()).collect();
    let cat = |f: &dyn Fn(&GtadLabels) -> &Vec<f32>| -> Vec<f32> {
        members.iter().flat_map(|s| f(&s.labels).iter().copied()).collect()
    };
    let gtad = GtadTargets::new(b, l, cat(&|x| &x.iou_map), cat(&|x| &x.start), cat(&|x| &x.end))?;
    let snippet_classes = members.iter().flat_map(|s| s.snippet_classes.iter().copied()).collect();
    Ok(StepBatch {
        input: StepInput::Features(Tensor::from_vec(features, [b, c, l], &Device::cpu())?),
        targets: StepTargets::Tal(TalTargets { gtad, snippet_classes }),
        samples: b,
        snippets: l,
        fidelity: None,
    })
}

/// Runs the stage.
pub fn run(cfg: &TrainConfig, inputs: &StageInputs, observer: &mut dyn Observer) -> Result<HeadReport> {
    let features = inputs.features.as_deref().ok_or_else(|| Error::Config {
        flag: "--features".into(),
        msg: "the head stage needs snippet features (lofi extract)".into(),
    })?;
    let store = FeatureStore::open(features)?;
    let ann = load_annotations(inputs.data_dir()?)?;
    let (l, c) = (store.snippets(), store.feature_dim());
    let samples = training_samples(&store, &ann, "training")?;
    let spec = StepSpec {
        encoder: None,
        head: HeadSpec::Tal { preset: cfg.model.head.clone(), in_channels: c, classes: ann.classes.clone() },
        fidelity: Fidelity::new(l, store.index.fidelity.height, store.index.fidelity.width),
        batch: cfg.data.batch,
        snippets_per_call: cfg.model.snippets_per_call,
        recompute: crate::nn::Recompute::None,
        precision: cfg.model.precision,
        optim: cfg.optim.clone(),
    };
    spec.validate()?;
    let seeds = Seeds::new(cfg.seed);
    let model = spec.build_model(&inputs.device, &seeds)?;
    let Head::Tal(head) = &model.head else { return Err(Error::invalid("head stage", "the model has no TAL head")) };
    let (mean, std) = channel_stats(&samples, c, l);
    head.norm.set_stats(&mean, &std)?;
    let predicted_peak =
        inputs.memory_budget.map(|b| runner::check_budget(&spec, cfg.stage.name(), &inputs.device, b)).transpose()?;
    prepare_run_dir(&inputs.out, cfg, inputs.resume)?;
    let videos = samples.len();
    let mut source = VideoFeatureBatches { samples, batch: cfg.data.batch, seed: cfg.seed, channels: c, snippets: l };
    let opts = run_options(cfg, inputs, seeds, source.steps_per_epoch(), cfg.loss.snippet_class_weight, predicted_peak);
    let mut opt = spec.build_optimizer(&model)?;
    let run = runner::run(&spec, &model, &mut opt, &mut source, &opts, observer)?;
    model::save_head(&inputs.out.join(FINAL_FILE), head)?;
    let parameters = crate::train::presets::head_config(&cfg.model.head, c)?.param_count();
    let report = HeadReport { run, videos, snippets: l, feature_dim: c, parameters };
    write_summary(&inputs.out, &serde_json::to_value(&report).map_err(|e| Error::data("summary", e.to_string()))?)?;
    Ok(report)
}

/// `DATA/annotations.json`, segments clipped to the video.
pub fn load_annotations(data: &Path) -> Result<Annotations> {
    let path = data.join("annotations.json");
    if !path.is_file() {
        return Err(Error::data(format!("dataset {}", data.display()), "no annotations.json"));
    }
    Annotations::load(&path, SegmentPolicy::Clip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_covered_more_than_half_take_the_segment_class() {
        // L = 4 cells of 0.25: [0.1, 0.6] covers cell 0 by 0.6, cell 1 fully, cell 2 by 0.4.
        let got = snippet_classes(&[[0.1, 0.6]], &[3], 4);
        assert_eq!(got, vec![Some(3), Some(3), None, None]);
        // Two segments in one cell: the larger cover wins, and it must exceed half.
        let got = snippet_classes(&[[0.0, 0.1], [0.12, 0.25]], &[1, 2], 4);
        assert_eq!(got, vec![Some(2), None, None, None]);
        assert_eq!(snippet_classes(&[], &[], 3), vec![None, None, None]);
    }
}
