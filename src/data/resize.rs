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
    // Source rows that the vertical pass reads.
    let row_lo = fy.starts.iter().copied().min().unwrap_or(0);
    let row_hi = fy.starts.iter().map(|&s| (s + fy.taps).min(src_h)).max().unwrap_or(0);
    let rows = row_hi - row_lo;
    scratch.clear();
    scratch.resize(rows * w * 3, 0.0);
    for r in 0..rows {
        let src_row = &src[(row_lo + r) * src_w * 3..][..src_w * 3];
        let tmp_row = &mut scratch[r * w * 3..][..w * 3];
        for x in 0..w {
            let start = fx.starts[x];
            let taps = &fx.weights[x * fx.taps..(x + 1) * fx.taps];
            let n = fx.taps.min(src_w - start);
            let (mut r_acc, mut g_acc, mut b_acc) = (0f32, 0f32, 0f32);
            for (k, &wt) in taps.iter().enumerate().take(n) {
                let p = &src_row[(start + k) * 3..(start + k) * 3 + 3];
                r_acc += wt * p[0] as f32;
                g_acc += wt * p[1] as f32;
                b_acc += wt * p[2] as f32;
            }
            tmp_row[x * 3] = r_acc;
            tmp_row[x * 3 + 1] = g_acc;
            tmp_row[x * 3 + 2] = b_acc;
        }
    }
    let mut acc = vec![0f32; w * 3];
    for y in 0..h {
        let start = fy.starts[y] - row_lo;
        let taps = &fy.weights[y * fy.taps..(y + 1) * fy.taps];
        let n = fy.taps.min(rows - start);
        acc.fill(0.0);
        for (k, &wt) in taps.iter().enumerate().take(n) {
            let tmp_row = &scratch[(start + k) * w * 3..][..w * 3];
            for (a, &t) in acc.iter_mut().zip(tmp_row) {
                *a += wt * t;
            }
        }
        for (d, &a) in out[y * w * 3..][..w * 3].iter_mut().zip(&acc) {
            *d = a.round().clamp(0.0, 255.0) as u8;
        }
    }
}
