//! Building modules: a path prefix (`layer1.0.conv1`) plus where new parameters live and how they
//! are initialised. Each parameter draws from its own stream keyed by its full name, so values do
//! not depend on construction order and two models built from one seed are identical.

use super::param::{Param, ParamKind};
use crate::rng::Rng;
use crate::tensor::{DType, Device, Tensor};
use crate::Result;

/// How a new parameter is filled (PyTorch's initialisers).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Init {
    Const(f64),
    /// N(0, std²).
    Normal(f64),
    /// U(−bound, bound).
    Uniform(f64),
}

#[derive(Clone)]
pub struct Builder {
    prefix: String,
    device: Device,
    dtype: DType,
    rng: Rng,
}

impl Builder {
    pub fn new(device: &Device, dtype: DType, rng: Rng) -> Builder {
        Builder { prefix: String::new(), device: device.clone(), dtype, rng }
    }
    /// A builder for the sub-module `name` (`pp` as in candle's VarBuilder: "push prefix").
    pub fn pp(&self, name: impl std::fmt::Display) -> Builder {
        let prefix = if self.prefix.is_empty() { name.to_string() } else { format!("{}.{name}", self.prefix) };
        Builder { prefix, ..self.clone() }
    }
    pub fn device(&self) -> &Device {
        &self.device
    }
    pub fn dtype(&self) -> DType {
        self.dtype
    }
    fn full(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.prefix)
        }
    }

    fn make(&self, name: &str, shape: &[usize], init: Init, kind: ParamKind) -> Result<Param> {
        let full = self.full(name);
        if self.device.is_meta() {
            // Meta holds no values: skip drawing them (a planner builds models of millions of
            // parameters many times over).
            return Ok(Param::new(full, Tensor::zeros(shape.to_vec(), self.dtype, &self.device)?, kind));
        }
        let n: usize = shape.iter().product();
        let mut rng = self.rng.named_child(&full);
        let values: Vec<f64> = match init {
            Init::Const(c) => vec![c; n],
            Init::Normal(std) => (0..n).map(|_| std * rng.normal()).collect(),
            Init::Uniform(b) => (0..n).map(|_| rng.uniform_range(-b, b)).collect(),
        };
        let t = Tensor::from_vec(values, shape.to_vec(), &Device::cpu())?;
        let t = crate::ops::shape::cast_fwd(&t, self.dtype)?.to_device(&self.device)?;
        Ok(Param::new(full, t, kind))
    }
    pub fn weight(&self, name: &str, shape: &[usize], init: Init) -> Result<Param> {
        self.make(name, shape, init, ParamKind::Weight)
    }
    pub fn buffer(&self, name: &str, shape: &[usize], value: f64) -> Result<Param> {
        self.make(name, shape, Init::Const(value), ParamKind::Buffer)
    }
}
