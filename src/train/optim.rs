//! Optimizers over parameters and the gradients of one `backward`: SGD (weight decay, optional
//! momentum; the paper uses momentum 0) and Adam with L2-form weight decay (g += wd·p), both with
//! PyTorch semantics (golden `sgd_step`, `adam_step`). Updates run in place on the parameter's
//! device through the backend; state tensors are allocated through the pool.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use crate::autograd::{Gradients, VarId};
use crate::backend::{launch, AdamStep, SgdStep};
use crate::nn::Param;
use crate::tensor::Tensor;
use crate::{Error, Result};

fn grad_for<'a>(p: &Param, grads: &'a Gradients) -> Result<Option<&'a Tensor>> {
    let Some(g) = grads.get(p.id()) else { return Ok(None) };
    if g.shape() != p.value().shape() {
        return Err(Error::shape(
            "optimizer",
            format!("{}: gradient {} for a {} parameter", p.name(), g.shape(), p.value().shape()),
        ));
    }
    Ok(Some(g))
}

#[derive(Debug, Clone)]
pub struct Sgd {
    pub lr: f64,
    pub momentum: f64,
    pub weight_decay: f64,
    buffers: HashMap<VarId, Tensor>,
}

impl Sgd {
    pub fn new(lr: f64, momentum: f64, weight_decay: f64) -> Sgd {
        Sgd { lr, momentum, weight_decay, buffers: HashMap::new() }
    }

    /// One update of every trainable parameter that received a gradient.
    pub fn step(&mut self, params: &[Param], grads: &Gradients) -> Result<()> {
        let o = SgdStep { lr: self.lr, weight_decay: self.weight_decay, momentum: self.momentum };
        for p in params.iter().filter(|p| p.is_trainable()) {
            let Some(g) = grad_for(p, grads)? else { continue };
            let value = p.value();
            let buf = if self.momentum != 0.0 {
                Some(match self.buffers.entry(p.id()) {
                    Entry::Occupied(e) => e.into_mut(),
                    Entry::Vacant(e) => e.insert(Tensor::zeros(value.shape().clone(), value.dtype(), value.device())?),
                })
            } else {
                None
            };
            let buf = buf.map(|b| &*b);
            crate::ops::cost::add_update(value.numel());
            launch(value.device(), |be| be.sgd_step(&value, g, buf, &o))?;
        }
        Ok(())
    }

    /// The momentum buffers as (`<param>.momentum_buffer`, tensor), for checkpoints.
    pub fn state(&self, params: &[Param]) -> Vec<(String, Tensor)> {
        params
            .iter()
            .filter_map(|p| self.buffers.get(&p.id()).map(|b| (format!("{}.momentum_buffer", p.name()), b.clone())))
            .collect()
    }

    /// Restores what `state` saved; a buffer whose shape does not fit its parameter is an error.
    pub fn load_state(&mut self, params: &[Param], state: &HashMap<String, Tensor>) -> Result<()> {
        self.buffers.clear();
        for p in params {
            if let Some(t) = state.get(&format!("{}.momentum_buffer", p.name())) {
                self.buffers.insert(p.id(), fitting(p, t)?);
            }
        }
        Ok(())
    }
}

/// A copy of `t` on `p`'s device, or an error when its shape or dtype is not `p`'s.
fn fitting(p: &Param, t: &Tensor) -> Result<Tensor> {
    let v = p.value();
    if t.shape() != v.shape() || t.dtype() != v.dtype() {
        return Err(Error::shape(
            "optimizer state",
            format!("{}: state {} {} for a {} {} parameter", p.name(), t.shape(), t.dtype(), v.shape(), v.dtype()),
        ));
    }
    t.to_device(v.device())
}

#[derive(Debug, Clone)]
pub struct Adam {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    steps: u64,
    state: HashMap<VarId, (Tensor, Tensor)>,
}

impl Adam {
    pub fn new(lr: f64, weight_decay: f64) -> Adam {
        Adam { lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay, steps: 0, state: HashMap::new() }
    }

    pub fn step(&mut self, params: &[Param], grads: &Gradients) -> Result<()> {
        self.steps += 1;
        let o = AdamStep {
            lr: self.lr,
            beta1: self.beta1,
            beta2: self.beta2,
            eps: self.eps,
            weight_decay: self.weight_decay,
            step: self.steps,
        };
        for p in params.iter().filter(|p| p.is_trainable()) {
            let Some(g) = grad_for(p, grads)? else { continue };
            let value = p.value();
            let (m, v) = match self.state.entry(p.id()) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(e) => {
                    let zeros = || Tensor::zeros(value.shape().clone(), value.dtype(), value.device());
                    e.insert((zeros()?, zeros()?))
                }
            };
            crate::ops::cost::add_update(value.numel());
            launch(value.device(), |be| be.adam_step(&value, g, m, v, &o))?;
        }
        Ok(())
    }

    /// First and second moment of a parameter (for tests and checkpoints).
    pub fn moments(&self, p: &Param) -> Option<&(Tensor, Tensor)> {
        self.state.get(&p.id())
    }

    /// Steps taken (the bias corrections' t).
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The moments as (`<param>.exp_avg` / `.exp_avg_sq`, tensor), for checkpoints.
    pub fn state(&self, params: &[Param]) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for p in params {
            if let Some((m, v)) = self.state.get(&p.id()) {
                out.push((format!("{}.exp_avg", p.name()), m.clone()));
                out.push((format!("{}.exp_avg_sq", p.name()), v.clone()));
            }
        }
        out
    }

    /// Restores what `state` saved and the step count.
    pub fn load_state(&mut self, params: &[Param], state: &HashMap<String, Tensor>, steps: u64) -> Result<()> {
        self.state.clear();
        for p in params {
            let m = state.get(&format!("{}.exp_avg", p.name()));
            let v = state.get(&format!("{}.exp_avg_sq", p.name()));
            match (m, v) {
                (Some(m), Some(v)) => {
                    self.state.insert(p.id(), (fitting(p, m)?, fitting(p, v)?));
                }
                (None, None) => {}
                _ => {
                    return Err(Error::data(
                        "optimizer state",
                        format!("{}: one Adam moment without the other", p.name()),
                    ))
                }
            }
        }
        self.steps = steps;
        Ok(())
    }
}
