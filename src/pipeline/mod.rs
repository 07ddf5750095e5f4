//! `lofi pipeline`: the paper's whole procedure and its baselines, for each seed, then the report.
//!
//! Per seed (directory `OUT/seed-<s>/`), every job in its own directory:
//! - `data` — the synthetic benchmark of dataset seed 1000 + s (unless `--data` names a dataset);
//! - `acp` — classification pre-training (unless `--encoder` gives a pre-trained encoder);
//! - (a) `features/random` → `head/random`: a randomly initialised, frozen encoder;
//! - (b) `features/acp` → `head/acp`: the ACP encoder, frozen;
//! - (c) `acp-plus` → `features/acp-plus` → `head/acp-plus`;
//! - (d) `lofi-<c>` for c in s, t, st, c-short, c-long, each from the ACP encoder and `head/acp`,
//!   → `features/lofi-<c>` (re-extracted at full fidelity) → `head/lofi-<c>` (from scratch);
//! - (e) `e2e-full` → `features/e2e-full` → `head/e2e-full`;
//! - `eval/<method>` — detections on the validation split and their mAP.
//!
//! A job is skipped when its stamp (`stamp.rs`) shows it done with the same configuration and
//! inputs; an interrupted training job resumes from its checkpoints. Each job runs on a fresh
//! device (its own pool), so the peak it reports is its own. `report.rs` and `plots.rs` turn the
//! evaluations into `report.md`, `report.json` and PNG plots.

pub mod plots;
pub mod recipe;
pub mod report;
pub mod stamp;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::data::annotations::{Annotations, SegmentPolicy};
use crate::data::synth::{generate, SynthConfig};
use crate::eval::{default_thresholds, evaluate};
use crate::post::detections::ResultFile;
use crate::post::SoftNms;
use crate::tensor::{Device, DeviceKind};
use crate::train::config::{merge_tables, LofiConfig, Stage, TrainConfig};
use crate::train::extract::{extract, EncoderSource, ExtractOptions};
use crate::train::infer::{infer, InferOptions};
use crate::train::metrics::StepRecord;
use crate::train::observer::Observer;
use crate::train::stages::{self, StageInputs, FINAL_FILE};
use crate::{Error, Result};

pub use recipe::Recipe;
use stamp::Stamp;

/// The methods of the report, in table order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    Random,
    Acp,
    AcpPlus,
    LofiS,
    LofiT,
    LofiSt,
    LofiCShort,
    LofiCLong,
    E2eFull,
}

impl Method {
    pub const ALL: [Method; 9] = [
        Method::Random,
        Method::Acp,
        Method::AcpPlus,
        Method::LofiS,
        Method::LofiT,
        Method::LofiSt,
        Method::LofiCShort,
        Method::LofiCLong,
        Method::E2eFull,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Method::Random => "random",
            Method::Acp => "acp",
            Method::AcpPlus => "acp-plus",
            Method::LofiS => "lofi-s",
            Method::LofiT => "lofi-t",
            Method::LofiSt => "lofi-st",
            Method::LofiCShort => "lofi-c-short",
            Method::LofiCLong => "lofi-c-long",
            Method::E2eFull => "e2e-full",
        }
    }

    /// The LoFi configuration of a `lofi-*` method.
    pub fn lofi(self) -> Option<LofiConfig> {
        match self {
            Method::LofiS => Some(LofiConfig::S),
            Method::LofiT => Some(LofiConfig::T),
            Method::LofiSt => Some(LofiConfig::St),
            Method::LofiCShort => Some(LofiConfig::CShort),
            Method::LofiCLong => Some(LofiConfig::CLong),
            _ => None,
        }
    }
}

/// `[synth]` of a pipeline config: the size of the generated benchmark.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SynthSection {
    pub videos: usize,
    pub clips: usize,
}

impl Default for SynthSection {
    fn default() -> Self {
        let d = SynthConfig::default();
        SynthSection { videos: d.videos_per_split, clips: d.clips }
    }
}

/// `[extract]`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExtractSection {
    pub batch: usize,
    pub snippets_per_call: usize,
}

impl Default for ExtractSection {
    fn default() -> Self {
        ExtractSection { batch: 8, snippets_per_call: 256 }
    }
}

