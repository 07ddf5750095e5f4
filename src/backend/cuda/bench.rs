//! `lofi bench` for the CUDA kernels: check, then time (STYLE.md §5).
//!
//! A kernel is timed only after its selftest case passed; a wrong kernel gets no number. Timing
//! uses CUDA events around the launch alone, after warm-up launches, over many repeats, with the
//! L2 cache flushed before each repeat (by zeroing a buffer twice its size) so every repeat reads
//! from DRAM. Bandwidth is compared with a device-to-device copy timed the same way in the same
//! run, on the same card; GEMM (cuBLAS) is reported in TFLOP/s at ResNet-18 im2col shapes after a
//! check of that very shape against the CPU.

use crate::rng::Rng as LofiRng;
use cudarc::driver::sys::CUevent_flags;

use super::device::CudaKernels;
use super::kernels::Kernel;
use super::selftest::{poisoned_pair, random_pair, scaled_error, TOL_BF16, TOL_F32, TOL_TF32};
use crate::backend::cpu::CpuBackend;
use crate::backend::{Backend, Binary, SgdStep, ShiftGeom, Unary};
use crate::memory::cuda::cuda_err;
use crate::tensor::{DType, Device, Tensor};
use crate::{Error, Result};

/// Event-timed repeats of one launch.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub median_ms: f64,
    pub min_ms: f64,
    pub repeats: usize,
}

/// Times closures that enqueue GPU work on a device's stream.
pub struct Timer {
    dev: Device,
    /// Twice the L2 size, zeroed before each repeat (pool-accounted like any buffer).
    flush: Tensor,
    warmup: usize,
    repeats: usize,
}

impl Timer {
    pub fn new(dev: &Device, warmup: usize, repeats: usize) -> Result<Timer> {
        let cuda = dev.cuda_device().ok_or_else(|| Error::NoCuda("bench needs a CUDA device".into()))?;
        let flush = Tensor::zeros([(2 * cuda.l2_bytes()).max(1)], DType::U8, dev)?;
        Ok(Timer { dev: dev.clone(), flush, warmup, repeats: repeats.max(1) })
    }

    pub fn time(&self, mut launch: impl FnMut() -> Result<()>) -> Result<Timing> {
        let cuda = self.dev.cuda_device().ok_or_else(|| Error::NoCuda("bench needs a CUDA device".into()))?;
        let stream = cuda.stream();
        for _ in 0..self.warmup {
            launch()?;
        }
        let flag = Some(CUevent_flags::CU_EVENT_DEFAULT);
        let (start, end) =
            (cuda.context().new_event(flag).map_err(cuda_err)?, cuda.context().new_event(flag).map_err(cuda_err)?);
        let mut times = Vec::with_capacity(self.repeats);
        for _ in 0..self.repeats {
            {
                let mut g = self.flush.storage_mut();
                stream.memset_zeros(g.cuda_slice_mut()?).map_err(cuda_err)?;
            }
            start.record(stream).map_err(cuda_err)?;
            launch()?;
            end.record(stream).map_err(cuda_err)?;
            times.push(start.elapsed_ms(&end).map_err(cuda_err)? as f64);
        }
        times.sort_by(f64::total_cmp);
        // Non-empty: `repeats` is at least 1 (see `new`).
        Ok(Timing { median_ms: times[times.len() / 2], min_ms: times[0], repeats: times.len() })
    }
}

/// GB/s of moving `bytes` (read + written) in `ms`.
pub fn gb_per_s(bytes: usize, ms: f64) -> f64 {
    bytes as f64 / (ms * 1e-3) / 1e9
}

/// The device-to-device copy of `bytes`: the bandwidth ceiling kernels are compared with.
/// Returns the timing and the bytes moved (read + written).
pub fn copy_baseline(dev: &Device, timer: &Timer, bytes: usize) -> Result<(Timing, usize)> {
    let cuda = dev.cuda_device().ok_or_else(|| Error::NoCuda("bench needs a CUDA device".into()))?;
    let src = Tensor::zeros([bytes], DType::U8, dev)?;
    let dst = Tensor::zeros([bytes], DType::U8, dev)?;
    let timing = timer.time(|| {
        let (s, mut d) = (src.storage(), dst.storage_mut());
        cuda.stream().memcpy_dtod(s.cuda_slice()?, d.cuda_slice_mut()?).map_err(cuda_err)
    })?;
    Ok((timing, 2 * bytes))
}

