//! Resize + crop of one RGB u8 frame in a single separable pass that computes only the cropped
//! pixels: an antialiased bilinear (triangle) filter whose support widens with the downscale
//! factor, as PIL's `BILINEAR` and torchvision's `antialias=True` do, so that S-LoFi's 2× downscale
//! does not alias. An unscaled crop is a plain copy, which keeps the synthetic benchmark's
//! one-pixel motions and noise bit-exact.

/// Where the output window lies in the resized frame, and whether it is mirrored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CropWindow {
    /// Size of the frame after resizing, before cropping.
    pub resized_h: usize,
    pub resized_w: usize,
    /// Top-left corner of the crop in the resized frame.
    pub top: usize,
    pub left: usize,
    /// Output size.
    pub height: usize,
    pub width: usize,
    /// Mirror left-right.
    pub flip: bool,
}

/// Sample weights of the output positions along one axis.
struct AxisFilter {
    /// First source position used by output position i.
    starts: Vec<usize>,
    /// Weights of source positions starts[i].. for output i, `taps` per output (zero-padded).
    weights: Vec<f32>,
    taps: usize,
}

fn triangle(x: f64) -> f64 {
    (1.0 - x.abs()).max(0.0)
}

/// Filter taps for output positions `offset..offset + count` of an axis resized from `src` to
/// `dst`, optionally in reverse order (a mirrored crop).
fn axis_filter(src: usize, dst: usize, offset: usize, count: usize, reverse: bool) -> AxisFilter {
    let scale = src as f64 / dst as f64;
    let filter_scale = scale.max(1.0);
    let support = filter_scale;
    let taps = (support * 2.0).ceil() as usize + 1;
    let mut starts = Vec::with_capacity(count);
    let mut weights = vec![0f32; count * taps];
    for i in 0..count {
        let pos = if reverse { offset + count - 1 - i } else { offset + i };
        let centre = (pos as f64 + 0.5) * scale;
        let first = ((centre - support + 0.5).floor().max(0.0)) as usize;
        let end = ((centre + support + 0.5).floor() as usize).min(src).max(first + 1);
        let row = &mut weights[i * taps..(i + 1) * taps];
        let n = (end - first).min(taps);
        let mut total = 0f64;
        for (k, slot) in row.iter_mut().enumerate().take(n) {
            let wt = triangle(((first + k) as f64 + 0.5 - centre) / filter_scale);
            *slot = wt as f32;
            total += wt;
        }
        // Normalising makes the weights sum to 1 also where the window is cut by the frame edge.
        for slot in row.iter_mut().take(n) {
            *slot = (f64::from(*slot) / total) as f32;
        }
        starts.push(first);
    }
    AxisFilter { starts, weights, taps }
}

/// Resizes `src` (RGB [src_h, src_w, 3]) to the window's resized size and writes the window into
/// `out` (RGB [height, width, 3]). `scratch` is reused between calls to avoid allocation.
pub fn resize_crop(src: &[u8], src_h: usize, src_w: usize, win: &CropWindow, out: &mut [u8], scratch: &mut Vec<f32>) {
    let (h, w) = (win.height, win.width);
    if win.resized_h == src_h && win.resized_w == src_w {
        for y in 0..h {
            let row = &src[((win.top + y) * src_w + win.left) * 3..][..w * 3];
            let dst = &mut out[y * w * 3..][..w * 3];
            if win.flip {
                for x in 0..w {
                    dst[x * 3..x * 3 + 3].copy_from_slice(&row[(w - 1 - x) * 3..(w - 1 - x) * 3 + 3]);
                }
            } else {
                dst.copy_from_slice(row);
            }
        }
        return;
    }
    let fx = axis_filter(src_w, win.resized_w, win.left, w, win.flip);
    let fy = axis_filter(src_h, win.resized_h, win.top, h, false);
    // Vertical pass first, over the source columns the crop needs: it runs along contiguous rows
    // (vectorisable u8 → f32 multiply-adds); the horizontal pass then gathers from one f32 row.
    let col_lo = fx.starts.iter().copied().min().unwrap_or(0);
    let col_hi = fx.starts.iter().map(|&s| (s + fx.taps).min(src_w)).max().unwrap_or(0);
    let span = (col_hi - col_lo) * 3;
    scratch.clear();
    scratch.resize(span, 0.0);
    for y in 0..h {
        let start = fy.starts[y];
        let taps = &fy.weights[y * fy.taps..(y + 1) * fy.taps];
        scratch.fill(0.0);
        for (k, &wt) in taps.iter().enumerate().take(fy.taps.min(src_h - start)) {
            let src_row = &src[((start + k) * src_w + col_lo) * 3..][..span];
            for (acc, &v) in scratch.iter_mut().zip(src_row) {
                *acc += wt * f32::from(v);
            }
        }
        let dst = &mut out[y * w * 3..][..w * 3];
        for (x, px) in dst.chunks_exact_mut(3).enumerate() {
            let start = fx.starts[x] - col_lo;
            let taps = &fx.weights[x * fx.taps..(x + 1) * fx.taps];
            let n = fx.taps.min(col_hi - col_lo - start);
            let (mut r, mut g, mut b) = (0f32, 0f32, 0f32);
            for (p, &wt) in scratch[start * 3..(start + n) * 3].chunks_exact(3).zip(taps) {
                r += wt * p[0];
                g += wt * p[1];
                b += wt * p[2];
            }
            // `as u8` saturates, and + 0.5 rounds these non-negative sums; `f32::round` would be
            // a libm call per value on baseline x86-64 (no SSE4.1 `roundss`).
            px[0] = (r + 0.5) as u8;
            px[1] = (g + 0.5) as u8;
            px[2] = (b + 0.5) as u8;
        }
    }
}
