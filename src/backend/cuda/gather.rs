//! Launchers of `kernels/gather.cu`: gather along the middle axis of [outer, n, inner] and its
//! deterministic scatter-add adjoint. CPU twins: `gather_axis` / `scatter_add_axis` in
//! `backend/cpu/layout.rs` (which also serve integer dtypes; these take f32 and bf16).
//!
//! Index values are checked on the device (see gather.cu), so no launch waits for a download.
//! The scatter-add runs in two launches: `scatter_plan_fwd` (one block) builds the stable inverse
//! of `idx` in a workspace of n + m + 1 i64, then `scatter_add_axis_fwd` sums each bucket: O(n + m)
//! per (outer, inner) pair, no float atomics, sums in index order like the CPU twin. The
//! workspace comes from the ops layer (`ops::shape::gather`'s backward allocates it on every
//! device), so a Meta dry run accounts it like any other buffer.

use cudarc::driver::PushKernelArg;

use super::device::CudaKernels;
use super::graph::check_index;
use super::kernels::Kernel;
use super::launch::{check_distinct, check_len, check_tensors, cuda_of, grid_1d, launch};
use crate::tensor::{DType, Tensor};
use crate::{Error, Result};
use cudarc::driver::LaunchConfig;

/// Threads of the one block that builds the scatter plan (`PLAN_THREADS` in gather.cu).
pub const PLAN_THREADS: u32 = 1024;

pub use crate::backend::scatter_workspace_len;

/// `full` (x or dx, [outer, n, inner]) against `part` (y or dy, [outer, m, inner]).
fn run(
    kernel: Kernel,
    src: &Tensor,
    idx: &Tensor,
    dst: &Tensor,
    work: Option<&Tensor>,
    outer: usize,
    inner: usize,
) -> Result<()> {
    let dtype = check_tensors(kernel, &[src, dst])?;
    let gather = kernel == Kernel::GatherAxisFwd;
    let full = if gather { src } else { dst };
    let rows = outer * inner;
    if rows == 0 {
        return Ok(());
    }
    if full.numel() % rows != 0 {
        return Err(Error::shape(kernel.stem(), format!("{} elements are not [{outer}, n, {inner}]", full.numel())));
    }
    let n = full.numel() / rows;
    let m = idx.numel();
    check_index(kernel, "idx", idx, src, m)?;
    check_len(kernel, if gather { "y" } else { "dy" }, if gather { dst } else { src }, outer * m * inner)?;
    check_distinct(kernel, dst, &[src, idx])?;
    let count = dst.numel();
    if count == 0 {
        return Ok(());
    }
    let cuda = cuda_of(dst)?;
    let func = cuda.function(kernel, dtype)?;
    if let Some(work) = work {
        if work.dtype() != DType::I64 || work.numel() != scatter_workspace_len(n, m)? || work.device() != dst.device() {
            return Err(Error::shape(
                kernel.stem(),
                format!("workspace {} {} for n = {n}, m = {m}", work.dtype(), work.shape()),
            ));
        }
        check_distinct(kernel, work, &[src, idx, dst])?;
        return scatter(cuda, dtype, &func, src, idx, dst, work, (outer, n, m, inner));
    }
    let (sg, ig, mut dg) = (src.storage(), idx.storage(), dst.storage_mut());
    // SAFETY: gather_axis_fwd_T / scatter_add_axis_fwd_T(const T* src, const long long* idx,
    // T* dst, size_t outer, size_t n, size_t m, size_t inner); the full side holds outer·n·inner
    // elements, the partial side outer·m·inner and idx m i64 (checked above); the kernels read
    // the full side only at indices checked against n, and the output aliases no input.
    unsafe {
        launch(cuda, &func, grid_1d(cuda, count), |args| {
            args.arg(sg.cuda_slice()?).arg(ig.cuda_slice()?).arg(dg.cuda_slice_mut()?);
            args.arg(&outer).arg(&n).arg(&m).arg(&inner);
            Ok(())
        })
    }
}

/// The two launches of the scatter-add (see the module header).
#[allow(clippy::too_many_arguments)]
fn scatter(
    cuda: &crate::memory::cuda::CudaDevice,
    dtype: DType,
    sum: &cudarc::driver::CudaFunction,
    dy: &Tensor,
    idx: &Tensor,
    dx: &Tensor,
    work: &Tensor,
    (outer, n, m, inner): (usize, usize, usize, usize),
) -> Result<()> {
    let plan = cuda.function(Kernel::ScatterPlanFwd, dtype)?;
    {
        let (ig, mut wg) = (idx.storage(), work.storage_mut());
        let one_block = LaunchConfig { grid_dim: (1, 1, 1), block_dim: (PLAN_THREADS, 1, 1), shared_mem_bytes: 0 };
        // SAFETY: scatter_plan_fwd_T(const long long* idx, long long* work, size_t n, size_t m) in
        // one block of PLAN_THREADS threads; idx holds m i64 (checked by the caller), work
        // n + m + 1 i64 (allocated above); every index is checked against n before it is used.
        unsafe {
            launch(cuda, &plan, one_block, |args| {
                args.arg(ig.cuda_slice()?).arg(wg.cuda_slice_mut()?).arg(&n).arg(&m);
                Ok(())
            })?;
        }
    }
    let (sg, wg, mut dg) = (dy.storage(), work.storage(), dx.storage_mut());
    // SAFETY: scatter_add_axis_fwd_T(const T* dy, const long long* work, T* dx, size_t outer,
    // size_t n, size_t m, size_t inner); dy holds outer·m·inner elements and dx outer·n·inner
    // (checked by the caller), work is the plan launched before on the same stream: bucket ends
    // within 0..=m and ordered indices within 0..m.
    unsafe {
        launch(cuda, sum, grid_1d(cuda, dx.numel()), |args| {
            args.arg(sg.cuda_slice()?).arg(wg.cuda_slice()?).arg(dg.cuda_slice_mut()?);
            args.arg(&outer).arg(&n).arg(&m).arg(&inner);
            Ok(())
        })
    }
}

