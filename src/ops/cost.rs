//! The arithmetic a thread's ops ask for, counted as they are issued — also on the Meta device,
//! where nothing runs — so that a dry run of a step yields its GEMM work for the step-time model
//! (`train::cost`). Only the products are counted (convolutions and matrix products: FLOPs and
//! operand bytes), and the optimizer's in-place updates (which allocate nothing); every other
//! kernel is memory-bound and is modelled by the number and bytes of its allocations
//! (`memory::PoolStats`).

use std::cell::Cell;

use crate::tensor::DType;

thread_local! {
    static GEMM_FLOPS: Cell<u64> = const { Cell::new(0) };
    /// The part of `GEMM_FLOPS` with bf16/f16 inputs (tensor-core rate on a GPU).
    static REDUCED_GEMM_FLOPS: Cell<u64> = const { Cell::new(0) };
    /// Parameter elements updated in place by the optimizer (no allocation shows them).
    static UPDATED_PARAMS: Cell<u64> = const { Cell::new(0) };
    /// Bytes of the products' operands and results (A, B and C once each).
    static GEMM_OPERAND_BYTES: Cell<u64> = const { Cell::new(0) };
}

/// Counts an optimizer's in-place update of `elements` parameter values.
pub(crate) fn add_update(elements: usize) {
    UPDATED_PARAMS.with(|c| c.set(c.get().saturating_add(elements as u64)));
}

/// Parameter elements the optimizer updated on this thread so far.
pub fn updated_params() -> u64 {
    UPDATED_PARAMS.with(|c| c.get())
}

/// Adds the 2·m·n·k FLOPs of a product whose inputs are `dtype`.
pub(crate) fn add_gemm(m: usize, n: usize, k: usize, dtype: DType) {
    let f = 2u64.saturating_mul(m as u64).saturating_mul(n as u64).saturating_mul(k as u64);
    GEMM_FLOPS.with(|c| c.set(c.get().saturating_add(f)));
    if dtype.is_reduced_float() {
        REDUCED_GEMM_FLOPS.with(|c| c.set(c.get().saturating_add(f)));
    }
    let elements = (m as u64 * k as u64).saturating_add(k as u64 * n as u64).saturating_add(m as u64 * n as u64);
    GEMM_OPERAND_BYTES.with(|c| c.set(c.get().saturating_add(elements.saturating_mul(dtype.size_in_bytes() as u64))));
}

/// Bytes of the operands and results of the products issued on this thread so far: what a
/// product's packing and streaming cost scales with, where its FLOPs do not (a product with a few
/// columns reads a whole weight matrix for little arithmetic).
pub fn gemm_operand_bytes() -> u64 {
    GEMM_OPERAND_BYTES.with(|c| c.get())
}

/// FLOPs of the products issued on this thread so far.
pub fn gemm_flops() -> u64 {
    GEMM_FLOPS.with(|c| c.get())
}

/// Of those, the FLOPs of products with bf16/f16 inputs.
pub fn reduced_gemm_flops() -> u64 {
    REDUCED_GEMM_FLOPS.with(|c| c.get())
}

/// A convolution's product: c_out × (c_in/groups · kh · kw) by (n · ho · wo).
pub(crate) fn add_conv(g: &crate::backend::ConvGeom, dtype: DType) {
    add_gemm(g.c_out, g.n * g.ho * g.wo, g.c_in / g.groups.max(1) * g.kh * g.kw, dtype);
}
