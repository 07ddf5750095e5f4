//! Selftest cases of the convolutions (`kernels/conv.cu` + cuBLAS): forward, data and weight
//! gradients on shapes that cover chunking, groups, strides, padding and the pointwise path. They
//! run with TF32 off (the `Case` default), so fp32 holds to 1e-5.

use super::{cuda, poisoned_pair, random_pair, scaled_error, Case};
use crate::backend::cpu::CpuBackend;
use crate::backend::cuda::kernels::Kernel;
use crate::backend::{Backend, ConvGeom};
use crate::rng::Rng as LofiRng;
use crate::tensor::{DType, Device, Tensor};
use crate::Result;

/// The cases for `dtype`.
pub(super) fn cases(dtype: DType) -> Vec<Case> {
    vec![
        Case::covering(&format!("conv2d_fwd_{}", dtype.name()), &[Kernel::Im2col, Kernel::FromStage], dtype, conv_fwd),
        Case::covering(
            &format!("conv2d_bwd_data_{}", dtype.name()),
            &[Kernel::ToStage, Kernel::Col2im],
            dtype,
            conv_bwd_data,
        ),
        Case {
            // bf16 inputs, f32 dW accumulated in f32 over the chunks: as close to the f32 twin
            // on the same rounded inputs as an f32 GEMM (a bf16 accumulator misses by ~1e-2).
            tolerance: if dtype == DType::BF16 { TOL_WEIGHT_GRAD_BF16 } else { super::TOL_F32 },
            ..Case::covering(
                &format!("conv2d_bwd_weight_{}", dtype.name()),
                &[Kernel::Im2col, Kernel::ToStage],
                dtype,
                conv_bwd_weight,
            )
        },
    ]
}

/// Tolerance of a bf16-input weight gradient: f32 accuracy with room for cuBLAS's own summation
/// order over the largest reduction here (thousands of terms).
const TOL_WEIGHT_GRAD_BF16: f64 = 1e-4;

/// Convolutions: x dims, w dims, stride, pad, groups, chunk (None: ConvGeom's own).
type ConvShape = ([usize; 4], [usize; 4], (usize, usize), (usize, usize), usize, Option<usize>);

const CONVS: [ConvShape; 6] = [
    // a TSM-ResNet 3×3 with chunks of 2 images (3 chunks, the last partial)
    ([5, 16, 14, 14], [24, 16, 3, 3], (1, 1), (1, 1), 1, Some(2)),
    // the 7×7 stride-2 stem on an odd plane
    ([2, 3, 23, 21], [8, 3, 7, 7], (2, 2), (3, 3), 1, None),
    // grouped, strided, rectangular padding
    ([3, 8, 11, 9], [12, 4, 3, 3], (2, 1), (1, 0), 2, Some(2)),
    // a 1×1 stride-2 downsample (not pointwise: im2col path)
    ([4, 16, 9, 9], [32, 16, 1, 1], (2, 2), (0, 0), 1, None),
    // pointwise (no workspace), grouped
    ([3, 12, 7, 5], [18, 6, 1, 1], (1, 1), (0, 0), 2, None),
    // a 1-D conv (H = 1), as G-TAD's
    ([2, 16, 1, 100], [16, 16, 1, 3], (1, 1), (0, 1), 1, None),
];

fn geom(s: &ConvShape) -> Result<ConvGeom> {
    let (x, w, stride, pad, groups, chunk) = *s;
    let g = ConvGeom::new(x, w, stride, pad, groups)?;
    Ok(chunk.map_or(g, |c| g.with_chunk(c)))
}

/// The poisoned GPU workspace and the CPU one (at least one element, so both are real buffers).
fn workspace(g: &ConvGeom, dt: DType, dev: &Device) -> Result<(Tensor, Tensor)> {
    poisoned_pair(&[g.workspace_elems().max(1)], dt, dev)
}

fn conv_fwd(dev: &Device, dt: DType, rng: &mut LofiRng) -> Result<f64> {
    let mut worst = 0.0f64;
    for s in &CONVS {
        let g = geom(s)?;
        let (x, xc) = random_pair(&s.0, dt, dev, rng)?;
        let (w, wc) = random_pair(&s.1, dt, dev, rng)?;
        let (y, yc) = poisoned_pair(&[g.n, g.c_out, g.ho, g.wo], dt, dev)?;
        let (ws, wsc) = workspace(&g, dt, dev)?;
        cuda().conv2d_fwd(&g, &x, &w, &y, &ws)?;
        CpuBackend.conv2d_fwd(&g, &xc, &wc, &yc, &wsc)?;
        worst = worst.max(scaled_error(&y, &yc)?);
    }
    Ok(worst)
}

fn conv_bwd_data(dev: &Device, dt: DType, rng: &mut LofiRng) -> Result<f64> {
    let mut worst = 0.0f64;
    for s in &CONVS {
        let g = geom(s)?;
        let (dy, dyc) = random_pair(&[g.n, g.c_out, g.ho, g.wo], dt, dev, rng)?;
        let (w, wc) = random_pair(&s.1, dt, dev, rng)?;
        let (dx, dxc) = poisoned_pair(&s.0, dt, dev)?;
        let (ws, wsc) = workspace(&g, dt, dev)?;
        cuda().conv2d_bwd_data(&g, &dy, &w, &dx, &ws)?;
        CpuBackend.conv2d_bwd_data(&g, &dyc, &wc, &dxc, &wsc)?;
        worst = worst.max(scaled_error(&dx, &dxc)?);
    }
    Ok(worst)
}

fn conv_bwd_weight(dev: &Device, dt: DType, rng: &mut LofiRng) -> Result<f64> {
    let mut worst = 0.0f64;
    for s in &CONVS {
        let g = geom(s)?;
        let (x, xc) = random_pair(&s.0, dt, dev, rng)?;
        let (dy, dyc) = random_pair(&[g.n, g.c_out, g.ho, g.wo], dt, dev, rng)?;
        // The gradient is f32 for bf16 activations (`DType::weight_grad`).
        let (dw, dwc) = poisoned_pair(&s.1, dt.weight_grad(), dev)?;
        let (ws, wsc) = workspace(&g, dt, dev)?;
        cuda().conv2d_bwd_weight(&g, &x, &dy, &dw, &ws)?;
        CpuBackend.conv2d_bwd_weight(&g, &xc, &dyc, &dwc, &wsc)?;
        worst = worst.max(scaled_error(&dw, &dwc)?);
    }
    Ok(worst)
}