/// The pipeline's own configuration file (`--config`): which methods, the benchmark's size, and
/// per-stage overlays `[stage.<acp|head|lofi|e2e-full|acp-plus>]` over the recipe.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineConfig {
    /// Methods to run (default: all nine).
    pub methods: Vec<Method>,
    pub synth: SynthSection,
    pub extract: ExtractSection,
    pub stage: BTreeMap<String, toml::Table>,
}

impl PipelineConfig {
    pub fn load(path: &Path) -> Result<PipelineConfig> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let table: toml::Table = toml::from_str(&text).map_err(|e| Error::Parse {
            path: path.to_path_buf(),
            location: "TOML syntax".into(),
            msg: e.message().to_string(),
        })?;
        let cfg: PipelineConfig =
            serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| Error::Parse {
                path: path.to_path_buf(),
                location: format!("key `{}`", e.path()),
                msg: e.into_inner().to_string(),
            })?;
        if let Some(bad) = cfg.stage.keys().find(|k| Stage::parse(k).is_err()) {
            return Err(Error::Parse {
                path: path.to_path_buf(),
                location: format!("stage.{bad}"),
                msg: format!("not a stage (known: {})", Stage::ALL.map(Stage::name).join(", ")),
            });
        }
        Ok(cfg)
    }

    fn methods(&self) -> Vec<Method> {
        if self.methods.is_empty() {
            Method::ALL.to_vec()
        } else {
            let mut m = self.methods.clone();
            m.sort();
            m.dedup();
            m
        }
    }
}

#[derive(Debug, Clone)]
pub struct PipelineOptions {
    pub out: PathBuf,
    /// Values of `--seeds`; the synthetic dataset seed is 1000 + seed.
    pub seeds: Vec<u64>,
    /// A dataset in lofi's layout instead of the synthetic benchmark.
    pub data: Option<PathBuf>,
    /// The ACP clip set (default `DATA/clips`).
    pub clips: Option<PathBuf>,
    /// A pre-trained encoder that replaces the ACP stage.
    pub encoder: Option<PathBuf>,
    pub recipe: Recipe,
    pub config: PipelineConfig,
    pub device: DeviceKind,
    pub memory_budget: Option<usize>,
    /// The command as the user typed it, for the report.
    pub command: String,
}

/// One job's cost, for the report.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct JobCost {
    pub name: String,
    pub wall_s: f64,
    pub peak_bytes: usize,
}

/// One method on one seed.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Row {
    pub method: String,
    pub seed: u64,
    /// mAP at tIoU 0.5:0.05:0.95, fractions in [0, 1].
    #[serde(rename = "mAP")]
    pub map: Vec<f64>,
    #[serde(rename = "average_mAP")]
    pub average_map: f64,
    /// The jobs the method's number depends on, in order.
    pub stages: Vec<JobCost>,
}

/// Everything `report.rs` needs: rows, and the training curves of each seed.
pub struct Outcome {
    pub rows: Vec<Row>,
    /// (seed, job name, records) of every training job.
    pub curves: Vec<(u64, String, Vec<StepRecord>)>,
}

/// Runs the pipeline and writes the report.
pub fn run(opts: &PipelineOptions, observer: &mut dyn Observer) -> Result<Outcome> {
    if opts.seeds.is_empty() {
        return Err(Error::Config { flag: "--seeds".into(), msg: "no seed given".into() });
    }
    if let Some(data) = &opts.data {
        check_validation_split(data)?;
    }
    std::fs::create_dir_all(&opts.out).map_err(|e| Error::io(&opts.out, e))?;
    let mut rows = Vec::new();
    let mut curves = Vec::new();
    for &seed in &opts.seeds {
        let mut s = SeedRun::new(opts, seed, observer);
        rows.extend(s.run_all()?);
        curves.extend(s.curves()?);
    }
    let outcome = Outcome { rows, curves };
    report::write(&opts.out, opts, &outcome)?;
    plots::write(&opts.out.join("plots"), &outcome)?;
    Ok(outcome)
}

fn check_validation_split(data: &Path) -> Result<()> {
    let ann = stages::head::load_annotations(data)?;
    if ann.subset("validation").next().is_none() {
        return Err(Error::Config {
            flag: "--data".into(),
            msg: format!("{} has no validation split to evaluate on", data.join("annotations.json").display()),
        });
    }
    Ok(())
}

