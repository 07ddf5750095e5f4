//! `lofi selftest`: every CUDA kernel against its CPU twin on fresh random inputs.
//!
//! Each case draws random inputs, rounds them to the kernel's dtype so both sides see identical
//! values, runs the CUDA kernel into outputs poisoned with NaN (an element the kernel fails to
//! write shows up as NaN, and NaN never passes), runs the CPU twin in f32 on the same values, and
//! reports the worst per-element error over the case's outputs (`compare`: relative with an
//! absolute floor; index outputs exactly). Every case runs twice on the same inputs, and the two
//! runs' outputs must agree bit for bit (determinism). Tolerances: 1e-5 for fp32 with TF32 off,
//! 2e-3 for TF32 GEMM, 2e-2 for bf16. Sizes make every grid-stride and block loop run more than
//! once on devices of up to `MAX_SMS` multiprocessors (a unit test checks the arithmetic). The
//! list of cases covers every entry of the kernel registry (a unit test checks that), and a unit
//! test runs every f32 case with the CPU standing in for the device.

pub mod compare;
mod head;

use crate::rng::Rng as LofiRng;
use rand::Rng as _;

mod adam;
mod conv;
mod convert;
mod layout;
mod norm;
mod pool;

use super::device::CudaKernels;
use super::kernels::Kernel;
use super::reduce::sum_kernel_for;
use crate::backend::cpu::CpuBackend;
use crate::backend::{Backend, Binary, SgdStep, ShiftGeom, Unary};
use crate::tensor::{DType, Device, Tensor};
use crate::{Error, Result};

pub use compare::{cpu_standin, with_cpu_standin};

/// The largest device the case sizes are made for (an H200 has 132 SMs): the grid cap of
/// `launch::blocks` is 16 blocks per SM, so loops over more than `MAX_GRID_BLOCKS` blocks, or
/// more than `MAX_GRID_BLOCKS · 256` elements, run at least twice.
pub const MAX_SMS: usize = 160;
pub const MAX_GRID_BLOCKS: usize = MAX_SMS * 16;

pub const TOL_F32: f64 = 1e-5;
pub const TOL_TF32: f64 = 2e-3;
pub const TOL_BF16: f64 = 2e-2;

/// One case's outcome.
#[derive(Debug, Clone)]
pub struct Check {
    /// The entry point checked (`relu_fwd_bf16`), or `matmul_<f32|tf32|bf16>` for cuBLAS.
    pub name: String,
    /// The worst per-tensor scaled error (NaN when an output was left unwritten).
    pub error: f64,
    pub tolerance: f64,
    /// Why the case could not run (a module that did not load, a launch error).
    pub failure: Option<String>,
}

impl Check {
    pub fn passed(&self) -> bool {
        // Written so that NaN fails.
        self.failure.is_none() && self.error <= self.tolerance
    }
}

/// How a case runs: the device, the dtype and the random source.
type Run = fn(&Device, DType, &mut LofiRng) -> Result<f64>;

/// One check: the entry points it exercises (all with `dtype`), and how to run it.
pub struct Case {
    pub name: String,
    pub kernels: Vec<Kernel>,
    pub dtype: DType,
    /// TF32 tensor cores on for this case (GEMM only).
    pub tf32: bool,
    pub tolerance: f64,
    run: Run,
}

impl Case {
    fn new(kernel: Kernel, dtype: DType, run: Run) -> Case {
        Case::covering(&format!("{}_{}", kernel.stem(), dtype.name()), &[kernel], dtype, run)
    }
    fn covering(name: &str, kernels: &[Kernel], dtype: DType, run: Run) -> Case {
        let tolerance = if dtype == DType::BF16 { TOL_BF16 } else { TOL_F32 };
        Case { name: name.to_string(), kernels: kernels.to_vec(), dtype, tf32: false, tolerance, run }
    }