pub fn gather_axis(x: &Tensor, idx: &Tensor, y: &Tensor, outer: usize, inner: usize) -> Result<()> {
    run(Kernel::GatherAxisFwd, x, idx, y, None, outer, inner)
}

pub fn scatter_add_axis(
    dy: &Tensor,
    idx: &Tensor,
    dx: &Tensor,
    work: &Tensor,
    outer: usize,
    inner: usize,
) -> Result<()> {
    run(Kernel::ScatterAddAxisFwd, dy, idx, dx, Some(work), outer, inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The algorithm of `scatter_plan_fwd` (gather.cu) step for step on the CPU, threads played
    /// in turn between barriers: counts, chunked exclusive scan, tile-wise stable placement.
    fn plan_as_the_kernel_does(idx: &[i64], n: usize) -> (Vec<i64>, Vec<i64>, bool) {
        let (m, threads) = (idx.len(), PLAN_THREADS as usize);
        let mut ends = vec![0i64; n];
        let mut order = vec![-1i64; m];
        let mut bad = false;
        for &d in idx {
            if d >= 0 && (d as usize) < n {
                ends[d as usize] += 1;
            } else {
                bad = true;
            }
        }
        let chunk = n.div_ceil(threads);
        let mut sums = vec![0i64; threads];
        for (t, sum) in sums.iter_mut().enumerate() {
            let (lo, hi) = ((t * chunk).min(n), (t * chunk + chunk).min(n));
            let mut running = 0;
            for e in &mut ends[lo..hi] {
                let c = *e;
                *e = running;
                running += c;
            }
            *sum = running;
        }
        let mut acc = 0;
        for s in sums.iter_mut() {
            let c = *s;
            *s = acc;
            acc += c;
        }
        for (t, &prefix) in sums.iter().enumerate() {
            let (lo, hi) = ((t * chunk).min(n), (t * chunk + chunk).min(n));
            for e in &mut ends[lo..hi] {
                *e += prefix;
            }
        }
        for base in (0..m).step_by(threads) {
            let tile = (m - base).min(threads);
            let keys: Vec<i64> = (0..threads)
                .map(|t| match idx.get(base + t) {
                    Some(&d) if t < tile && d >= 0 && (d as usize) < n => d,
                    _ => -1,
                })
                .collect();
            let reads: Vec<(i64, usize, bool)> = (0..threads)
                .map(|t| {
                    let key = keys[t];
                    if key < 0 {
                        return (0, 0, false);
                    }
                    let rank = keys[..t].iter().filter(|&&k| k == key).count();
                    let last = keys[t + 1..tile.max(t + 1)].iter().all(|&k| k != key);
                    (ends[key as usize], rank, last)
                })
                .collect();
            for (t, &(cursor, rank, last)) in reads.iter().enumerate() {
                let key = keys[t];
                if key >= 0 {
                    order[(cursor + rank as i64) as usize] = (base + t) as i64;
                    if last {
                        ends[key as usize] = cursor + rank as i64 + 1;
                    }
                }
            }
        }
        (ends, order, bad)
    }

    /// The scatter-add the kernel computes from the plan, for one (outer, inner) column.
    fn scatter_from_plan(dy: &[f32], ends: &[i64], order: &[i64]) -> Vec<f32> {
        (0..ends.len())
            .map(|d| {
                let start = if d == 0 { 0 } else { ends[d - 1] };
                // From +0.0 as the kernel does (Rust's f32 `sum` starts at −0.0).
                (start..ends[d]).fold(0.0f32, |acc, k| acc + dy[order[k as usize] as usize])
            })
            .collect()
    }

    #[test]
    fn the_plan_is_a_stable_inverse_and_sums_in_index_order() {
        let mut rng = crate::rng::Rng::seeded(5);
        // Tiles of one index, partial tiles, repeated keys across tiles, n ≪ m and n ≫ m.
        for (n, m) in [(1, 3000), (7, 1), (1000, 301), (40_000, 40_000), (3, 1024), (5000, 2049)] {
            let idx: Vec<i64> = (0..m).map(|_| (rng.uniform() * n as f64) as i64 % n as i64).collect();
            let (ends, order, bad) = plan_as_the_kernel_does(&idx, n);
            assert!(!bad);
            // A stable counting sort gives the reference.
            let mut want: Vec<i64> = (0..m as i64).collect();
            want.sort_by_key(|&j| idx[j as usize]);
            assert_eq!(order, want, "n {n} m {m}");
            let dy: Vec<f32> = (0..m).map(|_| rng.uniform() as f32 - 0.5).collect();
            let mut twin = vec![0f32; n];
            for (j, &d) in idx.iter().enumerate() {
                twin[d as usize] += dy[j];
            }
            let got = scatter_from_plan(&dy, &ends, &order);
            assert!(got.iter().zip(&twin).all(|(a, b)| a.to_bits() == b.to_bits()), "sums in j order, bit for bit");
        }
        let (_, _, bad) = plan_as_the_kernel_does(&[0, 5, -1], 3);
        assert!(bad);
        assert_eq!(scatter_workspace_len(10, 20).unwrap(), 31);
        assert!(scatter_workspace_len(usize::MAX, 1).is_err());
    }
}