/// The jobs of one seed.
struct SeedRun<'a> {
    opts: &'a PipelineOptions,
    seed: u64,
    dir: PathBuf,
    observer: &'a mut dyn Observer,
    /// Job name → its stamp, for the jobs done so far.
    done: BTreeMap<String, Stamp>,
}

/// A job that is not a training stage: it gets the job directory and a fresh device.
type JobFn<'w> = Box<dyn FnMut(&Path, &Device) -> Result<()> + 'w>;

/// How a job is run.
enum Work<'w> {
    /// A training stage with its resolved configuration and inputs (the run directory, device and
    /// resume flag are filled in by `job`: resumed when the directory holds the same configuration).
    Train {
        cfg: Box<TrainConfig>,
        inputs: Box<StageInputs>,
    },
    Other(JobFn<'w>),
}

/// Stage inputs with everything but the paths left empty (`job` fills in the rest).
fn stage_inputs(
    data: &Path,
    clips: Option<PathBuf>,
    features: Option<PathBuf>,
    encoder: Option<PathBuf>,
    head: Option<PathBuf>,
) -> Box<StageInputs> {
    Box::new(StageInputs {
        data: Some(data.to_path_buf()),
        out: PathBuf::new(),
        clips,
        features,
        encoder,
        head,
        resume: false,
        device: Device::cpu(),
        memory_budget: None,
    })
}

