//! CPU layout kernels: permute, axis copies (concat/slice), gather/scatter along an axis. The
//! copies work on raw elements of the dtype's width, so they serve every dtype.

use rayon::prelude::*;

use crate::tensor::{Float, Storage, Tensor};
use crate::{Error, Result};

fn raw<T: bytemuck::Pod>(s: &Storage, numel: usize) -> Result<&[T]> {
    match s {
        Storage::Cpu(v) => Ok(&bytemuck::cast_slice::<u64, T>(v.as_slice())[..numel]),
        _ => Err(Error::invalid("cpu layout", "tensor is not on the CPU")),
    }
}

fn raw_mut<T: bytemuck::Pod>(s: &mut Storage, numel: usize) -> Result<&mut [T]> {
    match s {
        Storage::Cpu(v) => Ok(&mut bytemuck::cast_slice_mut::<u64, T>(v.as_mut_slice())[..numel]),
        _ => Err(Error::invalid("cpu layout", "tensor is not on the CPU")),
    }
}

/// Calls `$f::<U>` with U the unsigned integer of the tensor's element width.
macro_rules! by_width {
    ($t:expr, $f:ident($($a:expr),*)) => {
        match $t.dtype().size_in_bytes() {
            1 => $f::<u8>($($a),*),
            2 => $f::<u16>($($a),*),
            4 => $f::<u32>($($a),*),
            _ => $f::<u64>($($a),*),
        }
    };
}

fn permute_w<U: bytemuck::Pod + Send + Sync>(x: &Tensor, perm: &[usize], y: &Tensor) -> Result<()> {
    let xs = x.storage();
    let xv = raw::<U>(&xs, x.numel())?;
    let mut ys = y.storage_mut();
    let yv = raw_mut::<U>(&mut ys, y.numel())?;
    let x_strides = x.shape().strides();
    let y_dims = y.dims().to_vec();
    // Stride in x of each output axis.
    let src_strides: Vec<usize> = perm.iter().map(|&p| x_strides[p]).collect();
    let last = y_dims.last().copied().unwrap_or(1).max(1);
    yv.par_chunks_mut(last).enumerate().for_each(|(row, out)| {
        let mut rem = row;
        let mut base = 0;
        for ax in (0..y_dims.len().saturating_sub(1)).rev() {
            base += (rem % y_dims[ax]) * src_strides[ax];
            rem /= y_dims[ax];
        }
        let step = src_strides.last().copied().unwrap_or(1);
        for (i, o) in out.iter_mut().enumerate() {
            *o = xv[base + i * step];
        }
    });
    Ok(())
}

pub fn permute(x: &Tensor, perm: &[usize], y: &Tensor) -> Result<()> {
    by_width!(x, permute_w(x, perm, y))
}

fn copy_axis_w<U: bytemuck::Pod + Send + Sync>(
    x: &Tensor,
    y: &Tensor,
    outer: usize,
    inner: usize,
    offset: usize,
    into: bool,
) -> Result<()> {
    let xs = x.storage();
    let xv = raw::<U>(&xs, x.numel())?;
    let mut ys = y.storage_mut();
    let yv = raw_mut::<U>(&mut ys, y.numel())?;
    let outer = outer.max(1);
    let (x_row, y_row) = (x.numel() / outer, y.numel() / outer);
    yv.par_chunks_mut(y_row.max(1)).zip(xv.par_chunks(x_row.max(1))).for_each(|(yr, xr)| {
        if into {
            // x is the smaller piece, placed at `offset` along y's axis
            yr[offset * inner..offset * inner + xr.len()].copy_from_slice(xr);
        } else {
            let n = yr.len();
            yr.copy_from_slice(&xr[offset * inner..offset * inner + n]);
        }
    });
    Ok(())
}

pub fn copy_into_axis(x: &Tensor, y: &Tensor, outer: usize, inner: usize, offset: usize) -> Result<()> {
    by_width!(x, copy_axis_w(x, y, outer, inner, offset, true))
}

pub fn copy_from_axis(x: &Tensor, y: &Tensor, outer: usize, inner: usize, offset: usize) -> Result<()> {
    by_width!(x, copy_axis_w(x, y, outer, inner, offset, false))
}

fn indices(idx: &Tensor, n: usize) -> Result<Vec<usize>> {
    idx.cpu::<i64>()?
        .iter()
        .map(|&i| {
            usize::try_from(i)
                .ok()
                .filter(|&u| u < n)
                .ok_or_else(|| Error::invalid("gather", format!("index {i} out of range 0..{n}")))
        })
        .collect()
}

fn gather_w<U: bytemuck::Pod + Send + Sync>(
    x: &Tensor,
    idx: &Tensor,
    y: &Tensor,
    outer: usize,
    inner: usize,
) -> Result<()> {
    let outer = outer.max(1);
    let n = x.numel() / outer / inner.max(1);
    let ids = indices(idx, n)?;
    let xs = x.storage();
    let xv = raw::<U>(&xs, x.numel())?;
    let mut ys = y.storage_mut();
    let yv = raw_mut::<U>(&mut ys, y.numel())?;
    let m = ids.len();
    yv.par_chunks_mut((m * inner).max(1)).enumerate().for_each(|(o, yr)| {
        for (j, &src) in ids.iter().enumerate() {
            let from = (o * n + src) * inner;
            yr[j * inner..(j + 1) * inner].copy_from_slice(&xv[from..from + inner]);
        }
    });
    Ok(())
}

pub fn gather_axis(x: &Tensor, idx: &Tensor, y: &Tensor, outer: usize, inner: usize) -> Result<()> {
    by_width!(x, gather_w(x, idx, y, outer, inner))
}

/// Sequential over the index list within each outer row, so repeated indices always accumulate in
/// the same order (deterministic, whatever the thread count).
pub fn scatter_add_axis<T: Float>(dy: &Tensor, idx: &Tensor, dx: &Tensor, outer: usize, inner: usize) -> Result<()> {
    let outer = outer.max(1);
    let n = dx.numel() / outer / inner.max(1);
    let ids = indices(idx, n)?;
    let dyv = dy.cpu::<T>()?;
    let mut dxv = dx.cpu_mut::<T>()?;
    let m = ids.len();
    dxv.par_chunks_mut((n * inner).max(1)).enumerate().for_each(|(o, xr)| {
        xr.iter_mut().for_each(|v| *v = T::zero());
        for (j, &dst) in ids.iter().enumerate() {
            let from = (o * m + j) * inner;
            for i in 0..inner {
                xr[dst * inner + i] += dyv[from + i];
            }
        }
    });
    Ok(())
}