/// A kernel ready to launch on bench-sized inputs, and the bytes one launch must move.
pub struct Prepared {
    pub bytes: usize,
    pub launch: Box<dyn FnMut() -> Result<()>>,
}

/// One kernel benchmark: the selftest case that must pass first, and how to set it up.
pub struct KernelBench {
    /// Equal to the selftest case's name (`relu_fwd_f32`).
    pub name: String,
    pub dtype: DType,
    prepare: fn(&Device, DType) -> Result<Prepared>,
}

impl KernelBench {
    pub fn prepare(&self, dev: &Device) -> Result<Prepared> {
        (self.prepare)(dev, self.dtype)
    }
}

/// Elements of each bench tensor: 128 MiB of f32, far above any L2.
const BENCH_N: usize = 1 << 25;

fn be() -> &'static dyn Backend {
    super::backend()
}

fn rand_dev(dims: &[usize], dt: DType, dev: &Device, seed: u64) -> Result<Tensor> {
    Ok(random_pair(dims, dt, dev, &mut LofiRng::seeded(seed))?.0)
}

/// Every benchmarked kernel for `dtype`, named like its selftest case.
pub fn kernel_benches(dtype: DType) -> Vec<KernelBench> {
    fn kb(kernel: Kernel, dtype: DType, prepare: fn(&Device, DType) -> Result<Prepared>) -> KernelBench {
        KernelBench { name: format!("{}_{}", kernel.stem(), dtype.name()), dtype, prepare }
    }
    vec![
        kb(Kernel::ReluFwd, dtype, |d, t| unary(d, t, Unary::Relu, false)),
        kb(Kernel::ReluBwd, dtype, |d, t| unary(d, t, Unary::Relu, true)),
        kb(Kernel::SigmoidFwd, dtype, |d, t| unary(d, t, Unary::Sigmoid, false)),
        kb(Kernel::SigmoidBwd, dtype, |d, t| unary(d, t, Unary::Sigmoid, true)),
        kb(Kernel::AddFwd, dtype, |d, t| binary(d, t, Binary::Add)),
        kb(Kernel::MulFwd, dtype, |d, t| binary(d, t, Binary::Mul)),
        kb(Kernel::ScaleFwd, dtype, scale),
        kb(Kernel::Fill, dtype, fill),
        kb(Kernel::AddChannelFwd, dtype, add_channel),
        kb(Kernel::ShiftFwd, dtype, |d, t| shift(d, t, true)),
        kb(Kernel::ShiftBwd, dtype, |d, t| shift(d, t, false)),
        kb(Kernel::SumAxisFwd, dtype, |d, t| sum(d, t, (BENCH_N / 1024, 1024, 1))),
        kb(Kernel::SumAxisWideFwd, dtype, |d, t| sum(d, t, (BENCH_N / (8 * 2048), 8, 2048))),
        kb(Kernel::BroadcastAxisFwd, dtype, broadcast),
        kb(Kernel::SgdUpdate, dtype, |d, t| sgd(d, t, false)),
        kb(Kernel::SgdMomentumUpdate, dtype, |d, t| sgd(d, t, true)),
    ]
}

fn unary(dev: &Device, dt: DType, op: Unary, backward: bool) -> Result<Prepared> {
    let s = dt.size_in_bytes();
    let (x, dy) = (rand_dev(&[BENCH_N], dt, dev, 1)?, rand_dev(&[BENCH_N], dt, dev, 2)?);
    let y = poisoned_pair(&[BENCH_N], dt, dev)?.0;
    let bytes = if backward { 3 * BENCH_N * s } else { 2 * BENCH_N * s };
    Ok(Prepared {
        bytes,
        launch: Box::new(move || if backward { be().unary_bwd(op, &x, &dy, &y) } else { be().unary_fwd(op, &x, &y) }),
    })
}

fn binary(dev: &Device, dt: DType, op: Binary) -> Result<Prepared> {
    let (a, b) = (rand_dev(&[BENCH_N], dt, dev, 1)?, rand_dev(&[BENCH_N], dt, dev, 2)?);
    let y = poisoned_pair(&[BENCH_N], dt, dev)?.0;
    Ok(Prepared { bytes: 3 * BENCH_N * dt.size_in_bytes(), launch: Box::new(move || be().binary_fwd(op, &a, &b, &y)) })
}

