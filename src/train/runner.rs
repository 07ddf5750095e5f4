//! The loop every stage shares: refuse a step that cannot fit the memory budget (a Meta dry run
//! before anything trains), resume from the newest good checkpoint, then step → log → checkpoint
//! until the last step, and a final checkpoint that marks the run complete.
//!
//! A stage provides its batches through `BatchSource`, as a pure function of the position (epoch,
//! batch within the epoch): that, the checkpointed state and the per-step random streams are what
//! make a resumed run bitwise equal to an uninterrupted one.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use crate::rng::Seeds;
use crate::tensor::Device;
use crate::train::checkpoint::{self, Position, Snapshot};
use crate::train::metrics::{MetricsLog, StepRecord};
use crate::train::model::Model;
use crate::train::observer::Observer;
use crate::train::optimizer::Optimizer;
use crate::train::presets::fidelity_name;
use crate::train::schedule::Schedule;
use crate::train::spec::StepSpec;
use crate::train::step::{train_step, StepBatch, StepContext};
use crate::{Error, Result};

/// Where a stage's batches come from.
pub trait BatchSource {
    /// Optimizer steps per epoch (at least 1).
    fn steps_per_epoch(&self) -> u64;
    /// Batch `index` of `epoch`.
    fn batch(&mut self, epoch: u64, index: u64) -> Result<StepBatch>;
    /// How each random stream of the source is derived (recorded in checkpoints).
    fn rng_streams(&self) -> BTreeMap<String, String>;
}

/// How to run.
pub struct RunOptions {
    pub stage: String,
    pub run_dir: PathBuf,
    pub device: Device,
    pub seeds: Seeds,
    pub total_steps: u64,
    pub schedule: Schedule,
    pub snippet_weight: f64,
    pub checkpoint_every: u64,
    pub keep: usize,
    pub log_every: u64,
    pub resume: bool,
    /// The dry run's peak when the stage checked a budget (`check_budget`), for the summary.
    pub predicted_peak: Option<usize>,
}

/// What a finished run measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunSummary {
    pub steps: u64,
    /// The step the run started from (> 0 when resumed).
    pub resumed_at: u64,
    pub wall_s: f64,
    /// The largest pool peak of any step of this process.
    pub peak_bytes: usize,
    /// The Meta dry run's prediction, when a budget was checked.
    pub predicted_peak_bytes: Option<usize>,
    /// Loss terms of the first and the last step this process ran.
    pub first_losses: BTreeMap<String, f64>,
    pub last_losses: BTreeMap<String, f64>,
}

/// Runs `spec`'s step over `source` until `opts.total_steps`, updating `model` in place.
pub fn run(
    spec: &StepSpec,
    model: &Model,
    opt: &mut Optimizer,
    source: &mut dyn BatchSource,
    opts: &RunOptions,
    observer: &mut dyn Observer,
) -> Result<RunSummary> {
    let started = Instant::now();
    let params = model.params();
    let mut position = Position { step: 0, epoch: 0, batch: 0 };
    if opts.resume {
        let (found, notes) = checkpoint::resume_latest(&opts.run_dir, &opts.device)?;
        for n in &notes {
            observer.note(n);
        }
        match found {
            Some(c) => {
                if c.stage != opts.stage || c.seed != opts.seeds.master {
                    return Err(Error::data(
                        format!("checkpoint {}", c.path.display()),
                        format!(
                            "belongs to stage {} seed {}, not stage {} seed {}",
                            c.stage, c.seed, opts.stage, opts.seeds.master
                        ),
                    ));
                }
                checkpoint::restore_params(&c, &params)?;
                opt.load_state(&c.optim, &c.adam_steps)?;
                position = c.position.clone();
                observer.note(&format!("resumed from {} at step {}", c.path.display(), position.step));
            }
            None => observer.note("no checkpoint to resume from: starting at step 0"),
        }
    }
    let spe = source.steps_per_epoch().max(1);
    let resumed_at = position.step;
    let mut log = MetricsLog::open(&opts.run_dir, position.step)?;
    observer.start(&opts.stage, position.step, opts.total_steps);
    let mut summary = RunSummary {
        steps: opts.total_steps,
        resumed_at,
        wall_s: 0.0,
        peak_bytes: 0,
        predicted_peak_bytes: opts.predicted_peak,
        first_losses: BTreeMap::new(),
        last_losses: BTreeMap::new(),
    };
    for step in position.step..opts.total_steps {
        let (epoch, index) = (step / spe, step % spe);
        let batch = source.batch(epoch, index)?;
        let factor = opts.schedule.factor(step, opts.total_steps, spe);
        let ctx = StepContext {
            stage: &opts.stage,
            step,
            seeds: opts.seeds,
            lr_factor: factor,
            snippet_weight: opts.snippet_weight,
            snippets_per_call: spec.snippets_per_call,
            recompute: spec.recompute,
            precision: spec.precision,
            device: &opts.device,
        };
        let m = train_step(model, opt, &batch, &ctx)?;
        let losses: BTreeMap<String, f64> = m.losses.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        if step == resumed_at {
            summary.first_losses = losses.clone();
        }
        summary.peak_bytes = summary.peak_bytes.max(m.peak_bytes);
        let record = StepRecord {
            stage: opts.stage.clone(),
            epoch,
            step,
            loss: losses.clone(),
            lr: opt.rates(factor).into_iter().map(|(g, r)| (g.to_string(), r)).collect(),
            samples_per_s: m.samples as f64 / m.seconds.max(1e-9),
            frames_per_s: m.frames as f64 / m.seconds.max(1e-9),
            peak_bytes: m.peak_bytes,
            fidelity: batch.fidelity.as_ref().map(fidelity_name),
        };
        summary.last_losses = losses;
        if step % opts.log_every == 0 || step + 1 == opts.total_steps {
            log.write_step(&record)?;
        }
        observer.step(&record, opts.total_steps);
        let done = Position { step: step + 1, epoch: (step + 1) / spe, batch: (step + 1) % spe };
        let due = opts.checkpoint_every > 0 && done.step.is_multiple_of(opts.checkpoint_every);
        if due || done.step == opts.total_steps {
            save(model, opt, source, opts, done)?;
        }
    }
    observer.finish();
    summary.wall_s = started.elapsed().as_secs_f64();
    Ok(summary)
}

fn save(model: &Model, opt: &Optimizer, source: &dyn BatchSource, opts: &RunOptions, position: Position) -> Result<()> {
    let (optim_tensors, adam_steps) = opt.state();
    let mut rng_streams = source.rng_streams();
    rng_streams.insert("loss".into(), "Seeds(seed).stream(\"loss\").child(step): G-TAD's regression sampling".into());
    let snap = Snapshot {
        stage: &opts.stage,
        seed: opts.seeds.master,
        position,
        params: &model.params(),
        optim_tensors,
        adam_steps,
        rng_streams,
    };
    checkpoint::write(&opts.run_dir, &snap, opts.keep).map(|_| ())
}

/// The dry run's peak, or `OutOfBudget` naming the stage, fidelity and batch when it exceeds
/// `budget`. Stages call it before they write anything.
pub fn check_budget(spec: &StepSpec, stage: &str, device: &Device, budget: usize) -> Result<usize> {
    let peak = spec.dry_run_peak()?;
    if peak > budget {
        return Err(Error::OutOfBudget {
            device: format!(
                "{} (dry run of one {} step at fidelity {}, batch {})",
                device.kind(),
                stage,
                fidelity_name(&spec.fidelity),
                spec.batch
            ),
            requested: peak,
            in_use: 0,
            budget,
        });
    }
    Ok(peak)
}
