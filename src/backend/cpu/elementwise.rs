//! CPU elementwise kernels: relu, sigmoid, add/sub/mul, scale, fill, cast, per-channel bias.

use rayon::prelude::*;

use crate::backend::{Binary, Unary};
use crate::tensor::{DType, Element, Float, Tensor};
use crate::{Error, Result};

/// Elements per rayon task: large enough that scheduling costs nothing next to the work.
pub(super) const GRAIN: usize = 1 << 14;

pub fn unary_fwd<T: Float>(op: Unary, x: &Tensor, y: &Tensor) -> Result<()> {
    let x = x.cpu::<T>()?;
    let mut y = y.cpu_mut::<T>()?;
    y.par_chunks_mut(GRAIN).zip(x.par_chunks(GRAIN)).for_each(|(y, x)| match op {
        Unary::Relu => y.iter_mut().zip(x).for_each(|(y, &x)| *y = if x > T::zero() { x } else { T::zero() }),
        Unary::Sigmoid => y.iter_mut().zip(x).for_each(|(y, &x)| *y = T::one() / (T::one() + (-x).exp())),
    });
    Ok(())
}

pub fn unary_bwd<T: Float>(op: Unary, saved: &Tensor, dy: &Tensor, dx: &Tensor) -> Result<()> {
    let s = saved.cpu::<T>()?;
    let dy = dy.cpu::<T>()?;
    let mut dx = dx.cpu_mut::<T>()?;
    dx.par_chunks_mut(GRAIN).zip(s.par_chunks(GRAIN).zip(dy.par_chunks(GRAIN))).for_each(|(dx, (s, dy))| {
        for ((dx, &y), &g) in dx.iter_mut().zip(s).zip(dy) {
            *dx = match op {
                // relu'(0) = 0, as PyTorch (golden README item 7)
                Unary::Relu => {
                    if y > T::zero() {
                        g
                    } else {
                        T::zero()
                    }
                }
                Unary::Sigmoid => g * y * (T::one() - y),
            }
        }
    });
    Ok(())
}

pub fn binary_fwd<T: Float>(op: Binary, a: &Tensor, b: &Tensor, y: &Tensor) -> Result<()> {
    let a = a.cpu::<T>()?;
    let b = b.cpu::<T>()?;
    let mut y = y.cpu_mut::<T>()?;
    y.par_chunks_mut(GRAIN).zip(a.par_chunks(GRAIN).zip(b.par_chunks(GRAIN))).for_each(|(y, (a, b))| {
        for ((y, &a), &b) in y.iter_mut().zip(a).zip(b) {
            *y = match op {
                Binary::Add => a + b,
                Binary::Sub => a - b,
                Binary::Mul => a * b,
            }
        }
    });
    Ok(())
}

pub fn scale<T: Float>(x: &Tensor, alpha: f64, y: &Tensor) -> Result<()> {
    let alpha = T::of(alpha);
    let x = x.cpu::<T>()?;
    let mut y = y.cpu_mut::<T>()?;
    y.par_chunks_mut(GRAIN).zip(x.par_chunks(GRAIN)).for_each(|(y, x)| {
        y.iter_mut().zip(x).for_each(|(y, &x)| *y = alpha * x);
    });
    Ok(())
}

fn fill_as<T: Element>(y: &Tensor, value: f64) -> Result<()> {
    let v = T::of_f64(value);
    y.cpu_mut::<T>()?.iter_mut().for_each(|e| *e = v);
    Ok(())
}

pub fn fill(y: &Tensor, value: f64) -> Result<()> {
    match y.dtype() {
        DType::F32 => fill_as::<f32>(y, value),
        DType::F64 => fill_as::<f64>(y, value),
        DType::BF16 => fill_as::<half::bf16>(y, value),
        DType::F16 => fill_as::<half::f16>(y, value),
        DType::I32 => fill_as::<i32>(y, value),
        DType::I64 => fill_as::<i64>(y, value),
        DType::U8 => fill_as::<u8>(y, value),
    }
}

fn read_f64<T: Element>(x: &Tensor) -> Result<Vec<f64>> {
    Ok(x.cpu::<T>()?.iter().map(|v| v.as_f64()).collect())
}

