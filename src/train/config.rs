//! Stage configuration: a TOML file (`--config FILE`) laid over the stage's defaults, then the
//! command-line flags over both; the result is validated and written into the run directory as
//! `config.toml`, so every run records exactly what it did.
//!
//! The defaults are the synthetic benchmark's validated recipe (docs/pipeline.md):
//! - `acp`: synthetic-tiny encoder, Adam 5e-3, weight decay 1e-4, cosine over 1000 steps of 64
//!   clips × 1 snippet, random colour-channel permutation, 5 % of the clips held out;
//! - `head`: gtad-synthetic head, Adam 1e-3, weight decay 1e-4, 30 epochs of 16 videos, ×0.1 at
//!   75 % of training, loss = G-TAD + 0.5 × snippet-class cross-entropy;
//! - `lofi` and `e2e-full`: Adam, encoder 1e-3 and head 2e-4, weight decay 1e-4, cosine over 12
//!   epochs of 8 videos, BN in train mode;
//! - `acp-plus`: Adam 1e-3, cosine over 300 steps of 64 snippets, colour permutation.
//!
//! Unknown keys and values of the wrong type are errors naming the key and the file.

use std::path::Path;

use crate::train::budget::RecomputeSetting;
use crate::train::optimizer::OptimConfig;
use crate::train::schedule::{Milestone, Schedule};
use crate::train::spec::Precision;
use crate::{Error, Result};

/// The training stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Action-classification pre-training of the encoder on trimmed clips.
    Acp,
    /// The TAL head on frozen snippet features.
    Head,
    /// LoFi-E2E: encoder and head end to end under the TAL loss at reduced fidelity.
    Lofi,
    /// The same end-to-end stage at full fidelity.
    E2eFull,
    /// ACP+: classification fine-tuning of the ACP encoder on windows inside the target videos'
    /// ground-truth segments.
    AcpPlus,
}

impl Stage {
    pub const ALL: [Stage; 5] = [Stage::Acp, Stage::Head, Stage::Lofi, Stage::E2eFull, Stage::AcpPlus];

    pub fn name(self) -> &'static str {
        match self {
            Stage::Acp => "acp",
            Stage::Head => "head",
            Stage::Lofi => "lofi",
            Stage::E2eFull => "e2e-full",
            Stage::AcpPlus => "acp-plus",
        }
    }

    pub fn parse(text: &str) -> Result<Stage> {
        Stage::ALL.into_iter().find(|s| s.name() == text).ok_or_else(|| Error::Config {
            flag: "--stage".into(),
            msg: format!(
                "unknown stage '{text}' (known: {})",
                Stage::ALL.iter().map(|s| s.name()).collect::<Vec<_>>().join(", ")
            ),
        })
    }
}

/// `[model]`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelSection {
    /// Encoder preset (`resnet18`, `resnet50`, `synthetic-tiny`).
    pub encoder: String,
    /// Head preset (`gtad-activitynet`, `gtad-synthetic`).
    pub head: String,
    /// Snippets per encoder call.
    pub snippets_per_call: usize,
    /// Recompute in backward: `auto` (the cheapest that fits `--memory-budget`; none without
    /// one), `none`, `chunk` (each encoder call) or `stage` (each residual stage).
    pub recompute: RecomputeSetting,
    pub precision: Precision,
}

impl Default for ModelSection {
    fn default() -> Self {
        ModelSection {
            encoder: "synthetic-tiny".into(),
            head: "gtad-synthetic".into(),
            snippets_per_call: 64,
            recompute: RecomputeSetting::Auto,
            precision: Precision::Fp32,
        }
    }
}

/// `[data]`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataSection {
    /// Samples (clips or videos) per optimizer step.
    pub batch: usize,
    /// Training length in epochs, unless `steps` is set.
    pub epochs: u64,
    /// Training length in optimizer steps (sets the schedule's length).
    pub steps: Option<u64>,
    /// Frame-loading threads (0 = one per core).
    pub loader_threads: usize,
}

impl Default for DataSection {
    fn default() -> Self {
        DataSection { batch: 16, epochs: 30, steps: None, loader_threads: 0 }
    }
}

/// `[loss]`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LossSection {
    /// Weight of the snippet-class cross-entropy next to G-TAD's loss (0 = the paper's pure G-TAD).
    pub snippet_class_weight: f64,
}

impl Default for LossSection {
    fn default() -> Self {
        LossSection { snippet_class_weight: 0.5 }
    }
}