    /// Runs the case on `dev` (a CUDA device, or any device under `with_cpu_standin`) twice with
    /// inputs drawn from `seed`: the error is the first run's, and a difference between the two
    /// runs' outputs is a failure.
    pub fn run(&self, dev: &Device, seed: u64) -> Check {
        let once = || -> Result<(f64, Vec<u64>)> {
            let mut rng = LofiRng::seeded(seed);
            compare::start_recording();
            let err = (self.run)(dev, self.dtype, &mut rng)?;
            Ok((err, compare::take_digests()))
        };
        let result = (|| {
            let cuda = dev.cuda_device();
            if cuda.is_none() && !cpu_standin() {
                return Err(Error::NoCuda("selftest needs a CUDA device".into()));
            }
            if let Some(c) = cuda {
                c.set_tf32(self.tf32)?;
            }
            let runs = once().and_then(|first| once().map(|second| (first, second)));
            if let Some(c) = cuda {
                c.set_tf32(false)?;
            }
            let ((err, first), (_, second)) = runs?;
            if first != second {
                let k = first.iter().zip(&second).position(|(a, b)| a != b).unwrap_or(first.len().min(second.len()));
                return Err(Error::Cuda(format!(
                    "not deterministic: output {k} differs between two runs on the same inputs"
                )));
            }
            Ok(err)
        })();
        match result {
            Ok(error) => Check { name: self.name.clone(), error, tolerance: self.tolerance, failure: None },
            Err(e) => Check {
                name: self.name.clone(),
                error: f64::NAN,
                tolerance: self.tolerance,
                failure: Some(e.to_string()),
            },
        }
    }
}

/// Every case, in registry order; each kernel × dtype appears in at least one.
pub fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    for dtype in super::kernels::KERNEL_DTYPES {
        v.push(Case::new(Kernel::ReluFwd, dtype, |d, t, r| unary_fwd(d, t, r, Unary::Relu)));
        v.push(Case::new(Kernel::ReluBwd, dtype, |d, t, r| unary_bwd(d, t, r, Unary::Relu)));
        v.push(Case::new(Kernel::SigmoidFwd, dtype, |d, t, r| unary_fwd(d, t, r, Unary::Sigmoid)));
        v.push(Case::new(Kernel::SigmoidBwd, dtype, |d, t, r| unary_bwd(d, t, r, Unary::Sigmoid)));
        v.push(Case::new(Kernel::AddFwd, dtype, |d, t, r| binary(d, t, r, Binary::Add)));
        v.push(Case::new(Kernel::SubFwd, dtype, |d, t, r| binary(d, t, r, Binary::Sub)));
        v.push(Case::new(Kernel::MulFwd, dtype, |d, t, r| binary(d, t, r, Binary::Mul)));
        v.push(Case::new(Kernel::ScaleFwd, dtype, scale));
        v.push(Case::new(Kernel::Fill, dtype, fill));
        v.push(Case::new(Kernel::AddChannelFwd, dtype, add_channel));
        v.push(Case::new(Kernel::ShiftFwd, dtype, |d, t, r| shift(d, t, r, true)));
        v.push(Case::new(Kernel::ShiftBwd, dtype, |d, t, r| shift(d, t, r, false)));
        v.push(Case::new(Kernel::SumAxisFwd, dtype, sum_rows));
        v.push(Case::new(Kernel::SumAxisWideFwd, dtype, sum_wide));
        v.push(Case::new(Kernel::BroadcastAxisFwd, dtype, broadcast));
        v.push(Case::new(Kernel::SgdUpdate, dtype, |d, t, r| sgd(d, t, r, false)));
        v.push(Case::new(Kernel::SgdMomentumUpdate, dtype, |d, t, r| sgd(d, t, r, true)));
        head::push_cases(&mut v, dtype);
        v.extend(adam::cases(dtype));
        v.extend(pool::cases(dtype));
        v.extend(layout::cases(dtype));
        v.extend(convert::cases(dtype));
        v.extend(norm::cases(dtype));
        v.extend(conv::cases(dtype));
    }
    v.push(Case::covering("matmul_f32", &[], DType::F32, matmul));
    v.push(Case { tf32: true, tolerance: TOL_TF32, ..Case::covering("matmul_tf32", &[], DType::F32, matmul) });
    v.push(Case::covering("matmul_bf16", &[], DType::BF16, matmul));
    v
}

/// Runs every case on `dev`, calling `report` after each (the CLI prints as results arrive).
pub fn run_all(dev: &Device, seed: u64, mut report: impl FnMut(&Check)) -> Vec<Check> {
    cases()
        .iter()
        .enumerate()
        .map(|(i, case)| {
            let check = case.run(dev, seed.wrapping_add(i as u64));
            report(&check);
            check
        })
        .collect()
}

// ---- inputs and comparison -----------------------------------------------------------------------

