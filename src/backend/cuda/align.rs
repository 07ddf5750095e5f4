//! Launchers of `kernels/align.cu`: Align1D forward and its deterministic backward. CPU twin:
//! `backend/cpu/align.rs`.
//!
//! The rois ([R, 3], a few thousand rows at most) are downloaded and validated on the host with
//! the twin's rules before either launch, so a bad roi is the same error on both backends; the
//! download waits for the stream.
//!
//! The backward has two kernels (see align.cu): `align1d_bwd`, one block per dx row with private
//! shared-memory rows, for L ≤ `SMEM_L`; `align1d_long_bwd`, a per-element gather, beyond. Both
//! are deterministic.

use cudarc::driver::PushKernelArg;

use super::device::CudaKernels;
use super::kernels::Kernel;
use super::launch::{blocks, check_distinct, check_len, check_tensors, cuda_of, grid_1d, launch};
use crate::tensor::Tensor;
use crate::{Error, Result};

/// Longest feature `align1d_bwd` takes; must equal ALIGN_SMEM_L in align.cu.
pub const SMEM_L: usize = 384;
/// Shared memory of one `align1d_bwd` block: the private rows of its threads.
const SMEM_BYTES: usize = 48 * 1024;

/// The backward kernel `align1d_bwd` launches for a feature of length `l`.
pub fn bwd_kernel_for(l: usize) -> Kernel {
    if l <= SMEM_L {
        Kernel::Align1dBwd
    } else {
        Kernel::Align1dLongBwd
    }
}

/// Threads of an `align1d_bwd` block: 64, or 32 when 64 private rows of `l` floats do not fit.
/// A function of `l` alone, so the summation order is too.
fn smem_threads(l: usize) -> u32 {
    if 64 * l * 4 <= SMEM_BYTES {
        64
    } else {
        32
    }
}

/// Samples per bin beyond which a roi is refused (the twin's limit).
const MAX_GRID: f32 = (1u32 << 24) as f32;

/// Checks every roi as the CPU twin does: finite, an exact batch index in 0..batch, and at most
/// 2^24 samples per bin (computed in f32, as the kernel does).
fn check_rois(rois: &Tensor, batch: usize, bins: usize) -> Result<()> {
    let values = rois.to_f64_vec()?;
    for (r, row) in values.chunks_exact(3).enumerate() {
        // Exact: the rois are f32 or bf16 values.
        let (b, s, e) = (row[0] as f32, row[1] as f32, row[2] as f32);
        if !(b.is_finite() && s.is_finite() && e.is_finite()) {
            return Err(Error::invalid("align1d", format!("roi {r} is not finite")));
        }
        if b < 0.0 || b.fract() != 0.0 || b as usize >= batch {
            return Err(Error::invalid("align1d", format!("roi {r}: batch index {b} not in 0..{batch}")));
        }
        let len = (e - s).max(1.0);
        let grid = (len / bins as f32).ceil();
        if grid > MAX_GRID {
            return Err(Error::invalid("align1d", format!("roi {r} of length {len} needs {grid} samples per bin")));
        }
    }
    Ok(())
}