/// `[checkpoint]`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CheckpointSection {
    /// Optimizer steps between checkpoints (0 = only at the end).
    pub every: u64,
    /// Checkpoints kept (the newest).
    pub keep: usize,
}

impl Default for CheckpointSection {
    fn default() -> Self {
        CheckpointSection { every: 100, keep: 3 }
    }
}

/// `[acp]`: what only the classification stage reads.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AcpSection {
    /// Fraction of the clips held out for the accuracy report (the last ones, class-balanced).
    pub holdout: f64,
    /// Random permutation of the colour channels per sample.
    pub colour_permutation: bool,
    /// `acp-plus`: fraction of each batch drawn from the ACP clip set instead of the target
    /// segments.
    pub source_mix: f64,
}

impl Default for AcpSection {
    fn default() -> Self {
        AcpSection { holdout: 0.05, colour_permutation: true, source_mix: 0.0 }
    }
}

/// The LoFi configurations (paper §3.2): spatial, temporal, both, and the cycles through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LofiConfig {
    S,
    T,
    St,
    CShort,
    CLong,
}

impl LofiConfig {
    pub const ALL: [LofiConfig; 5] =
        [LofiConfig::S, LofiConfig::T, LofiConfig::St, LofiConfig::CShort, LofiConfig::CLong];

    pub fn name(self) -> &'static str {
        match self {
            LofiConfig::S => "s",
            LofiConfig::T => "t",
            LofiConfig::St => "st",
            LofiConfig::CShort => "c-short",
            LofiConfig::CLong => "c-long",
        }
    }

    pub fn parse(text: &str) -> Result<LofiConfig> {
        LofiConfig::ALL.into_iter().find(|c| c.name() == text).ok_or_else(|| Error::Config {
            flag: "--lofi".into(),
            msg: format!(
                "unknown LoFi configuration '{text}' (known: {})",
                LofiConfig::ALL.iter().map(|c| c.name()).collect::<Vec<_>>().join(", ")
            ),
        })
    }
}

/// `[lofi]`: which reduced fidelity the end-to-end stage trains at.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LofiSection {
    pub config: LofiConfig,
    /// Reduction of pixels × snippets per video: the paper's 4 (T: r_t = 4, S: r_s = 2 per side,
    /// ST: r_s = √2, r_t = 2); 2 on the synthetic benchmark, validated at T = 16 of 32 snippets.
    pub ratio: f64,
    /// The full fidelity (`LxS`); absent = the encoder preset's (32x32 synthetic, 100x224).
    pub full: Option<String>,
    /// Explicit fidelities of the three configurations, overriding the ratio.
    pub s: Option<String>,
    pub t: Option<String>,
    pub st: Option<String>,
    /// C-LoFi short cycle: batches per configuration (paper c_s = 16).
    pub cycle_batches: u64,
    /// C-LoFi long cycle: epochs per configuration.
    pub cycle_epochs: u64,
}

impl Default for LofiSection {
    fn default() -> Self {
        LofiSection {
            config: LofiConfig::T,
            ratio: 2.0,
            full: None,
            s: None,
            t: None,
            st: None,
            cycle_batches: 16,
            cycle_epochs: 1,
        }
    }
}

/// The whole configuration of one stage.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    pub stage: Stage,
    /// Master seed of every random stream of the run.
    pub seed: u64,
    /// Log a metrics line every this many steps.
    pub log_every: u64,
    pub model: ModelSection,
    pub data: DataSection,
    pub optim: OptimConfig,
    pub schedule: Schedule,
    pub loss: LossSection,
    pub checkpoint: CheckpointSection,
    pub acp: AcpSection,
    pub lofi: LofiSection,
}

