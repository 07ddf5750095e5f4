//! `StepSpec`: the one value that describes a training step — encoder preset, head, fidelity,
//! samples per step, snippets per encoder call, recompute, precision, optimizer — from which a
//! stage builds its model and optimizer, and from which the memory dry run builds the same model
//! on the Meta device and runs the same `train_step` on a batch of the same shapes. The dry run's
//! pool peak is the prediction: there is no second, hand-written memory model.

use crate::fidelity::Fidelity;
use crate::loss::GtadTargets;
use crate::nn::{Classifier, Recompute, ResNetTsm};
use crate::rng::Seeds;
use crate::tensor::{DType, Device, Tensor};
use crate::train::model::{builder, Head, Model, TalHead, TalTargets};
use crate::train::optimizer::{OptimConfig, Optimizer};
use crate::train::presets::{self, fidelity_name};
use crate::train::step::{train_step, StepBatch, StepContext, StepInput, StepTargets};
use crate::{Error, Result};

/// Storage and arithmetic precision of a step.
///
/// `Bf16` is mixed precision done the way it stays accurate: parameters (the f32 master copy),
/// optimizer state and BN statistics stay f32; the encoder's activations and GEMM inputs are bf16
/// (each GEMM-fed weight copied to bf16 once per step, `nn::precision`), every product and
/// reduction accumulates in f32, and weight gradients come back and accumulate in f32. The head
/// runs in f32 on the encoder's features (cast up): its graph and alignment ops are
/// precision-sensitive and it holds a small share of the memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    Fp32,
    Bf16,
}

impl Precision {
    /// The dtype of the encoder's activations.
    pub fn activation_dtype(self) -> DType {
        match self {
            Precision::Fp32 => DType::F32,
            Precision::Bf16 => DType::BF16,
        }
    }
    /// `fp32` or `bf16` (a flag's value), or a config error naming `flag`.
    pub fn parse(text: &str, flag: &str) -> Result<Precision> {
        match text {
            "fp32" => Ok(Precision::Fp32),
            "bf16" => Ok(Precision::Bf16),
            other => {
                Err(Error::Config { flag: flag.into(), msg: format!("{other:?} is not a precision (fp32, bf16)") })
            }
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Precision::Fp32 => "fp32",
            Precision::Bf16 => "bf16",
        }
    }
}

/// What a dry run of a step found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct DryRun {
    /// The pool's high-water mark over two steps.
    pub peak_bytes: usize,
    /// Of the second (steady-state) step: GEMM FLOPs (and the part with bf16 inputs), bytes
    /// allocated (and the part in bf16/f16 tensors), allocations.
    pub gemm_flops: u64,
    pub reduced_gemm_flops: u64,
    pub allocated_bytes: u64,
    pub reduced_allocated_bytes: u64,
    pub allocations: u64,
    /// Parameter elements the optimizer updated in place.
    pub updated_params: u64,
    /// Bytes of the products' operands and results.
    pub gemm_operand_bytes: u64,
    /// Allocations of bf16/f16 tensors (of `allocations`).
    pub reduced_allocations: u64,
}

/// The head a step trains.
#[derive(Debug, Clone, PartialEq)]
pub enum HeadSpec {
    /// ACP: a linear classifier over `classes` on pooled snippet features.
    Classifier { classes: Vec<String> },
    /// The TAL head of `preset` on `in_channels`-wide features.
    Tal { preset: String, in_channels: usize, classes: Vec<String> },
}

#[derive(Debug, Clone, PartialEq)]
pub struct StepSpec {
    /// Encoder preset; `None` trains the head on precomputed features.
    pub encoder: Option<String>,
    pub head: HeadSpec,
    /// Snippets per sample and the frame size the encoder sees (for features: L only).
    pub fidelity: Fidelity,
    /// Samples (clips or videos) per optimizer step.
    pub batch: usize,
    /// Snippets per encoder call (a chunk); the encoder's train-mode BN normalises per call.
    pub snippets_per_call: usize,
    /// Which activations of an encoder call are rebuilt in backward instead of kept.
    pub recompute: Recompute,
    pub precision: Precision,
    pub optim: OptimConfig,
}

impl StepSpec {
    /// Checks what the model and sampler cannot take, naming the fidelity.
    pub fn validate(&self) -> Result<()> {
        if self.batch == 0 || self.snippets_per_call == 0 || self.fidelity.snippets == 0 {
            return Err(Error::Config {
                flag: "step".into(),
                msg: format!(
                    "batch {}, snippets per call {} and snippets {} must be positive",
                    self.batch, self.snippets_per_call, self.fidelity.snippets
                ),
            });
        }
        if let Some(name) = &self.encoder {
            let cfg = presets::encoder_config(name)?;
            let min = presets::min_frame_side(&cfg);
            let f = &self.fidelity;
            if f.height < min || f.width < min {
                return Err(Error::Config {
                    flag: "fidelity".into(),
                    msg: format!("{}: the {name} encoder needs frames of at least {min}×{min}", fidelity_name(f)),
                });
            }
        }
        if let HeadSpec::Tal { in_channels, preset, .. } = &self.head {
            presets::head_config(preset, *in_channels)?;
            if self.fidelity.snippets < 3 {
                return Err(Error::Config {
                    flag: "fidelity".into(),
                    msg: format!("{} snippets: G-TAD's graphs need at least k = 3", self.fidelity.snippets),
                });
            }
        }
        self.optim.validate()
    }

    /// Frames per sample through the encoder (0 without one).
    pub fn frames_per_sample(&self) -> Result<usize> {
        match &self.encoder {
            Some(name) => Ok(self.fidelity.snippets * presets::encoder_config(name)?.frames),
            None => Ok(0),
        }
    }

