//! Typed views of CPU tensors for kernels: `x.cpu::<f32>()?` derefs to `&[f32]`,
//! `y.cpu_mut::<f32>()?` to `&mut [f32]`. The dtype and device are checked once, when the view is made.

use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::sync::{RwLockReadGuard, RwLockWriteGuard};

use super::{DType, Element, Storage, Tensor};
use crate::{Error, Result};

pub struct CpuRef<'a, T> {
    guard: RwLockReadGuard<'a, Storage>,
    numel: usize,
    _t: PhantomData<T>,
}

pub struct CpuMut<'a, T> {
    guard: RwLockWriteGuard<'a, Storage>,
    numel: usize,
    _t: PhantomData<T>,
}

fn check<T: Element>(t: &Tensor) -> Result<()> {
    if t.dtype() != T::DTYPE {
        return Err(Error::DType { op: "cpu kernel", got: t.dtype().to_string(), expected: T::DTYPE.to_string() });
    }
    if !t.device().is_cpu() {
        return Err(Error::invalid("cpu kernel", format!("tensor on {:?}", t.device())));
    }
    Ok(())
}

fn elems<T: Element>(s: &Storage, numel: usize) -> &[T] {
    match s {
        Storage::Cpu(v) => &bytemuck::cast_slice::<u64, T>(v.as_slice())[..numel],
        // Unreachable: `check` accepted only CPU tensors, whose storage is `Storage::Cpu`.
        _ => &[],
    }
}

impl Tensor {
    /// Read view of a CPU tensor's elements.
    pub fn cpu<T: Element>(&self) -> Result<CpuRef<'_, T>> {
        check::<T>(self)?;
        Ok(CpuRef { guard: self.storage(), numel: self.numel(), _t: PhantomData })
    }
    /// Write view of a CPU tensor's elements.
    pub fn cpu_mut<T: Element>(&self) -> Result<CpuMut<'_, T>> {
        check::<T>(self)?;
        Ok(CpuMut { guard: self.storage_mut(), numel: self.numel(), _t: PhantomData })
    }
}

impl<T: Element> Deref for CpuRef<'_, T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        elems(&self.guard, self.numel)
    }
}

impl<T: Element> Deref for CpuMut<'_, T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        elems(&self.guard, self.numel)
    }
}

impl<T: Element> DerefMut for CpuMut<'_, T> {
    fn deref_mut(&mut self) -> &mut [T] {
        match &mut *self.guard {
            Storage::Cpu(v) => &mut bytemuck::cast_slice_mut::<u64, T>(v.as_mut_slice())[..self.numel],
            _ => &mut [],
        }
    }
}

/// Float element types the CPU kernels are generic over (f32 for speed, f64 for gradcheck).
pub trait Float:
    Element + num_traits::Float + std::iter::Sum + std::ops::AddAssign + std::ops::SubAssign + std::ops::MulAssign
{
    fn of(v: f64) -> Self {
        <Self as Element>::of_f64(v)
    }
}
impl Float for f32 {}
impl Float for f64 {}

/// Dtype check used by dispatchers that only accept f32/f64.
pub fn float_dtype(op: &'static str, d: DType) -> Result<()> {
    match d {
        DType::F32 | DType::F64 => Ok(()),
        _ => Err(Error::DType { op, got: d.to_string(), expected: "f32 or f64".into() }),
    }
}