/// A random tensor on `dev` in `dtype` and its CPU f32 twin holding the same (rounded) values.
pub(crate) fn random_pair(dims: &[usize], dtype: DType, dev: &Device, rng: &mut LofiRng) -> Result<(Tensor, Tensor)> {
    let n: usize = dims.iter().product();
    let values: Vec<f32> = (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect();
    pair_of(&values, dims, dtype, dev)
}

/// A random tensor with values in [lo, hi), rounded to `dtype`, and its CPU f32 twin.
fn uniform_pair(
    dims: &[usize],
    lo: f32,
    hi: f32,
    dt: DType,
    dev: &Device,
    rng: &mut LofiRng,
) -> Result<(Tensor, Tensor)> {
    let n: usize = dims.iter().product();
    let values: Vec<f32> = (0..n).map(|_| rng.random_range(lo..hi)).collect();
    pair_of(&values, dims, dt, dev)
}

/// `values` rounded to `dtype` on `dev`, and the same rounded values as a CPU f32 tensor.
fn pair_of(values: &[f32], dims: &[usize], dtype: DType, dev: &Device) -> Result<(Tensor, Tensor)> {
    match dtype {
        DType::F32 => Ok((Tensor::from_slice(values, dims, dev)?, Tensor::from_slice(values, dims, &Device::cpu())?)),
        DType::BF16 => {
            let rounded: Vec<half::bf16> = values.iter().map(|&v| half::bf16::from_f32(v)).collect();
            let back: Vec<f32> = rounded.iter().map(|v| v.to_f32()).collect();
            Ok((Tensor::from_slice(&rounded, dims, dev)?, Tensor::from_slice(&back, dims, &Device::cpu())?))
        }
        other => Err(Error::DType { op: "selftest", got: other.to_string(), expected: "f32 or bf16".into() }),
    }
}

/// An output on `dev` filled with NaN, and a zeroed CPU f32 twin.
pub(crate) fn poisoned_pair(dims: &[usize], dtype: DType, dev: &Device) -> Result<(Tensor, Tensor)> {
    let n: usize = dims.iter().product();
    let gpu = match dtype {
        DType::F32 => Tensor::full(f32::NAN, dims, dev)?,
        DType::BF16 => Tensor::full(half::bf16::NAN, dims, dev)?,
        other => return Err(Error::DType { op: "selftest", got: other.to_string(), expected: "f32 or bf16".into() }),
    };
    Ok((gpu, Tensor::zeros([n], DType::F32, &Device::cpu())?.reshape(dims)?))
}

/// The absolute floor of the per-element error for the unit-scale values the cases draw.
pub const UNIT_FLOOR: f64 = 1.0;

/// The worst per-element error of one floating output (`compare::element_error` at the unit
/// floor); NaN or ∞ anywhere makes it NaN (a failure). Records the output for the determinism
/// check.
pub(crate) fn scaled_error(gpu: &Tensor, cpu: &Tensor) -> Result<f64> {
    compare::element_error(gpu, cpu, UNIT_FLOOR)
}

/// The backend under test: CUDA, or the CPU under `with_cpu_standin`.
fn cuda() -> &'static dyn Backend {
    if cpu_standin() {
        &CpuBackend
    } else {
        super::backend()
    }
}

// ---- the cases -------------------------------------------------------------------------------------
// Sizes are odd on purpose: tails of grid-stride loops, partial warps and partial tiles all run.

const N: usize = (1 << 20) + 17;

fn unary_fwd(dev: &Device, dt: DType, rng: &mut LofiRng, op: Unary) -> Result<f64> {
    let (x, xc) = random_pair(&[N], dt, dev, rng)?;
    let (y, yc) = poisoned_pair(&[N], dt, dev)?;
    cuda().unary_fwd(op, &x, &y)?;
    CpuBackend.unary_fwd(op, &xc, &yc)?;
    scaled_error(&y, &yc)
}

fn unary_bwd(dev: &Device, dt: DType, rng: &mut LofiRng, op: Unary) -> Result<f64> {
    // `saved` is the forward output: relu outputs are ≥ 0 with many zeros, sigmoid's lie in (0, 1).
    let (x, xc) = random_pair(&[N], dt, dev, rng)?;
    let (s, sc) = poisoned_pair(&[N], dt, dev)?;
    cuda().unary_fwd(op, &x, &s)?;
    CpuBackend.unary_fwd(op, &xc, &sc)?;
    // The CPU backward reads the GPU's saved values, so both backward passes see the same input.
    let sc = Tensor::from_vec(s.to_f64_vec()?.into_iter().map(|v| v as f32).collect::<Vec<_>>(), [N], &Device::cpu())?;
    let (dy, dyc) = random_pair(&[N], dt, dev, rng)?;
    let (dx, dxc) = poisoned_pair(&[N], dt, dev)?;
    cuda().unary_bwd(op, &s, &dy, &dx)?;
    CpuBackend.unary_bwd(op, &sc, &dyc, &dxc)?;
    scaled_error(&dx, &dxc)
}

