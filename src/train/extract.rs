//! `lofi extract`: snippet features of every annotated video with a frozen encoder — BN with its
//! running statistics, no gradients — at a fidelity (the encoder preset's full fidelity by
//! default), into the feature store (`data::features`: one `.npy` [L, C] per video and
//! `index.json`). The encoder comes from a weight file, or is randomly initialised from a seed
//! (the "no video pre-training" baseline).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::autograd::no_grad;
use crate::data::features::{self, FeatureIndex, FEATURES_FORMAT, INDEX_FILE};
use crate::data::loader::{Dataset, Loader, LoaderOptions};
use crate::data::sampler::Mode;
use crate::fidelity::Fidelity;
use crate::nn::{ResNetTsm, ResNetTsmConfig};
use crate::ops::norm::BnMode;
use crate::rng::Seeds;
use crate::tensor::{DType, Device, Tensor};
use crate::train::model::{builder, load_encoder};
use crate::train::presets::{self, fidelity_name};
use crate::train::stages::head::load_annotations;
use crate::{Error, Result};

/// Where the encoder comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum EncoderSource {
    /// A weight file; `preset` names the architecture when the file does not.
    File { path: PathBuf, preset: Option<String> },
    /// Random initialisation of `preset` from `seed`.
    Random { preset: String, seed: u64 },
}

#[derive(Debug, Clone)]
pub struct ExtractOptions {
    pub encoder: EncoderSource,
    pub data: PathBuf,
    pub out: PathBuf,
    pub fidelity: Option<Fidelity>,
    /// Videos per encoder pass.
    pub batch: usize,
    pub snippets_per_call: usize,
    pub loader_threads: usize,
    pub device: Device,
}

/// The encoder of `source`, with BN in eval mode, and its preset.
pub fn open_encoder(source: &EncoderSource, device: &Device) -> Result<(ResNetTsm, String)> {
    let (mut encoder, preset) = match source {
        EncoderSource::File { path, preset } => load_encoder(path, device, preset.as_deref())?,
        EncoderSource::Random { preset, seed } => {
            let cfg: ResNetTsmConfig = presets::encoder_config(preset)?;
            (ResNetTsm::new(&builder(device, &Seeds::new(*seed)), &cfg)?, preset.clone())
        }
    };
    encoder.set_bn_mode(BnMode::Eval);
    Ok((encoder, preset))
}

/// Extracts every video of `DATA/annotations.json`; calls `progress(done, total)` per batch.
pub fn extract(opts: &ExtractOptions, progress: &mut dyn FnMut(usize, usize)) -> Result<FeatureIndex> {
    let (encoder, preset) = open_encoder(&opts.encoder, &opts.device)?;
    let fidelity = opts.fidelity.unwrap_or_else(|| presets::full_fidelity(&preset));
    let min = presets::min_frame_side(encoder.config());
    if fidelity.height < min || fidelity.width < min {
        return Err(Error::Config {
            flag: "--fidelity".into(),
            msg: format!("{}: the {preset} encoder needs frames of at least {min}×{min}", fidelity_name(&fidelity)),
        });
    }
    if opts.batch == 0 || opts.snippets_per_call == 0 {
        return Err(Error::Config {
            flag: "extract".into(),
            msg: "batch and snippets per call must be positive".into(),
        });
    }
    let ann = load_annotations(&opts.data)?;
    if ann.videos.is_empty() {
        return Err(Error::data(format!("dataset {}", opts.data.display()), "annotations.json lists no video"));
    }
    prepare_out(&opts.out)?;
    let sampler = presets::sampler(&preset, fidelity);
    let dataset = Arc::new(Dataset::open(&opts.data.join("frames"), ann.videos.clone(), false)?);
    let loader = Loader::start(
        Arc::clone(&dataset),
        LoaderOptions {
            sampler,
            mode: Mode::Eval,
            batch_size: opts.batch,
            shuffle: false,
            drop_last: false,
            seed: 0,
            epoch: 0,
            threads: opts.loader_threads,
            prefetch: 2,
            skip_bad_videos: false,
        },
    )?;
    let c = encoder.config().feature_dim();
    let l = fidelity.snippets;
    let total = dataset.len();
    let mut entries = Vec::with_capacity(total);
    for batch in loader {
        let batch = batch?;
        let b = batch.videos.len();
        let frames = Tensor::from_vec(
            batch.frames,
            [b * sampler.frames_per_video(), fidelity.height, fidelity.width, 3],
            &Device::cpu(),
        )?;
        let values = no_grad(|| -> Result<Vec<f32>> {
            let x = encoder.prepare_frames(&frames.to_device(&opts.device)?, DType::F32)?;
            encoder.forward_chunked(&x, opts.snippets_per_call, crate::nn::Recompute::None)?.tensor().to_vec::<f32>()
        })?;
        for (i, v) in batch.videos.iter().enumerate() {
            let subset = &dataset.videos()[v.index].subset;
            let slice = &values[i * l * c..(i + 1) * l * c];
            entries.push(features::write_video(&opts.out, &v.id, subset, v.duration, l, c, slice)?);
        }
        progress(entries.len(), total);
    }
    let described = match &opts.encoder {
        EncoderSource::File { path, .. } => BTreeMap::from([("weights".to_string(), path.display().to_string())]),
        EncoderSource::Random { seed, .. } => {
            BTreeMap::from([("weights".to_string(), "random".to_string()), ("seed".to_string(), seed.to_string())])
        }
    };
    let mut encoder_desc = described;
    encoder_desc.insert("preset".into(), preset);
    let index = FeatureIndex {
        format: FEATURES_FORMAT.into(),
        fidelity,
        feature_dim: c,
        encoder: encoder_desc,
        videos: entries,
    };
    features::write_index(&opts.out, &index)?;
    Ok(index)
}

/// Creates `out`, refusing a non-empty directory that is not a feature store (nothing of the
/// user's is overwritten). An earlier store there loses its index first, so an interrupted
/// re-extraction leaves an incomplete store (no index), never old and new arrays under one index.
fn prepare_out(out: &Path) -> Result<()> {
    let index = out.join(INDEX_FILE);
    if out.is_dir() {
        for entry in std::fs::read_dir(out).map_err(|e| Error::io(out, e))? {
            let name = entry.map_err(|e| Error::io(out, e))?.file_name().to_string_lossy().into_owned();
            let ours = name == INDEX_FILE || name.ends_with(".npy") || name.starts_with(".tmp-");
            if !ours {
                return Err(Error::Config {
                    flag: "--out".into(),
                    msg: format!(
                        "{} holds {name}, which is not part of a feature store: choose another directory",
                        out.display()
                    ),
                });
            }
        }
        if index.is_file() {
            std::fs::remove_file(&index).map_err(|e| Error::io(&index, e))?;
        }
    }
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))
}
