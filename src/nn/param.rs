//! Parameters and buffers. A `Param` is a named, shared handle (cloning a module shares its
//! parameters) with a stable `VarId`, so it is a leaf of every step's tape and its gradient is found
//! by id. Buffers (BN running statistics) are `Param`s of kind `Buffer`: saved and loaded with the
//! weights, never trained.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use crate::autograd::{Var, VarId};
use crate::tensor::Tensor;
use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    Weight,
    Buffer,
}

struct ParamInner {
    name: String,
    id: VarId,
    kind: ParamKind,
    trainable: AtomicBool,
    value: RwLock<Tensor>,
}

#[derive(Clone)]
pub struct Param(Arc<ParamInner>);

impl std::fmt::Debug for Param {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Param({}, {})", self.0.name, self.value().shape())
    }
}

impl Param {
    pub fn new(name: impl Into<String>, value: Tensor, kind: ParamKind) -> Param {
        Param(Arc::new(ParamInner {
            name: name.into(),
            id: VarId::fresh(),
            kind,
            trainable: AtomicBool::new(kind == ParamKind::Weight),
            value: RwLock::new(value),
        }))
    }
    /// The full PyTorch-style name (`layer1.0.bn1.running_mean`).
    pub fn name(&self) -> &str {
        &self.0.name
    }
    pub fn id(&self) -> VarId {
        self.0.id
    }
    pub fn kind(&self) -> ParamKind {
        self.0.kind
    }
    /// The current value (a handle sharing the parameter's buffer: optimizers update it in place).
    pub fn value(&self) -> Tensor {
        self.0.value.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
    /// Replaces the value (loading weights); the shape and dtype must match.
    pub fn set(&self, t: Tensor) -> Result<()> {
        let mut v = self.0.value.write().unwrap_or_else(|p| p.into_inner());
        if v.shape() != t.shape() || v.dtype() != t.dtype() {
            return Err(Error::shape(
                "param",
                format!("{}: {} {} cannot take {} {}", self.0.name, v.shape(), v.dtype(), t.shape(), t.dtype()),
            ));
        }
        *v = t;
        Ok(())
    }
    pub fn is_trainable(&self) -> bool {
        self.0.kind == ParamKind::Weight && self.0.trainable.load(Ordering::Relaxed)
    }
    pub fn set_trainable(&self, on: bool) {
        self.0.trainable.store(on, Ordering::Relaxed);
    }
    /// The value as a tape leaf when trainable, else as a constant.
    pub fn var(&self) -> Var {
        if self.is_trainable() {
            Var::with_id(self.value(), self.id())
        } else {
            Var::constant(self.value())
        }
    }
}