impl TrainConfig {
    /// The stage's defaults (module doc).
    pub fn defaults(stage: Stage) -> TrainConfig {
        let base = TrainConfig {
            stage,
            seed: 0,
            log_every: 1,
            model: ModelSection::default(),
            data: DataSection::default(),
            optim: OptimConfig::default(),
            schedule: Schedule::constant(),
            loss: LossSection::default(),
            checkpoint: CheckpointSection::default(),
            acp: AcpSection::default(),
            lofi: LofiSection::default(),
        };
        match stage {
            Stage::Acp => TrainConfig {
                data: DataSection { batch: 64, steps: Some(1000), ..DataSection::default() },
                optim: OptimConfig { lr: 5e-3, ..OptimConfig::default() },
                schedule: Schedule::cosine(0.0),
                ..base
            },
            Stage::Head => TrainConfig { schedule: Schedule::multistep(vec![Milestone::Fraction(0.75)], 0.1), ..base },
            Stage::Lofi | Stage::E2eFull => TrainConfig {
                model: ModelSection { snippets_per_call: 256, ..ModelSection::default() },
                // 12 epochs, not the prototype's 6: with the G-TAD head, C-LoFi long (one
                // configuration per epoch) got 2 epochs of each and lost to ACP on one seed in
                // three; at 12 it and T gain on every seed tried (docs/pipeline.md).
                data: DataSection { batch: 8, epochs: 12, ..DataSection::default() },
                optim: OptimConfig { lr: 2e-4, encoder_lr: Some(1e-3), ..OptimConfig::default() },
                schedule: Schedule::cosine(0.0),
                checkpoint: CheckpointSection { every: 25, ..CheckpointSection::default() },
                ..base
            },
            Stage::AcpPlus => TrainConfig {
                data: DataSection { batch: 64, steps: Some(300), ..DataSection::default() },
                optim: OptimConfig { lr: 1e-3, ..OptimConfig::default() },
                schedule: Schedule::cosine(0.0),
                ..base
            },
        }
    }

    /// The defaults of `stage` with the TOML file at `path` laid over them.
    pub fn load(stage: Stage, path: Option<&Path>) -> Result<TrainConfig> {
        let defaults = TrainConfig::defaults(stage);
        let Some(path) = path else { return Ok(defaults) };
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        TrainConfig::parse(stage, &text, path)
    }

    /// `text` (the content of `path`, named in errors) over the defaults of `stage`.
    pub fn parse(stage: Stage, text: &str, path: &Path) -> Result<TrainConfig> {
        let file: toml::Table = toml::from_str(text).map_err(|e| Error::Parse {
            path: path.to_path_buf(),
            location: "TOML syntax".into(),
            msg: e.message().to_string(),
        })?;
        TrainConfig::from_table(stage, file, path)
    }

    /// The defaults of `stage` with `table` (read from `path`, named in errors) laid over them.
    pub fn from_table(stage: Stage, table: toml::Table, path: &Path) -> Result<TrainConfig> {
        let parse_error = |location: String, msg: String| Error::Parse { path: path.to_path_buf(), location, msg };
        if let Some(s) = table.get("stage") {
            if s.as_str() != Some(stage.name()) {
                return Err(parse_error("stage".into(), format!("{s} does not match --stage {}", stage.name())));
            }
        }
        let mut merged = toml::Table::try_from(TrainConfig::defaults(stage))
            .map_err(|e| parse_error("defaults".into(), e.to_string()))?;
        merge_tables(&mut merged, table);
        let cfg: TrainConfig = serde_path_to_error::deserialize(toml::Value::Table(merged)).map_err(|e| {
            let key = e.path().to_string();
            parse_error(format!("key `{key}`"), e.into_inner().to_string())
        })?;
        Ok(cfg)
    }

    /// Rejects values the stage cannot use, naming the key.
    pub fn validate(&self) -> Result<()> {
        let bad = |key: &str, msg: String| Err(Error::Config { flag: key.into(), msg });
        if self.data.batch == 0 {
            return bad("data.batch (--batch)", "must be at least 1".into());
        }
        if self.data.steps == Some(0) || (self.data.steps.is_none() && self.data.epochs == 0) {
            return bad("data.steps (--steps) / data.epochs", "training needs at least one step".into());
        }
        if self.model.snippets_per_call == 0 {
            return bad("model.snippets_per_call", "must be at least 1".into());
        }
        if self.checkpoint.keep == 0 {
            return bad("checkpoint.keep (--keep)", "must keep at least one checkpoint".into());
        }
        if self.log_every == 0 {
            return bad("log_every", "must be at least 1".into());
        }
        if !(self.loss.snippet_class_weight.is_finite() && self.loss.snippet_class_weight >= 0.0) {
            return bad("loss.snippet_class_weight", format!("{} must be ≥ 0", self.loss.snippet_class_weight));
        }
        if !(0.0..1.0).contains(&self.acp.source_mix) {
            return bad("acp.source_mix", format!("{} must lie in [0, 1)", self.acp.source_mix));
        }
        if !(0.0..1.0).contains(&self.acp.holdout) {
            return bad("acp.holdout", format!("{} must lie in [0, 1)", self.acp.holdout));
        }
        crate::train::presets::encoder_config(&self.model.encoder)?;
        if matches!(self.stage, Stage::Head | Stage::Lofi | Stage::E2eFull) {
            crate::train::presets::head_config(&self.model.head, 4)?;
        }
        if !(self.lofi.ratio.is_finite() && self.lofi.ratio >= 1.0) {
            return bad("lofi.ratio (--lofi-ratio)", format!("{} must be ≥ 1", self.lofi.ratio));
        }
        if self.lofi.cycle_batches == 0 || self.lofi.cycle_epochs == 0 {
            return bad("lofi.cycle_batches / lofi.cycle_epochs", "a cycle needs at least one batch / epoch".into());
        }
        self.schedule.validate()?;
        self.optim.validate()
    }

