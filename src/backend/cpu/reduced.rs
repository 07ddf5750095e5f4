//! bf16 (and f16) storage on the CPU, computing in f32: a kernel called with reduced-precision
//! tensors runs its f32 instance on f32 stand-ins — exact copies of the tensors it reads, fresh
//! buffers for its workspace — and the tensors it writes get the f32 results rounded to nearest
//! even. That is the arithmetic of the CUDA kernels under the bf16 policy (load bf16, compute and
//! accumulate in f32, round once on store), so the whole policy runs and is tested on CPU.
//!
//! The stand-ins live in a scratch pool of their own, not in the step's: the step's pool holds
//! exactly what the Meta dry run predicts (the bf16 buffers and workspaces the ops layer
//! allocates), and the stand-ins are transient host memory of one kernel call.

use std::sync::OnceLock;

use crate::tensor::{DType, Device, Tensor};
use crate::Result;

/// Whether `t` is stored in a reduced-precision float type.
pub fn is_reduced(t: &Tensor) -> bool {
    matches!(t.dtype(), DType::BF16 | DType::F16)
}

/// Whether any of `ts` is.
pub fn any_reduced(ts: &[&Tensor]) -> bool {
    ts.iter().any(|t| is_reduced(t))
}

fn scratch_device() -> &'static Device {
    static SCRATCH: OnceLock<Device> = OnceLock::new();
    SCRATCH.get_or_init(|| Device::cpu_with_budget(usize::MAX))
}

/// The high-water mark of the stand-ins since the last `reset_standin_peak`: host memory
/// outside every step pool (tests compare the heap with the pool plus this).
pub fn standin_peak_bytes() -> usize {
    scratch_device().pool().peak()
}

pub fn reset_standin_peak() {
    scratch_device().pool().reset_peak();
}

/// An f32 copy of a reduced-precision tensor (exact: every bf16/f16 value is an f32), or the
/// tensor itself (a shared handle) when it is not reduced.
pub fn widen(t: &Tensor) -> Result<Tensor> {
    if !is_reduced(t) {
        return Ok(t.clone());
    }
    let wide = Tensor::zeros(t.shape().clone(), DType::F32, scratch_device())?;
    super::elementwise::cast(t, &wide)?;
    Ok(wide)
}

/// Elements of the f32 im2col scratch a reduced-precision conv call may use: 1 MiB.
const CONV_SCRATCH_ELEMS: usize = 1 << 18;

/// The geometry and f32 workspace of a reduced-precision conv call: the same convolution in
/// chunks of images small enough for a bounded scratch (`CONV_SCRATCH_ELEMS`, at least one
/// image). The pool's own workspace (sized for the activations' dtype, as on a GPU, and so what
/// the Meta dry run accounts) stays allocated; an f32 copy of it would double the host memory.
pub fn conv_scratch(g: &crate::backend::ConvGeom) -> Result<(crate::backend::ConvGeom, Tensor)> {
    let per_image = g.with_chunk(1).workspace_elems().max(1);
    let small = g.with_chunk((CONV_SCRATCH_ELEMS / per_image).max(1).min(g.chunk));
    let ws = Tensor::zeros([small.workspace_elems()], DType::F32, scratch_device())?;
    Ok((small, ws))
}

/// Rounds the f32 results in `wide` into `orig` when `orig` is reduced (otherwise `wide` is
/// `orig`'s own buffer and holds them already).
pub fn narrow_into(wide: &Tensor, orig: &Tensor) -> Result<()> {
    if is_reduced(orig) {
        super::elementwise::cast(wide, orig)?;
    }
    Ok(())
}

/// Re-runs a backend call on f32 stand-ins: `read` tensors are widened, `write` tensors are
/// widened (a kernel may accumulate into them) and rounded back after the call. The names are
/// rebound, so `$call` is the same call the method received. (Workspaces: `conv_scratch`.)
macro_rules! widened {
    (read [$($r:ident),*] write [$($w:ident),*] => $call:expr) => {{
        $(let $r = &$crate::backend::cpu::reduced::widen($r)?;)*
        let originals: Vec<&$crate::tensor::Tensor> = vec![$($w),*];
        $(let $w = &$crate::backend::cpu::reduced::widen($w)?;)*
        $call?;
        let wides: Vec<&$crate::tensor::Tensor> = vec![$($w),*];
        for (wide, orig) in wides.into_iter().zip(originals) {
            $crate::backend::cpu::reduced::narrow_into(wide, orig)?;
        }
        Ok(())
    }};
}
pub(crate) use widened;