fn binary(dev: &Device, dt: DType, rng: &mut LofiRng, op: Binary) -> Result<f64> {
    let (a, ac) = random_pair(&[N], dt, dev, rng)?;
    let (b, bc) = random_pair(&[N], dt, dev, rng)?;
    let (y, yc) = poisoned_pair(&[N], dt, dev)?;
    cuda().binary_fwd(op, &a, &b, &y)?;
    CpuBackend.binary_fwd(op, &ac, &bc, &yc)?;
    scaled_error(&y, &yc)
}

fn scale(dev: &Device, dt: DType, rng: &mut LofiRng) -> Result<f64> {
    let alpha = rng.random_range(-3.0..3.0);
    let (x, xc) = random_pair(&[N], dt, dev, rng)?;
    let (y, yc) = poisoned_pair(&[N], dt, dev)?;
    cuda().scale(&x, alpha, &y)?;
    CpuBackend.scale(&xc, alpha, &yc)?;
    scaled_error(&y, &yc)
}

fn fill(dev: &Device, dt: DType, rng: &mut LofiRng) -> Result<f64> {
    let value = rng.random_range(-3.0..3.0);
    let (y, yc) = poisoned_pair(&[N], dt, dev)?;
    cuda().fill(&y, value)?;
    CpuBackend.fill(&yc, value)?;
    scaled_error(&y, &yc)
}

fn add_channel(dev: &Device, dt: DType, rng: &mut LofiRng) -> Result<f64> {
    let (outer, channels, inner) = (3, 37, 1031);
    let (x, xc) = random_pair(&[outer, channels, inner], dt, dev, rng)?;
    let (b, bc) = random_pair(&[channels], dt, dev, rng)?;
    let (y, yc) = poisoned_pair(&[outer, channels, inner], dt, dev)?;
    cuda().add_channel(&x, &b, &y, outer, channels, inner)?;
    CpuBackend.add_channel(&xc, &bc, &yc, outer, channels, inner)?;
    scaled_error(&y, &yc)
}

fn shift(dev: &Device, dt: DType, rng: &mut LofiRng, forward: bool) -> Result<f64> {
    let mut worst = 0.0f64;
    // C = 67 is not a multiple of 8 (fold = 8 still), T = 3 puts most frames at a snippet end.
    for (dims, frames) in [([16, 64, 7, 9], 8), ([9, 67, 5, 3], 3)] {
        let g = ShiftGeom::new(dims, frames)?;
        let (x, xc) = random_pair(&dims, dt, dev, rng)?;
        let (y, yc) = poisoned_pair(&dims, dt, dev)?;
        if forward {
            cuda().shift_fwd(&g, &x, &y)?;
            CpuBackend.shift_fwd(&g, &xc, &yc)?;
        } else {
            cuda().shift_bwd(&g, &x, &y)?;
            CpuBackend.shift_bwd(&g, &xc, &yc)?;
        }
        worst = worst.max(scaled_error(&y, &yc)?);
    }
    Ok(worst)
}

fn sum_case(
    dev: &Device,
    dt: DType,
    rng: &mut LofiRng,
    shapes: &[(usize, usize, usize)],
    kernel: Kernel,
) -> Result<f64> {
    let mut worst = 0.0f64;
    for &(outer, axis, inner) in shapes {
        if sum_kernel_for(inner) != kernel {
            return Err(Error::invalid("selftest", format!("inner {inner} does not select {}", kernel.stem())));
        }
        let alpha = 1.0 / axis as f64;
        let (x, xc) = random_pair(&[outer, axis, inner], dt, dev, rng)?;
        let (y, yc) = poisoned_pair(&[outer, inner], dt, dev)?;
        cuda().sum_axis(&x, &y, outer, axis, inner, alpha)?;
        CpuBackend.sum_axis(&xc, &yc, outer, axis, inner, alpha)?;
        worst = worst.max(scaled_error(&y, &yc)?);
    }
    Ok(worst)
}

fn sum_rows(dev: &Device, dt: DType, rng: &mut LofiRng) -> Result<f64> {
    // A row sum longer than a block, one shorter than a warp, and a small strided inner.
    // And more outputs than the grid has blocks, so the block loop runs twice.
    sum_case(dev, dt, rng, &SUM_ROWS_SHAPES, Kernel::SumAxisFwd)
}