/// Forward (`src` = x, `dst` = y) or backward (`src` = dy, `dst` = dx).
fn align(kernel: Kernel, src: &Tensor, rois: &Tensor, dst: &Tensor, bins: usize, fwd: bool) -> Result<()> {
    let dtype = check_tensors(kernel, &[src, rois, dst])?;
    let feat = if fwd { src } else { dst };
    let [batch, c, l] = feat.shape().dims_n::<3>(kernel.stem())?;
    let n_rois = rois.numel() / 3;
    check_len(kernel, "rois", rois, n_rois * 3)?;
    check_len(kernel, if fwd { "y" } else { "dy" }, if fwd { dst } else { src }, n_rois * c * bins)?;
    check_distinct(kernel, dst, &[src, rois])?;
    let n = dst.numel();
    if n == 0 {
        return Ok(());
    }
    if bins == 0 || l == 0 {
        return Err(Error::shape(kernel.stem(), format!("{bins} bins over a feature of length {l}")));
    }
    check_rois(rois, batch, bins)?;
    let cuda = cuda_of(dst)?;
    let func = cuda.function(kernel, dtype)?;
    let cfg = if kernel == Kernel::Align1dBwd {
        let threads = smem_threads(l);
        let mut cfg = blocks(cuda, batch * c, (threads, 1, 1));
        // Fits u32: at most SMEM_BYTES (l ≤ SMEM_L, checked by bwd_kernel_for).
        cfg.shared_mem_bytes = (threads as usize * l * 4) as u32;
        cfg
    } else {
        grid_1d(cuda, n)
    };
    let (sg, rg, mut dg) = (src.storage(), rois.storage(), dst.storage_mut());
    // SAFETY: align1d_{fwd,bwd}_T(const T* src, const T* rois, T* dst, size_t batch, size_t c,
    // size_t l, size_t n_rois, size_t bins); the [B, C, L] side holds batch·c·l elements (its
    // shape), rois n_rois·3 and the [R, C, P] side n_rois·c·bins (checked above); taps stay in
    // 0..l (l ≥ 1), the kernel skips a roi whose batch index is not in 0..batch, and the output
    // aliases no input. align1d_bwd indexes its dynamic shared memory below blockDim·l floats,
    // the size given here.
    unsafe {
        launch(cuda, &func, cfg, |args| {
            args.arg(sg.cuda_slice()?).arg(rg.cuda_slice()?).arg(dg.cuda_slice_mut()?);
            args.arg(&batch).arg(&c).arg(&l).arg(&n_rois).arg(&bins);
            Ok(())
        })
    }
}

pub fn align1d_fwd(x: &Tensor, rois: &Tensor, y: &Tensor, bins: usize) -> Result<()> {
    align(Kernel::Align1dFwd, x, rois, y, bins, true)
}

pub fn align1d_bwd(dy: &Tensor, rois: &Tensor, dx: &Tensor, bins: usize) -> Result<()> {
    let l = dx.dims().last().copied().unwrap_or(0);
    align(bwd_kernel_for(l), dy, rois, dx, bins, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu::CpuBackend;
    use crate::backend::Backend;
    use crate::tensor::{DType, Device};

    /// Whether the CPU twin runs on `rois` (batch 2, L 10, `bins` bins).
    fn cpu_accepts(rois: &[f32], bins: usize) -> bool {
        let cpu = Device::cpu();
        let r = rois.len() / 3;
        let x = Tensor::zeros([2, 2, 10], DType::F32, &cpu).unwrap();
        let ro = Tensor::from_slice(rois, [r, 3], &cpu).unwrap();
        let y = Tensor::zeros([r, 2, bins], DType::F32, &cpu).unwrap();
        CpuBackend.align1d_fwd(&x, &ro, &y, bins).is_ok()
    }

    #[test]
    fn host_roi_checks_agree_with_the_cpu_twin() {
        let cases: [[f32; 3]; 9] = [
            [0.0, 1.0, 5.0],
            [1.0, -3.0, 12.0],
            [1.0, 4.0, 2.0],
            [2.0, 0.0, 1.0],
            [-1.0, 0.0, 1.0],
            [0.5, 0.0, 1.0],
            [0.0, f32::NAN, 1.0],
            [0.0, 0.0, f32::INFINITY],
            [0.0, -1e9, 1e9],
        ];
        for rois in cases {
            let t = Tensor::from_slice(&rois, [1, 3], &Device::cpu()).unwrap();
            assert_eq!(check_rois(&t, 2, 4).is_ok(), cpu_accepts(&rois, 4), "{rois:?}");
        }
    }

    #[test]
    fn the_backward_kernel_follows_the_feature_length() {
        assert_eq!(bwd_kernel_for(1), Kernel::Align1dBwd);
        assert_eq!(bwd_kernel_for(SMEM_L), Kernel::Align1dBwd);
        assert_eq!(bwd_kernel_for(SMEM_L + 1), Kernel::Align1dLongBwd);
        // 32 private rows of the longest feature fit the block's shared memory.
        assert!(smem_threads(SMEM_L) as usize * SMEM_L * 4 <= SMEM_BYTES);
        assert_eq!(smem_threads(100), 64);
    }
}