impl<'a> SeedRun<'a> {
    fn new(opts: &'a PipelineOptions, seed: u64, observer: &'a mut dyn Observer) -> SeedRun<'a> {
        SeedRun { opts, seed, dir: opts.out.join(format!("seed-{seed}")), observer, done: BTreeMap::new() }
    }

    fn fresh_device(&self) -> Result<Device> {
        let budget = self.opts.memory_budget;
        Ok(match self.opts.device {
            DeviceKind::Cpu => Device::cpu_with_budget(budget.unwrap_or(usize::MAX)),
            DeviceKind::Cuda(n) => Device::cuda(n, budget)?,
            DeviceKind::Meta => return Err(Error::Config { flag: "--device".into(), msg: "meta runs nothing".into() }),
        })
    }

    /// The resolved configuration of `stage` for this seed: defaults, the recipe, the pipeline
    /// config's overlay, the seed.
    fn train_config(&self, stage: Stage, lofi: Option<LofiConfig>) -> Result<TrainConfig> {
        let mut table = self.opts.recipe.overlay(stage)?;
        if let Some(o) = self.opts.config.stage.get(stage.name()) {
            merge_tables(&mut table, o.clone());
        }
        let mut cfg = TrainConfig::from_table(stage, table, Path::new("pipeline config"))?;
        cfg.seed = self.seed;
        if let Some(c) = lofi {
            cfg.lofi.config = c;
        }
        cfg.validate()?;
        Ok(cfg)
    }

    /// Runs job `name` unless its stamp shows it done with the same key.
    fn job(&mut self, name: &str, description: String, inputs: &[&str], work: Work) -> Result<()> {
        let input_keys: Vec<String> = inputs
            .iter()
            .map(|i| {
                self.done
                    .get(*i)
                    .map(|s| s.key.clone())
                    .ok_or_else(|| Error::invalid("pipeline", format!("{name} before {i}")))
            })
            .collect::<Result<_>>()?;
        let refs: Vec<&str> = input_keys.iter().map(String::as_str).collect();
        let key = stamp::key(&description, &refs);
        let dir = self.dir.join(name);
        if let Some(s) = stamp::read(&dir).filter(|s| s.key == key) {
            self.observer.note(&format!("seed {}: {name}: done, skipped", self.seed));
            self.done.insert(name.to_string(), s);
            return Ok(());
        }
        self.observer.note(&format!("seed {}: {name}", self.seed));
        // A stale stamp must not outlive the work it described (and extract keeps only its own
        // files in a feature store).
        let stale = dir.join(stamp::STAMP_FILE);
        if stale.exists() {
            std::fs::remove_file(&stale).map_err(|e| Error::io(&stale, e))?;
        }
        let device = self.fresh_device()?;
        let started = Instant::now();
        match work {
            Work::Train { cfg, inputs } => {
                let same = std::fs::read_to_string(dir.join(stages::CONFIG_FILE)).ok() == Some(cfg.to_toml()?);
                if dir.exists() && !same {
                    std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
                }
                let stage_inputs = StageInputs {
                    out: dir.clone(),
                    device: device.clone(),
                    resume: same,
                    memory_budget: self.opts.memory_budget,
                    ..*inputs
                };
                let mut prefixed =
                    Prefixed { inner: &mut *self.observer, prefix: format!("seed {} {name}", self.seed) };
                match cfg.stage {
                    Stage::Acp => stages::acp::run(&cfg, &stage_inputs, &mut prefixed).map(|_| ()),
                    Stage::Head => stages::head::run(&cfg, &stage_inputs, &mut prefixed).map(|_| ()),
                    Stage::Lofi | Stage::E2eFull => stages::e2e::run(&cfg, &stage_inputs, &mut prefixed).map(|_| ()),
                    Stage::AcpPlus => stages::acp_plus::run(&cfg, &stage_inputs, &mut prefixed).map(|_| ()),
                }
                .map_err(|e| Error::data(format!("seed {} job {name}", self.seed), e.to_string()))?;
            }
            Work::Other(mut f) => {
                std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
                f(&dir, &device).map_err(|e| Error::data(format!("seed {} job {name}", self.seed), e.to_string()))?;
            }
        }
        let s =
            // The job's own high-water mark: each training step resets the step peak, so the pool's
            // lifetime peak, not its last step's, is the job's.
            Stamp {
                job: name.into(),
                key,
                wall_s: started.elapsed().as_secs_f64(),
                peak_bytes: device.pool().lifetime_peak(),
            };
        stamp::write(&dir, &s)?;
        self.done.insert(name.to_string(), s);
        Ok(())
    }

    fn data_dir(&self) -> PathBuf {
        self.opts.data.clone().unwrap_or_else(|| self.dir.join("data"))
    }

    fn run_all(&mut self) -> Result<Vec<Row>> {
        let methods = self.opts.config.methods();
        let seed = self.seed;
        // The dataset.
        match &self.opts.data {
            Some(d) => {
                let desc = format!("dataset {}", d.display());
                self.done.insert(
                    "data".into(),
                    Stamp { job: "data".into(), key: stamp::key(&desc, &[]), wall_s: 0.0, peak_bytes: 0 },
                );
            }
            None => {
                let synth = SynthConfig {
                    seed,
                    videos_per_split: self.opts.config.synth.videos,
                    clips: self.opts.config.synth.clips,
                    ..SynthConfig::default()
                };
                let desc = format!(
                    "synth {}",
                    serde_json::to_string(&synth).map_err(|e| Error::data("synth", e.to_string()))?
                );
                self.job(
                    "data",
                    desc,
                    &[],
                    Work::Other(Box::new(move |dir, _| {
                        generate(dir, &synth, &indicatif::ProgressBar::hidden()).map(|_| ())
                    })),
                )?;
            }
        }
        let data = self.data_dir();
        let needs_acp = methods.iter().any(|m| *m != Method::Random);
        // ACP, or the given encoder in its place.
        let acp_weights = if let Some(file) = &self.opts.encoder {
            let bytes = std::fs::read(file).map_err(|e| Error::io(file, e))?;
            let mut h = crc32fast::Hasher::new();
            h.update(&bytes);
            self.done.insert(
                "acp".into(),
                Stamp { job: "acp".into(), key: format!("file {:08x}", h.finalize()), wall_s: 0.0, peak_bytes: 0 },
            );
            file.clone()
        } else {
            let acp_dir = self.dir.join("acp");
            if needs_acp {
                let cfg = self.train_config(Stage::Acp, None)?;
                let desc = format!("train acp\n{}", cfg.to_toml()?);
                self.job(
                    "acp",
                    desc,
                    &["data"],
                    Work::Train {
                        cfg: Box::new(cfg),
                        inputs: stage_inputs(&data, self.opts.clips.clone(), None, None, None),
                    },
                )?;
            }
            acp_dir.join(FINAL_FILE)
        };
        let random_preset = self.train_config(Stage::Acp, None)?.model.encoder;
        let mut rows = Vec::new();
        for method in methods {
            let encoder_job = match method {
                Method::Random => None,
                Method::Acp => Some("acp".to_string()),
                Method::AcpPlus => {
                    let cfg = self.train_config(Stage::AcpPlus, None)?;
                    let desc = format!("train acp-plus\n{}", cfg.to_toml()?);
                    self.job(
                        "acp-plus",
                        desc,
                        &["data", "acp"],
                        Work::Train {
                            cfg: Box::new(cfg),
                            inputs: stage_inputs(&data, self.opts.clips.clone(), None, Some(acp_weights.clone()), None),
                        },
                    )?;
                    Some("acp-plus".to_string())
                }
                Method::E2eFull
                | Method::LofiS
                | Method::LofiT
                | Method::LofiSt
                | Method::LofiCShort
                | Method::LofiCLong => {
                    self.features_and_head("acp", &acp_weights, &data, &random_preset)?;
                    let (stage, lofi) = match method.lofi() {
                        Some(c) => (Stage::Lofi, Some(c)),
                        None => (Stage::E2eFull, None),
                    };
                    let cfg = self.train_config(stage, lofi)?;
                    let name = method.name().to_string();
                    let desc = format!("train {name}\n{}", cfg.to_toml()?);
                    self.job(
                        &name,
                        desc,
                        &["data", "acp", "head/acp"],
                        Work::Train {
                            cfg: Box::new(cfg),
                            inputs: stage_inputs(
                                &data,
                                None,
                                None,
                                Some(acp_weights.clone()),
                                Some(self.dir.join("head/acp").join(FINAL_FILE)),
                            ),
                        },
                    )?;
                    Some(name)
                }
            };
            let weights = match encoder_job.as_deref() {
                Some("acp") => acp_weights.clone(),
                Some(job) => self.dir.join(job).join(FINAL_FILE),
                None => PathBuf::new(),
            };
            self.features_and_head_for(method.name(), encoder_job.as_deref(), &weights, &data, &random_preset)?;
            rows.push(self.evaluate(method, encoder_job.as_deref(), &data)?);
        }
        Ok(rows)
    }

    /// `features/<tag>` and `head/<tag>` of the encoder `encoder_job` wrote.
    fn features_and_head(&mut self, tag: &str, weights: &Path, data: &Path, random_preset: &str) -> Result<()> {
        self.features_and_head_for(tag, Some(tag), weights, data, random_preset)
    }

    fn features_and_head_for(
        &mut self,
        tag: &str,
        encoder_job: Option<&str>,
        weights: &Path,
        data: &Path,
        random_preset: &str,
    ) -> Result<()> {
        let features = format!("features/{tag}");
        let ex = self.opts.config.extract.clone();
        let source = match encoder_job {
            Some(_) => EncoderSource::File { path: weights.to_path_buf(), preset: None },
            None => EncoderSource::Random { preset: random_preset.to_string(), seed: self.seed },
        };
        let desc = format!("extract {source:?} {ex:?}");
        let inputs: Vec<&str> = match encoder_job {
            Some(j) => vec!["data", j],
            None => vec!["data"],
        };
        let data_owned = data.to_path_buf();
        self.job(
            &features,
            desc,
            &inputs,
            Work::Other(Box::new(move |dir, device| {
                let opts = ExtractOptions {
                    encoder: source.clone(),
                    data: data_owned.clone(),
                    out: dir.to_path_buf(),
                    fidelity: None,
                    batch: ex.batch,
                    snippets_per_call: ex.snippets_per_call,
                    loader_threads: 0,
                    device: device.clone(),
                };
                extract(&opts, &mut |_, _| {}).map(|_| ())
            })),
        )?;
        let head = format!("head/{tag}");
        let cfg = self.train_config(Stage::Head, None)?;
        let desc = format!("train head\n{}", cfg.to_toml()?);
        self.job(
            &head,
            desc,
            &["data", &features],
            Work::Train {
                cfg: Box::new(cfg),
                inputs: stage_inputs(data, None, Some(self.dir.join(&features)), None, None),
            },
        )
    }

    /// `eval/<method>`: detections on the validation split and their mAP.
    fn evaluate(&mut self, method: Method, encoder_job: Option<&str>, data: &Path) -> Result<Row> {
        let tag = method.name();
        let (features, head) = (format!("features/{tag}"), format!("head/{tag}"));
        let eval = format!("eval/{tag}");
        let (fdir, hfile, gt) =
            (self.dir.join(&features), self.dir.join(&head).join(FINAL_FILE), data.join("annotations.json"));
        self.job(
            &eval,
            "infer validation, soft-NMS 0.84, top-2 classes; ActivityNet mAP 0.5:0.05:0.95".into(),
            &[&features, &head],
            Work::Other(Box::new(move |dir, device| {
                let det = dir.join("detections.json");
                infer(&InferOptions {
                    head: hfile.clone(),
                    features: fdir.clone(),
                    out: det.clone(),
                    class_scores: None,
                    subset: "validation".into(),
                    nms: SoftNms::default(),
                    top_classes: 2,
                    batch: 16,
                    device: device.clone(),
                })?;
                let gt = Annotations::load(&gt, SegmentPolicy::Keep)?;
                let results = ResultFile::load(&det)?;
                let ev = evaluate(&gt, "validation", &results.results, &default_thresholds())?;
                let summary = serde_json::json!({"thresholds": ev.thresholds, "mAP": ev.map, "average_mAP": ev.average_map, "num_gt": ev.num_gt, "num_pred": ev.num_pred});
                crate::data::atomic::write_json(&dir.join("eval.json"), &summary)
            })),
        )?;
        let text =
            std::fs::read(self.dir.join(&eval).join("eval.json")).map_err(|e| Error::io(self.dir.join(&eval), e))?;
        let v: serde_json::Value =
            serde_json::from_slice(&text).map_err(|e| Error::data(eval.clone(), e.to_string()))?;
        let map: Vec<f64> =
            v["mAP"].as_array().map(|a| a.iter().filter_map(|x| x.as_f64()).collect()).unwrap_or_default();
        let mut chain: Vec<String> = Vec::new();
        match (method, encoder_job) {
            (Method::Random, _) => {}
            (m, Some(j)) if m.lofi().is_some() || m == Method::E2eFull => {
                chain.extend(["acp".into(), "features/acp".into(), "head/acp".into(), j.to_string()]);
            }
            (Method::AcpPlus, _) => chain.extend(["acp".into(), "acp-plus".into()]),
            (_, Some(j)) => chain.push(j.to_string()),
            _ => {}
        }
        chain.extend([features, head, eval]);
        if self.opts.data.is_none() {
            chain.insert(0, "data".into());
        }
        chain.dedup();
        let stages = chain
            .iter()
            .filter_map(|n| {
                self.done.get(n).map(|s| JobCost { name: n.clone(), wall_s: s.wall_s, peak_bytes: s.peak_bytes })
            })
            .collect();
        Ok(Row {
            method: tag.into(),
            seed: self.seed,
            average_map: v["average_mAP"].as_f64().unwrap_or(f64::NAN),
            map,
            stages,
        })
    }

    /// The training curves of this seed's training jobs.
    fn curves(&self) -> Result<Vec<(u64, String, Vec<StepRecord>)>> {
        let mut out = Vec::new();
        for name in self.done.keys() {
            let dir = self.dir.join(name);
            if dir.join(crate::train::metrics::METRICS_FILE).is_file() {
                out.push((self.seed, name.clone(), crate::train::metrics::read_steps(&dir)?));
            }
        }
        Ok(out)
    }
}

/// Passes everything through, with the seed and job in front of the stage name.
struct Prefixed<'o> {
    inner: &'o mut dyn Observer,
    prefix: String,
}

impl Observer for Prefixed<'_> {
    fn start(&mut self, _stage: &str, first: u64, total: u64) {
        self.inner.start(&self.prefix, first, total);
    }
    fn step(&mut self, record: &StepRecord, total: u64) {
        let mut r = record.clone();
        r.stage = self.prefix.clone();
        self.inner.step(&r, total);
    }
    fn note(&mut self, message: &str) {
        self.inner.note(&format!("{}: {message}", self.prefix));
    }
    fn finish(&mut self) {
        self.inner.finish();
    }
}