fn sum_wide(dev: &Device, dt: DType, rng: &mut LofiRng) -> Result<f64> {
    // A partial last tile (1000 = 31·32 + 8) and an axis shorter than the block's 8 rows.
    // And more 32-wide tiles than the grid has blocks.
    sum_case(dev, dt, rng, &SUM_WIDE_SHAPES, Kernel::SumAxisWideFwd)
}

/// (outer, axis, inner) of the row-sum cases; the first has outer · inner > `MAX_GRID_BLOCKS`.
pub(crate) const SUM_ROWS_SHAPES: [(usize, usize, usize); 4] = [(2700, 37, 1), (37, 3001, 1), (5, 19, 1), (3, 257, 7)];
/// (outer, axis, inner) of the wide-sum cases; the first has outer · ⌈inner/32⌉ > `MAX_GRID_BLOCKS`.
pub(crate) const SUM_WIDE_SHAPES: [(usize, usize, usize); 3] = [(3, 5, 30_000), (4, 33, 1000), (3, 5, 64)];

fn broadcast(dev: &Device, dt: DType, rng: &mut LofiRng) -> Result<f64> {
    let (outer, axis, inner) = (4, 33, 1001);
    let alpha = 1.0 / axis as f64;
    let (x, xc) = random_pair(&[outer, inner], dt, dev, rng)?;
    let (y, yc) = poisoned_pair(&[outer, axis, inner], dt, dev)?;
    cuda().broadcast_axis(&x, &y, outer, axis, inner, alpha)?;
    CpuBackend.broadcast_axis(&xc, &yc, outer, axis, inner, alpha)?;
    scaled_error(&y, &yc)
}

fn sgd(dev: &Device, dt: DType, rng: &mut LofiRng, momentum: bool) -> Result<f64> {
    let n = 100_003;
    let o = SgdStep { lr: 0.1, weight_decay: 1e-4, momentum: if momentum { 0.9 } else { 0.0 } };
    let (p, pc) = random_pair(&[n], dt, dev, rng)?;
    let (g, gc) = random_pair(&[n], dt, dev, rng)?;
    let (b, bc) = random_pair(&[n], dt, dev, rng)?;
    let (buf, buf_cpu) = if momentum { (Some(&b), Some(&bc)) } else { (None, None) };
    cuda().sgd_step(&p, &g, buf, &o)?;
    CpuBackend.sgd_step(&pc, &gc, buf_cpu, &o)?;
    let mut worst = scaled_error(&p, &pc)?;
    if momentum {
        worst = worst.max(scaled_error(&b, &bc)?);
    }
    Ok(worst)
}

