//! `lofi infer`: ActivityNet detections of a trained head on snippet features. Per video, the head
//! gives the boundary scores, the D×L map and per-snippet class logits; the video's class scores
//! are the softmax of the mean snippet logits (the head's own classifier, no oracle), and G-TAD's
//! post-processing follows (SPEC-faithful quirks in `post/`): proposals from boundary candidates,
//! Gaussian soft-NMS (σ 0.84, top 100), then the top-2 class fusion with score = proposal × class
//! score. Writes the result file and the class scores in the CUHK layout.

use std::path::{Path, PathBuf};

use crate::autograd::no_grad;
use crate::autograd::Var;
use crate::data::features::{FeatureStore, VideoFeatures};
use crate::nn::classifier::video_scores;
use crate::post::classifier::{top_k, VideoClassScores};
use crate::post::detections::ResultFile;
use crate::post::fusion::{fuse, suppress};
use crate::post::{generate_proposals, ProposalStyle, SoftNms};
use crate::tensor::{Device, Tensor};
use crate::train::model::{load_head, TalHead};
use crate::{Error, Result};

#[derive(Debug, Clone)]
pub struct InferOptions {
    pub head: PathBuf,
    pub features: PathBuf,
    pub out: PathBuf,
    /// Where the class scores go (default: beside `out`, `<stem>.classes.json`).
    pub class_scores: Option<PathBuf>,
    pub subset: String,
    pub nms: SoftNms,
    /// Classes fused per video (G-TAD: 2).
    pub top_classes: usize,
    /// Videos per head pass.
    pub batch: usize,
    pub device: Device,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct InferSummary {
    pub videos: usize,
    pub detections: usize,
    pub class_scores: PathBuf,
}

/// The default class-score file beside a result file: `det.json` → `det.classes.json`.
pub fn default_class_scores(out: &Path) -> PathBuf {
    let stem = out.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "detections".into());
    out.with_file_name(format!("{stem}.classes.json"))
}

pub fn infer(opts: &InferOptions) -> Result<InferSummary> {
    let head = load_head(&opts.head, &opts.device)?;
    let store = FeatureStore::open(&opts.features)?;
    if store.feature_dim() != head.in_channels {
        return Err(Error::data(
            format!("features {}", opts.features.display()),
            format!(
                "{}-wide features do not match the head {} ({} channels)",
                store.feature_dim(),
                opts.head.display(),
                head.in_channels
            ),
        ));
    }
    let videos = store.load_subset(&opts.subset)?;
    if videos.is_empty() {
        return Err(Error::data(
            format!("features {}", opts.features.display()),
            format!("no video of subset {}", opts.subset),
        ));
    }
    if opts.batch == 0 || opts.top_classes == 0 {
        return Err(Error::Config { flag: "infer".into(), msg: "batch and top classes must be positive".into() });
    }
    let mut results = ResultFile::new("lofi infer");
    let mut scores = Vec::with_capacity(videos.len());
    for chunk in videos.chunks(opts.batch) {
        for (video, out) in chunk.iter().zip(head_outputs(&head, chunk, store.snippets(), &opts.device)?) {
            let probs = video_scores(&out.snippet_logits)?;
            let top: Vec<(String, f64)> =
                top_k(&probs, opts.top_classes).into_iter().map(|(c, s)| (head.classes[c].clone(), s)).collect();
            let l = store.snippets();
            let props = generate_proposals(&out.start, &out.end, &out.map, l, ProposalStyle::Gtad)?;
            let dets = fuse(&suppress(&props.proposals, &opts.nms), &top, video.entry.duration, opts.nms.top_k);
            results.results.push((video.entry.id.clone(), dets));
            scores.push((video.entry.id.clone(), probs));
        }
    }
    let detections = results.results.iter().map(|(_, d)| d.len()).sum();
    results.write(&opts.out)?;
    let class_path = opts.class_scores.clone().unwrap_or_else(|| default_class_scores(&opts.out));
    VideoClassScores::new(head.classes.clone(), scores)?.write(&class_path)?;
    Ok(InferSummary { videos: videos.len(), detections, class_scores: class_path })
}

/// One video's head outputs on the host.
pub struct VideoOutput {
    pub start: Vec<f32>,
    pub end: Vec<f32>,
    /// (2, D, L).
    pub map: Vec<f32>,
    /// [L, K].
    pub snippet_logits: Tensor,
}

/// Runs the head on a batch of videos' features and splits the outputs per video.
pub fn head_outputs(head: &TalHead, videos: &[VideoFeatures], l: usize, device: &Device) -> Result<Vec<VideoOutput>> {
    let c = head.in_channels;
    let b = videos.len();
    let mut x = vec![0f32; b * c * l];
    for (i, v) in videos.iter().enumerate() {
        for s in 0..l {
            for ch in 0..c {
                x[(i * c + ch) * l + s] = v.values[s * c + ch];
            }
        }
    }
    let x = Tensor::from_vec(x, [b, c, l], device)?;
    let (map, start, end, logits) = no_grad(|| -> Result<_> {
        let out = head.forward(&Var::constant(x))?;
        Ok((
            out.gtad.confidence_map.tensor().to_vec::<f32>()?,
            out.gtad.start.tensor().to_vec::<f32>()?,
            out.gtad.end.tensor().to_vec::<f32>()?,
            out.snippet_logits.tensor().to_vec::<f32>()?,
        ))
    })?;
    let k = head.classes.len();
    let mut outs = Vec::with_capacity(b);
    for i in 0..b {
        let per_video: Vec<f32> =
            (0..l).flat_map(|s| (0..k).map(move |j| (s, j))).map(|(s, j)| logits[(i * k + j) * l + s]).collect();
        outs.push(VideoOutput {
            start: start[i * l..(i + 1) * l].to_vec(),
            end: end[i * l..(i + 1) * l].to_vec(),
            map: map[i * 2 * l * l..(i + 1) * 2 * l * l].to_vec(),
            snippet_logits: Tensor::from_vec(per_video, [l, k], &Device::cpu())?,
        });
    }
    Ok(outs)
}