fn scale(dev: &Device, dt: DType) -> Result<Prepared> {
    let x = rand_dev(&[BENCH_N], dt, dev, 1)?;
    let y = poisoned_pair(&[BENCH_N], dt, dev)?.0;
    Ok(Prepared { bytes: 2 * BENCH_N * dt.size_in_bytes(), launch: Box::new(move || be().scale(&x, 0.5, &y)) })
}

fn fill(dev: &Device, dt: DType) -> Result<Prepared> {
    let y = poisoned_pair(&[BENCH_N], dt, dev)?.0;
    Ok(Prepared { bytes: BENCH_N * dt.size_in_bytes(), launch: Box::new(move || be().fill(&y, 1.0)) })
}

fn add_channel(dev: &Device, dt: DType) -> Result<Prepared> {
    let (channels, inner) = (256, 2048);
    let outer = BENCH_N / (channels * inner);
    let x = rand_dev(&[outer, channels, inner], dt, dev, 1)?;
    let b = rand_dev(&[channels], dt, dev, 2)?;
    let y = poisoned_pair(&[outer, channels, inner], dt, dev)?.0;
    Ok(Prepared {
        bytes: 2 * BENCH_N * dt.size_in_bytes(),
        launch: Box::new(move || be().add_channel(&x, &b, &y, outer, channels, inner)),
    })
}

fn shift(dev: &Device, dt: DType, forward: bool) -> Result<Prepared> {
    // 16 snippets of T = 8 frames, 256 channels of 32×32: a layer-3 sized activation batch.
    let dims = [128, 256, 32, 32];
    let g = ShiftGeom::new(dims, 8)?;
    let x = rand_dev(&dims, dt, dev, 1)?;
    let y = poisoned_pair(&dims, dt, dev)?.0;
    Ok(Prepared {
        bytes: 2 * x.numel() * dt.size_in_bytes(),
        launch: Box::new(move || if forward { be().shift_fwd(&g, &x, &y) } else { be().shift_bwd(&g, &x, &y) }),
    })
}

fn sum(dev: &Device, dt: DType, (outer, axis, inner): (usize, usize, usize)) -> Result<Prepared> {
    let x = rand_dev(&[outer, axis, inner], dt, dev, 1)?;
    let y = poisoned_pair(&[outer, inner], dt, dev)?.0;
    Ok(Prepared {
        bytes: (outer * axis * inner + outer * inner) * dt.size_in_bytes(),
        launch: Box::new(move || be().sum_axis(&x, &y, outer, axis, inner, 1.0)),
    })
}

fn broadcast(dev: &Device, dt: DType) -> Result<Prepared> {
    let (axis, inner) = (8, 2048);
    let outer = BENCH_N / (axis * inner);
    let x = rand_dev(&[outer, inner], dt, dev, 1)?;
    let y = poisoned_pair(&[outer, axis, inner], dt, dev)?.0;
    Ok(Prepared {
        bytes: (outer * axis * inner + outer * inner) * dt.size_in_bytes(),
        launch: Box::new(move || be().broadcast_axis(&x, &y, outer, axis, inner, 1.0)),
    })
}

fn sgd(dev: &Device, dt: DType, momentum: bool) -> Result<Prepared> {
    let (p, g, b) =
        (rand_dev(&[BENCH_N], dt, dev, 1)?, rand_dev(&[BENCH_N], dt, dev, 2)?, rand_dev(&[BENCH_N], dt, dev, 3)?);
    // A tiny lr keeps the parameters finite over thousands of repeated updates.
    let o = SgdStep { lr: 1e-6, weight_decay: 1e-4, momentum: if momentum { 0.9 } else { 0.0 } };
    let words = if momentum { 5 } else { 3 };
    Ok(Prepared {
        bytes: words * BENCH_N * dt.size_in_bytes(),
        launch: Box::new(move || be().sgd_step(&p, &g, momentum.then_some(&b), &o)),
    })
}

// ---- GEMM ------------------------------------------------------------------------------------------

/// A GEMM y[m, n] = a[m, k]·w[k, n]: a convolution of ResNet-18 as im2col, weights [c_out, c_in·k²]
/// times columns [c_in·k², frames·h_out·w_out], for one 8-frame snippet at 224².
#[derive(Debug, Clone, Copy)]
pub struct GemmShape {
    pub name: &'static str,
    pub m: usize,
    pub k: usize,
    pub n: usize,
}

