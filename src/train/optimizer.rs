//! The optimizer of a stage: parameter groups (the encoder and the head), each with its own base
//! learning rate and weight decay, over one rule (SGD with momentum and decay, or Adam with L2
//! decay — `optim.rs`, PyTorch semantics). The schedule's factor scales every group's base rate at
//! each step, as one PyTorch scheduler drives all param groups.
//!
//! State for checkpoints is keyed by group and parameter name (`head/backbone1.0.weight.exp_avg`),
//! never by the run-local ids of the tape.

use std::collections::HashMap;

use crate::autograd::Gradients;
use crate::nn::Param;
use crate::tensor::Tensor;
use crate::train::optim::{Adam, Sgd};
use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimKind {
    Sgd,
    Adam,
}

/// `[optim]` of a stage config.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OptimConfig {
    pub kind: OptimKind,
    /// Base rate of the head (and of everything without its own group).
    pub lr: f64,
    pub weight_decay: f64,
    /// SGD only.
    pub momentum: f64,
    /// The encoder group's base rate and decay; absent = the head's.
    pub encoder_lr: Option<f64>,
    pub encoder_weight_decay: Option<f64>,
}

impl Default for OptimConfig {
    fn default() -> Self {
        OptimConfig {
            kind: OptimKind::Adam,
            lr: 1e-3,
            weight_decay: 1e-4,
            momentum: 0.0,
            encoder_lr: None,
            encoder_weight_decay: None,
        }
    }
}

impl OptimConfig {
    pub fn validate(&self) -> Result<()> {
        let bad = |key: &str, v: f64| Error::Config {
            flag: format!("optim.{key}"),
            msg: format!("{v} must be a finite number ≥ 0"),
        };
        let ok = |v: f64| v.is_finite() && v >= 0.0;
        for (key, v) in [
            ("lr", Some(self.lr)),
            ("weight_decay", Some(self.weight_decay)),
            ("momentum", Some(self.momentum)),
            ("encoder_lr", self.encoder_lr),
            ("encoder_weight_decay", self.encoder_weight_decay),
        ] {
            if let Some(v) = v.filter(|v| !ok(*v)) {
                return Err(bad(key, v));
            }
        }
        if self.momentum >= 1.0 {
            return Err(Error::Config { flag: "optim.momentum".into(), msg: format!("{} must be < 1", self.momentum) });
        }
        Ok(())
    }
}

enum Rule {
    Sgd(Sgd),
    Adam(Adam),
}

struct Group {
    name: &'static str,
    params: Vec<Param>,
    base_lr: f64,
    rule: Rule,
}

/// Tensors by name, in a fixed order.
pub type NamedTensors = Vec<(String, Tensor)>;

/// The optimizer over named parameter groups.
pub struct Optimizer {
    groups: Vec<Group>,
}

impl Optimizer {
    /// One group per non-empty `(name, params)`; the `encoder` group takes the encoder rate and decay.
    pub fn new(cfg: &OptimConfig, groups: Vec<(&'static str, Vec<Param>)>) -> Result<Optimizer> {
        cfg.validate()?;
        let groups = groups
            .into_iter()
            .filter(|(_, p)| !p.is_empty())
            .map(|(name, params)| {
                let encoder = name == "encoder";
                let lr = if encoder { cfg.encoder_lr.unwrap_or(cfg.lr) } else { cfg.lr };
                let wd = if encoder { cfg.encoder_weight_decay.unwrap_or(cfg.weight_decay) } else { cfg.weight_decay };
                let rule = match cfg.kind {
                    OptimKind::Sgd => Rule::Sgd(Sgd::new(lr, cfg.momentum, wd)),
                    OptimKind::Adam => Rule::Adam(Adam::new(lr, wd)),
                };
                Group { name, params, base_lr: lr, rule }
            })
            .collect();
        Ok(Optimizer { groups })
    }

    /// One update of every group at `factor` × its base rate.
    pub fn step(&mut self, grads: &Gradients, factor: f64) -> Result<()> {
        for g in &mut self.groups {
            let lr = g.base_lr * factor;
            match &mut g.rule {
                Rule::Sgd(s) => {
                    s.lr = lr;
                    s.step(&g.params, grads)?;
                }
                Rule::Adam(a) => {
                    a.lr = lr;
                    a.step(&g.params, grads)?;
                }
            }
        }
        Ok(())
    }

    /// (group name, rate) at `factor`, for metrics.
    pub fn rates(&self, factor: f64) -> Vec<(&'static str, f64)> {
        self.groups.iter().map(|g| (g.name, g.base_lr * factor)).collect()
    }

    /// Every state tensor as (`<group>/<param>.<slot>`, tensor), plus each Adam group's step count.
    pub fn state(&self) -> (NamedTensors, Vec<(String, u64)>) {
        let mut tensors = Vec::new();
        let mut steps = Vec::new();
        for g in &self.groups {
            let named = match &g.rule {
                Rule::Sgd(s) => s.state(&g.params),
                Rule::Adam(a) => {
                    steps.push((g.name.to_string(), a.steps()));
                    a.state(&g.params)
                }
            };
            tensors.extend(named.into_iter().map(|(n, t)| (format!("{}/{n}", g.name), t)));
        }
        (tensors, steps)
    }

    /// Restores `state`'s output.
    pub fn load_state(&mut self, tensors: &HashMap<String, Tensor>, steps: &HashMap<String, u64>) -> Result<()> {
        for g in &mut self.groups {
            let prefix = format!("{}/", g.name);
            let mine: HashMap<String, Tensor> = tensors
                .iter()
                .filter_map(|(k, t)| k.strip_prefix(&prefix).map(|n| (n.to_string(), t.clone())))
                .collect();
            match &mut g.rule {
                Rule::Sgd(s) => s.load_state(&g.params, &mine)?,
                Rule::Adam(a) => a.load_state(&g.params, &mine, steps.get(g.name).copied().unwrap_or(0))?,
            }
        }
        Ok(())
    }
}