    /// The resolved configuration as TOML text.
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string_pretty(self).map_err(|e| Error::data("config", e.to_string()))
    }

    /// Keys whose values differ from `other`'s, ignoring what may change on a resumed run
    /// (checkpoint cadence, loader threads, log cadence).
    pub fn training_differences(&self, other: &TrainConfig) -> Vec<String> {
        let strip = |c: &TrainConfig| {
            let mut c = c.clone();
            c.checkpoint = CheckpointSection::default();
            c.data.loader_threads = 0;
            c.log_every = 1;
            toml::Table::try_from(c).unwrap_or_default()
        };
        let mut out = Vec::new();
        diff("", &strip(self), &strip(other), &mut out);
        out
    }
}

/// Lays `over` onto `base`: tables merge key by key, anything else replaces.
pub fn merge_tables(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge_tables(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

fn diff(prefix: &str, a: &toml::Table, b: &toml::Table, out: &mut Vec<String>) {
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for k in keys {
        let name = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        match (a.get(k), b.get(k)) {
            (Some(toml::Value::Table(x)), Some(toml::Value::Table(y))) => diff(&name, x, y, out),
            (x, y) if x != y => out.push(name),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_overrides_the_defaults_and_bad_keys_are_named() {
        let path = Path::new("run.toml");
        let cfg = TrainConfig::parse(Stage::Head, "[optim]\nlr = 0.004\n[data]\nepochs = 10\n", path).unwrap();
        assert_eq!(cfg.optim.lr, 0.004);
        assert_eq!(cfg.data.epochs, 10);
        assert_eq!(cfg.data.batch, 16, "untouched keys keep the stage's default");
        assert_eq!(cfg.schedule, TrainConfig::defaults(Stage::Head).schedule);

        let e = TrainConfig::parse(Stage::Head, "[optim]\nlrr = 0.1\n", path).unwrap_err().to_string();
        assert!(e.contains("run.toml") && e.contains("lrr"), "{e}");
        let e = TrainConfig::parse(Stage::Head, "[data]\nbatch = \"many\"\n", path).unwrap_err().to_string();
        assert!(e.contains("run.toml") && e.contains("data.batch"), "{e}");
        let e = TrainConfig::parse(Stage::Head, "stage = \"acp\"\n", path).unwrap_err().to_string();
        assert!(e.contains("stage"), "{e}");
        let e = TrainConfig::parse(Stage::Head, "[data\n", path).unwrap_err().to_string();
        assert!(e.contains("run.toml"), "{e}");
    }

    #[test]
    fn the_resolved_config_reads_back_identical() {
        for stage in Stage::ALL {
            let cfg = TrainConfig::defaults(stage);
            cfg.validate().unwrap();
            let text = cfg.to_toml().unwrap();
            assert_eq!(TrainConfig::parse(stage, &text, Path::new("config.toml")).unwrap(), cfg, "{text}");
        }
        let a = TrainConfig::defaults(Stage::Acp);
        let mut b = a.clone();
        b.checkpoint.every = 7;
        assert!(a.training_differences(&b).is_empty());
        b.optim.lr = 1.0;
        assert_eq!(a.training_differences(&b), vec!["optim.lr".to_string()]);
    }

    #[test]
    fn unknown_stages_and_lofi_configurations_are_listed() {
        let e = Stage::parse("lofi-x").unwrap_err().to_string();
        assert!(e.contains("acp") && e.contains("head") && e.contains("e2e-full"), "{e}");
        let e = LofiConfig::parse("ts").unwrap_err().to_string();
        assert!(e.contains("--lofi") && e.contains("c-short") && e.contains("c-long"), "{e}");
        assert_eq!(LofiConfig::parse("c-long").unwrap(), LofiConfig::CLong);
    }
}