fn write_f64<T: Element>(y: &Tensor, v: &[f64]) -> Result<()> {
    y.cpu_mut::<T>()?.iter_mut().zip(v).for_each(|(y, &v)| *y = T::of_f64(v));
    Ok(())
}

fn convert<A: Element, B: Element>(x: &Tensor, y: &Tensor, f: fn(A) -> B) -> Result<()> {
    let x = x.cpu::<A>()?;
    let mut y = y.cpu_mut::<B>()?;
    y.par_chunks_mut(GRAIN).zip(x.par_chunks(GRAIN)).for_each(|(y, x)| {
        y.iter_mut().zip(x).for_each(|(y, &x)| *y = f(x));
    });
    Ok(())
}

/// Any dtype to any dtype through f64, which holds every value of every dtype exactly; the
/// narrowing step rounds to nearest (floats) or truncates toward zero (integers, as `as` does).
pub fn cast(x: &Tensor, y: &Tensor) -> Result<()> {
    // The conversions of the bf16 policy (`reduced.rs`) go direct, without an f64 buffer: f32 →
    // bf16 rounds to nearest even either way, and bf16 → f32 is exact.
    match (x.dtype(), y.dtype()) {
        (DType::F32, DType::BF16) => return convert(x, y, half::bf16::from_f32),
        (DType::BF16, DType::F32) => return convert(x, y, half::bf16::to_f32),
        (DType::F32, DType::F16) => return convert(x, y, half::f16::from_f32),
        (DType::F16, DType::F32) => return convert(x, y, half::f16::to_f32),
        _ => {}
    }
    let v = match x.dtype() {
        DType::F32 => read_f64::<f32>(x)?,
        DType::F64 => read_f64::<f64>(x)?,
        DType::BF16 => read_f64::<half::bf16>(x)?,
        DType::F16 => read_f64::<half::f16>(x)?,
        DType::I32 => read_f64::<i32>(x)?,
        DType::I64 => read_f64::<i64>(x)?,
        DType::U8 => read_f64::<u8>(x)?,
    };
    match y.dtype() {
        DType::F32 => write_f64::<f32>(y, &v),
        DType::F64 => write_f64::<f64>(y, &v),
        DType::BF16 => write_f64::<half::bf16>(y, &v),
        DType::F16 => write_f64::<half::f16>(y, &v),
        DType::I32 => write_f64::<i32>(y, &v),
        DType::I64 => write_f64::<i64>(y, &v),
        DType::U8 => write_f64::<u8>(y, &v),
    }
}

pub fn add_channel<T: Float>(
    x: &Tensor,
    b: &Tensor,
    y: &Tensor,
    _outer: usize,
    channels: usize,
    inner: usize,
) -> Result<()> {
    let x = x.cpu::<T>()?;
    let b = b.cpu::<T>()?;
    let mut y = y.cpu_mut::<T>()?;
    if b.len() != channels {
        return Err(Error::shape("add_channel", format!("bias of {} for {channels} channels", b.len())));
    }
    y.par_chunks_mut(inner.max(1)).zip(x.par_chunks(inner.max(1))).enumerate().for_each(|(row, (y, x))| {
        let bias = b[row % channels];
        y.iter_mut().zip(x).for_each(|(y, &x)| *y = x + bias);
    });
    Ok(())
}

pub fn normalize_frames<T: Float>(x: &Tensor, y: &Tensor, norm: &crate::normalization::Normalization) -> Result<()> {
    let [_n, h, w, c] = x.shape().dims_n::<4>("normalize_frames")?;
    if c != 3 {
        return Err(Error::shape("normalize_frames", format!("frames {} are not RGB", x.shape())));
    }
    let xv = x.cpu::<u8>()?;
    let mut yv = y.cpu_mut::<T>()?;
    let hw = h * w;
    // One task per (frame, channel) plane; the 256-entry table makes the conversion exact and cheap.
    yv.par_chunks_mut(hw.max(1)).enumerate().for_each(|(plane, out)| {
        let (f, ch) = (plane / 3, plane % 3);
        let table: Vec<T> = (0..=255u8).map(|v| T::of(norm.apply(v, ch) as f64)).collect();
        let src = &xv[f * hw * 3..(f + 1) * hw * 3];
        for (i, o) in out.iter_mut().enumerate() {
            *o = table[src[i * 3 + ch] as usize];
        }
    });
    Ok(())
}
