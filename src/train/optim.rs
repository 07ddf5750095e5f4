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
            launch(value.device(), |be| be.sgd_step(&value, g, buf, &o))?;
        }
        Ok(())
    }
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
            launch(value.device(), |be| be.adam_step(&value, g, m, v, &o))?;
        }
        Ok(())
    }

    /// First and second moment of a parameter (for tests and checkpoints).
    pub fn moments(&self, p: &Param) -> Option<&(Tensor, Tensor)> {
        self.state.get(&p.id())
    }
}