pub const RESNET18_GEMMS: [GemmShape; 5] = [
    GemmShape { name: "conv1 7x7 3->64 @112", m: 64, k: 147, n: 8 * 112 * 112 },
    GemmShape { name: "layer1 3x3 64->64 @56", m: 64, k: 576, n: 8 * 56 * 56 },
    GemmShape { name: "layer2 3x3 128->128 @28", m: 128, k: 1152, n: 8 * 28 * 28 },
    GemmShape { name: "layer3 3x3 256->256 @14", m: 256, k: 2304, n: 8 * 14 * 14 },
    GemmShape { name: "layer4 3x3 512->512 @7", m: 512, k: 4608, n: 8 * 7 * 7 },
];

/// How a GEMM runs: fp32 (TF32 off), TF32 tensor cores, or bf16 tensor cores (f32 accumulate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GemmMode {
    F32,
    Tf32,
    Bf16,
}

impl GemmMode {
    pub const ALL: [GemmMode; 3] = [GemmMode::F32, GemmMode::Tf32, GemmMode::Bf16];
    pub fn name(self) -> &'static str {
        match self {
            GemmMode::F32 => "f32",
            GemmMode::Tf32 => "tf32",
            GemmMode::Bf16 => "bf16",
        }
    }
    pub fn tolerance(self) -> f64 {
        match self {
            GemmMode::F32 => TOL_F32,
            GemmMode::Tf32 => TOL_TF32,
            GemmMode::Bf16 => TOL_BF16,
        }
    }
}

/// A GEMM's check and, when it passed, its timing.
#[derive(Debug, Clone)]
pub struct GemmResult {
    pub error: f64,
    pub timing: Option<Timing>,
}

/// Checks cuBLAS on `shape` in `mode` against the CPU, then (only if within tolerance) times it.
pub fn gemm(dev: &Device, timer: &Timer, shape: GemmShape, mode: GemmMode, seed: u64) -> Result<GemmResult> {
    let cuda = dev.cuda_device().ok_or_else(|| Error::NoCuda("bench needs a CUDA device".into()))?;
    let dt = if mode == GemmMode::Bf16 { DType::BF16 } else { DType::F32 };
    let GemmShape { m, k, n, .. } = shape;
    let mut rng = LofiRng::seeded(seed);
    let (a, ac) = random_pair(&[m, k], dt, dev, &mut rng)?;
    let (w, wc) = random_pair(&[k, n], dt, dev, &mut rng)?;
    let (y, yc) = poisoned_pair(&[m, n], dt, dev)?;
    cuda.set_tf32(mode == GemmMode::Tf32)?;
    let result = (|| {
        be().matmul(&a, &w, &y, 1, m, k, n, false, false, 0.0)?;
        CpuBackend.matmul(&ac, &wc, &yc, 1, m, k, n, false, false, 0.0)?;
        let error = scaled_error(&y, &yc)?;
        // Written so that NaN fails.
        let timing = if error <= mode.tolerance() {
            Some(timer.time(|| be().matmul(&a, &w, &y, 1, m, k, n, false, false, 0.0))?)
        } else {
            None
        };
        Ok(GemmResult { error, timing })
    })();
    cuda.set_tf32(false)?;
    result
}

/// TFLOP/s of an m×k·k×n product in `ms`.
pub fn tflops(shape: GemmShape, ms: f64) -> f64 {
    2.0 * shape.m as f64 * shape.k as f64 * shape.n as f64 / (ms * 1e-3) / 1e12
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cuda::selftest::cases;

    #[test]
    fn every_bench_is_named_after_a_selftest_case() {
        let names: Vec<String> = cases().into_iter().map(|c| c.name).collect();
        for dt in crate::backend::cuda::kernels::KERNEL_DTYPES {
            for b in kernel_benches(dt) {
                assert!(names.contains(&b.name), "bench {} has no selftest case to check it first", b.name);
            }
        }
    }

    #[test]
    fn throughput_arithmetic() {
        assert!((gb_per_s(2_000_000_000, 1000.0) - 2.0).abs() < 1e-12);
        let s = GemmShape { name: "t", m: 1000, k: 1000, n: 1000 };
        assert!((tflops(s, 1.0) - 2.0).abs() < 1e-12);
    }
}