/// cuBLAS through `Backend::matmul`: plain, transposed, batched and accumulating (beta = 1) shapes.
fn matmul(dev: &Device, dt: DType, rng: &mut LofiRng) -> Result<f64> {
    let mut worst = 0.0f64;
    // (batch, m, k, n, trans_a, trans_w, beta)
    let shapes = [
        (1, 64, 576, 200, false, false, 0.0),
        (3, 65, 129, 33, true, false, 0.0),
        (2, 17, 64, 96, false, true, 0.0),
        (1, 31, 47, 53, true, true, 1.0),
    ];
    for (batch, m, k, n, ta, tw, beta) in shapes {
        let a_dims = if ta { [batch, k, m] } else { [batch, m, k] };
        let w_dims = if tw { [batch, n, k] } else { [batch, k, n] };
        let (a, ac) = random_pair(&a_dims, dt, dev, rng)?;
        let (w, wc) = random_pair(&w_dims, dt, dev, rng)?;
        // beta = 1 reads y, so it starts from equal random values; beta = 0 must not read it.
        let (y, yc) = if beta == 0.0 {
            poisoned_pair(&[batch, m, n], dt, dev)?
        } else {
            random_pair(&[batch, m, n], dt, dev, rng)?
        };
        cuda().matmul(&a, &w, &y, batch, m, k, n, ta, tw, beta)?;
        CpuBackend.matmul(&ac, &wc, &yc, batch, m, k, n, ta, tw, beta)?;
        // Outputs are sums of k products of U(−1, 1) values, standard deviation √k / 3; below
        // that the error is absolute in those units (TF32's 10-bit mantissa errs by ≈ 1e-3 of it).
        worst = worst.max(compare::element_error(&y, &yc, (k as f64).sqrt() / 3.0)?);
    }
    Ok(worst)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cuda::kernels::KERNEL_DTYPES;

    #[test]
    fn cases_cover_every_registered_kernel_and_dtype() {
        let cases = cases();
        for &k in Kernel::ALL {
            for d in KERNEL_DTYPES {
                assert!(
                    cases.iter().any(|c| c.dtype == d && c.kernels.contains(&k)),
                    "no selftest case for {}_{}",
                    k.stem(),
                    d.name()
                );
            }
        }
        let names: std::collections::HashSet<_> = cases.iter().map(|c| c.name.clone()).collect();
        assert_eq!(names.len(), cases.len(), "case names must be unique");
    }

    #[test]
    fn scaled_error_is_relative_and_nan_fails() {
        let cpu = Device::cpu();
        let r = Tensor::from_slice(&[2.0f32, -4.0], [2], &cpu).unwrap();
        let g = Tensor::from_slice(&[2.0f32, -3.96], [2], &cpu).unwrap();
        let e = scaled_error(&g, &r).unwrap();
        assert!((e - 0.01).abs() < 1e-6, "per element: 0.04 / 4 = 0.01, got {e}");
        let nan = Tensor::from_slice(&[f32::NAN, -4.0], [2], &cpu).unwrap();
        let e = scaled_error(&nan, &r).unwrap();
        let check = Check { name: "x".into(), error: e, tolerance: 1.0, failure: None };
        assert!(!check.passed(), "a NaN output must fail");
    }

    /// Every f32 case runs with the CPU standing in for the device: its inputs are accepted by
    /// the twin, its outputs are finite, its comparison is exact (same code on both sides) and
    /// the two runs agree.
    #[test]
    fn every_f32_case_runs_against_the_cpu_standin() {
        let cpu = Device::cpu();
        let failed: Vec<String> = with_cpu_standin(|| {
            cases()
                .iter()
                .filter(|c| c.dtype == DType::F32)
                .map(|c| c.run(&cpu, 11))
                .filter(|c| !(c.passed() && c.error == 0.0))
                .map(|c| format!("{}: error {} {:?}", c.name, c.error, c.failure))
                .collect()
        });
        assert!(failed.is_empty(), "{failed:#?}");
    }

    /// Every bf16 case runs with the CPU standing in too — the CPU stores bf16 and computes in
    /// f32 like the kernels (`backend::cpu::reduced`) — and passes its tolerance: the cases'
    /// mixed dtypes (f32 BN parameters, f32 weight gradients) are what the twins accept.
    #[test]
    fn every_bf16_case_runs_against_the_cpu_standin() {
        let cpu = Device::cpu();
        let failed: Vec<String> = with_cpu_standin(|| {
            cases()
                .iter()
                .filter(|c| c.dtype == DType::BF16)
                .map(|c| c.run(&cpu, 11))
                .filter(|c| !c.passed())
                .map(|c| format!("{}: error {} {:?}", c.name, c.error, c.failure))
                .collect()
        });
        assert!(failed.is_empty(), "{failed:#?}");
    }

    /// The sizes that make loops run twice exceed the grid cap of the largest device they are for.
    #[test]
    fn loop_sizes_exceed_the_grid_cap() {
        let threads = MAX_GRID_BLOCKS * super::super::launch::BLOCK as usize;
        assert!(N > threads, "elementwise N");
        let (outer, _, inner) = SUM_ROWS_SHAPES[0];
        assert!(outer * inner > MAX_GRID_BLOCKS, "row sums");
        let (outer, _, inner) = SUM_WIDE_SHAPES[0];
        assert!(outer * inner.div_ceil(32) > MAX_GRID_BLOCKS, "wide sums");
        assert!(norm::BN_SHAPES.iter().any(|&(_, c, _)| c > MAX_GRID_BLOCKS), "BN channels");
        assert!(
            head::ALIGN_SHAPES.iter().any(|&(b, c, _, _)| b * c > MAX_GRID_BLOCKS),
            "Align1D rows of the smem backward"
        );
    }

    #[test]
    fn random_pairs_hold_identical_rounded_values() {
        // The pairing helpers round bf16 inputs identically on both sides.
        let mut rng = LofiRng::seeded(7);
        let (a, b) = random_pair(&[5, 3], DType::BF16, &Device::cpu(), &mut rng).unwrap();
        let av: Vec<f64> = a.to_f64_vec().unwrap();
        let bv: Vec<f64> = b.to_f64_vec().unwrap();
        assert_eq!(av, bv);
        assert_eq!(a.dtype(), DType::BF16);
    }
}
