//! The basic layers: Conv2d, Conv1d, BatchNorm2d, Linear — PyTorch names (`weight`, `bias`,
//! `running_mean`, `running_var`) and PyTorch default initialisation unless a model overrides it.

use super::builder::{Builder, Init};
use super::param::Param;
use crate::autograd::Var;
use crate::ops::conv::{self, Conv2dOpts};
use crate::ops::matmul;
use crate::ops::norm::{self, BnMode, BnOpts, RunningStats};
use crate::Result;

/// Parameters of a module, in a fixed order (for saving, loading and optimizers).
pub trait Module {
    fn params(&self) -> Vec<Param>;
}

/// PyTorch's default conv/linear bound: kaiming_uniform(a = √5) gives U(±1/√fan_in).
fn default_bound(fan_in: usize) -> f64 {
    1.0 / (fan_in.max(1) as f64).sqrt()
}

#[derive(Clone)]
pub struct Conv2d {
    pub weight: Param,
    pub bias: Option<Param>,
    pub opts: Conv2dOpts,
}

impl Conv2d {
    /// `weight_init` None = PyTorch default.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        b: &Builder,
        c_in: usize,
        c_out: usize,
        k: usize,
        opts: Conv2dOpts,
        bias: bool,
        weight_init: Option<Init>,
    ) -> Result<Conv2d> {
        let fan_in = c_in / opts.groups.max(1) * k * k;
        let init = weight_init.unwrap_or(Init::Uniform(default_bound(fan_in)));
        let weight = b.weight("weight", &[c_out, c_in / opts.groups.max(1), k, k], init)?;
        let bias = if bias { Some(b.weight("bias", &[c_out], Init::Uniform(default_bound(fan_in)))?) } else { None };
        Ok(Conv2d { weight, bias, opts })
    }
    pub fn forward(&self, x: &Var) -> Result<Var> {
        let bias = self.bias.as_ref().map(Param::var);
        let w = super::precision::weight_as(&self.weight, x.tensor().dtype())?;
        conv::conv2d(x, &w, bias.as_ref(), self.opts)
    }
}

impl Module for Conv2d {
    fn params(&self) -> Vec<Param> {
        std::iter::once(self.weight.clone()).chain(self.bias.clone()).collect()
    }
}

#[derive(Clone)]
pub struct Conv1d {
    pub weight: Param,
    pub bias: Option<Param>,
    pub stride: usize,
    pub pad: usize,
    pub groups: usize,
}

impl Conv1d {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        b: &Builder,
        c_in: usize,
        c_out: usize,
        k: usize,
        stride: usize,
        pad: usize,
        groups: usize,
        bias: bool,
    ) -> Result<Conv1d> {
        let bound = default_bound(c_in / groups.max(1) * k);
        let weight = b.weight("weight", &[c_out, c_in / groups.max(1), k], Init::Uniform(bound))?;
        let bias = if bias { Some(b.weight("bias", &[c_out], Init::Uniform(bound))?) } else { None };
        Ok(Conv1d { weight, bias, stride, pad, groups })
    }
    pub fn forward(&self, x: &Var) -> Result<Var> {
        let bias = self.bias.as_ref().map(Param::var);
        let w = super::precision::weight_as(&self.weight, x.tensor().dtype())?;
        conv::conv1d(x, &w, bias.as_ref(), self.stride, self.pad, self.groups)
    }
}

impl Module for Conv1d {
    fn params(&self) -> Vec<Param> {
        std::iter::once(self.weight.clone()).chain(self.bias.clone()).collect()
    }
}

#[derive(Clone)]
pub struct BatchNorm2d {
    pub weight: Param,
    pub bias: Param,
    pub running_mean: Param,
    pub running_var: Param,
    pub mode: BnMode,
    pub opts: BnOpts,
}

impl BatchNorm2d {
    pub fn new(b: &Builder, c: usize, mode: BnMode) -> Result<BatchNorm2d> {
        let mut bn = BatchNorm2d {
            weight: b.weight("weight", &[c], Init::Const(1.0))?,
            bias: b.weight("bias", &[c], Init::Const(0.0))?,
            running_mean: b.buffer("running_mean", &[c], 0.0)?,
            running_var: b.buffer("running_var", &[c], 1.0)?,
            mode,
            opts: BnOpts::default(),
        };
        bn.set_mode(mode);
        Ok(bn)
    }
    /// Frozen BN holds its affine fixed: γ and β stop being trainable.
    pub fn set_mode(&mut self, mode: BnMode) {
        self.mode = mode;
        let trainable = mode != BnMode::Frozen;
        self.weight.set_trainable(trainable);
        self.bias.set_trainable(trainable);
    }
    pub fn forward(&self, x: &Var) -> Result<Var> {
        let (rm, rv) = (self.running_mean.value(), self.running_var.value());
        let running = RunningStats { mean: &rm, var: &rv };
        norm::batch_norm(x, &self.weight.var(), &self.bias.var(), &running, self.mode, self.opts)
    }
}

impl Module for BatchNorm2d {
    fn params(&self) -> Vec<Param> {
        vec![self.weight.clone(), self.bias.clone(), self.running_mean.clone(), self.running_var.clone()]
    }
}

#[derive(Clone)]
pub struct Linear {
    pub weight: Param,
    pub bias: Option<Param>,
}

impl Linear {
    pub fn new(b: &Builder, c_in: usize, c_out: usize, bias: bool) -> Result<Linear> {
        let bound = default_bound(c_in);
        let weight = b.weight("weight", &[c_out, c_in], Init::Uniform(bound))?;
        let bias = if bias { Some(b.weight("bias", &[c_out], Init::Uniform(bound))?) } else { None };
        Ok(Linear { weight, bias })
    }
    pub fn forward(&self, x: &Var) -> Result<Var> {
        let bias = self.bias.as_ref().map(Param::var);
        matmul::linear(x, &self.weight.var(), bias.as_ref())
    }
}

impl Module for Linear {
    fn params(&self) -> Vec<Param> {
        std::iter::once(self.weight.clone()).chain(self.bias.clone()).collect()
    }
}