    /// A freshly initialised model on `device` (parameters drawn from `seeds`).
    pub fn build_model(&self, device: &Device, seeds: &Seeds) -> Result<Model> {
        let b = builder(device, seeds);
        let encoder = self.encoder.as_ref().map(|n| ResNetTsm::new(&b, &presets::encoder_config(n)?)).transpose()?;
        let head = match &self.head {
            HeadSpec::Classifier { classes } => {
                let dim = match &encoder {
                    Some(e) => e.config().feature_dim(),
                    None => return Err(Error::invalid("step spec", "a classifier needs an encoder")),
                };
                Head::Classifier(Classifier::new(&b.pp("fc"), dim, classes.len())?)
            }
            HeadSpec::Tal { preset, in_channels, classes } => {
                Head::Tal(Box::new(TalHead::new(&b, preset, *in_channels, classes.clone())?))
            }
        };
        Ok(Model { encoder, encoder_preset: self.encoder.clone(), head })
    }

    /// The optimizer over `model`'s encoder and head groups.
    pub fn build_optimizer(&self, model: &Model) -> Result<Optimizer> {
        Optimizer::new(&self.optim, vec![("encoder", model.encoder_params()), ("head", model.head_params())])
    }

    /// A batch of this step's shapes whose bytes live on `data_device` (zeros; on Meta nothing).
    /// Every snippet counts as covered, the most the snippet-class term can gather.
    pub fn placeholder_batch(&self, data_device: &Device) -> Result<StepBatch> {
        let (b, l) = (self.batch, self.fidelity.snippets);
        let input = match &self.encoder {
            Some(_) => {
                let f = &self.fidelity;
                StepInput::Frames(Tensor::zeros(
                    [b * self.frames_per_sample()?, f.height, f.width, 3],
                    DType::U8,
                    data_device,
                )?)
            }
            None => match &self.head {
                HeadSpec::Tal { in_channels, .. } => {
                    StepInput::Features(Tensor::zeros([b, *in_channels, l], DType::F32, data_device)?)
                }
                HeadSpec::Classifier { .. } => {
                    return Err(Error::invalid("step spec", "a classifier needs an encoder"))
                }
            },
        };
        let targets = match &self.head {
            HeadSpec::Classifier { .. } => StepTargets::Classes(vec![0; b]),
            HeadSpec::Tal { .. } => StepTargets::Tal(TalTargets {
                gtad: GtadTargets::new(b, l, vec![0.0; b * l * l], vec![0.0; b * l], vec![0.0; b * l])?,
                snippet_classes: vec![Some(0); b * l],
            }),
        };
        let snippets = if matches!(self.head, HeadSpec::Classifier { .. }) { 1 } else { l };
        let fidelity = self.encoder.as_ref().map(|_| self.fidelity);
        Ok(StepBatch { input, targets, samples: b, snippets, fidelity })
    }

    /// The pool peak of two steps of this spec on the Meta device (the second step is the steady
    /// state: optimizer state exists from its start). No arithmetic runs.
    pub fn dry_run_peak(&self) -> Result<usize> {
        Ok(self.dry_run()?.peak_bytes)
    }

    /// Two steps on the Meta device: the peak of both, and what the second (steady-state) step
    /// issued — its GEMM FLOPs, the bytes and number of its allocations (`train::cost`).
    pub fn dry_run(&self) -> Result<DryRun> {
        self.validate()?;
        let meta = Device::meta(usize::MAX);
        let model = self.build_model(&meta, &Seeds::new(0))?;
        let mut opt = self.build_optimizer(&model)?;
        // The batch's host bytes are outside the device pool in a real run, so here too.
        let batch = self.placeholder_batch(&Device::meta(usize::MAX))?;
        let mut run = DryRun {
            peak_bytes: 0,
            gemm_flops: 0,
            reduced_gemm_flops: 0,
            allocated_bytes: 0,
            reduced_allocated_bytes: 0,
            allocations: 0,
            updated_params: 0,
            gemm_operand_bytes: 0,
            reduced_allocations: 0,
        };
        for step in 0..2 {
            let ctx = StepContext {
                stage: "dry run",
                step,
                seeds: Seeds::new(0),
                lr_factor: 1.0,
                snippet_weight: 1.0,
                snippets_per_call: self.snippets_per_call,
                recompute: self.recompute,
                precision: self.precision,
                device: &meta,
            };
            let (flops, reduced, pool) =
                (crate::ops::cost::gemm_flops(), crate::ops::cost::reduced_gemm_flops(), meta.pool().stats());
            let reduced_bytes = crate::tensor::reduced_bytes_allocated();
            let updated = crate::ops::cost::updated_params();
            let (operand_bytes, reduced_allocations) =
                (crate::ops::cost::gemm_operand_bytes(), crate::tensor::reduced_allocations());
            run.peak_bytes = run.peak_bytes.max(train_step(&model, &mut opt, &batch, &ctx)?.peak_bytes);
            let after = meta.pool().stats();
            run.gemm_flops = crate::ops::cost::gemm_flops() - flops;
            run.reduced_gemm_flops = crate::ops::cost::reduced_gemm_flops() - reduced;
            run.allocated_bytes = after.total_reserved - pool.total_reserved;
            run.reduced_allocated_bytes = crate::tensor::reduced_bytes_allocated() - reduced_bytes;
            run.allocations = after.reservations - pool.reservations;
            run.updated_params = crate::ops::cost::updated_params() - updated;
            run.gemm_operand_bytes = crate::ops::cost::gemm_operand_bytes() - operand_bytes;
            run.reduced_allocations = crate::tensor::reduced_allocations() - reduced_allocations;
        }
        Ok(run)
    }
}
