use super::check_all;
use crate::common::rand_f64;
use lofi::ops::conv::{self, Conv2dOpts};
use lofi::rng::Rng;

fn conv_case(seed: u64, x: [usize; 4], w: [usize; 4], o: Conv2dOpts, bias: bool) {
    let mut r = Rng::seeded(seed);
    let xt = rand_f64(&mut r, &x, -1.0, 1.0);
    let wt = rand_f64(&mut r, &w, -1.0, 1.0);
    if bias {
        let b = rand_f64(&mut r, &[w[0]], -1.0, 1.0);
        check_all(&[xt, wt, b], |v| conv::conv2d(&v[0], &v[1], Some(&v[2]), o));
    } else {
        check_all(&[xt, wt], |v| conv::conv2d(&v[0], &v[1], None, o));
    }
}

#[test]
fn gradcheck_conv2d_3x3_stride1_pad1() {
    conv_case(20, [2, 3, 5, 7], [4, 3, 3, 3], Conv2dOpts::new(1, 1, 1), false);
}

#[test]
fn gradcheck_conv2d_stride2_pad_bias() {
    conv_case(21, [2, 3, 7, 5], [5, 3, 3, 3], Conv2dOpts::new(2, 1, 1), true);
}

#[test]
fn gradcheck_conv2d_groups() {
    conv_case(22, [1, 6, 5, 5], [9, 2, 3, 3], Conv2dOpts::new(1, 1, 3), true);
}

#[test]
fn gradcheck_conv2d_7x7_stride2_pad3() {
    conv_case(23, [1, 2, 9, 11], [3, 2, 7, 7], Conv2dOpts::new(2, 3, 1), false);
}

#[test]
fn gradcheck_conv2d_1x1_stride2_and_rectangular() {
    conv_case(24, [3, 4, 5, 5], [2, 4, 1, 1], Conv2dOpts::new(2, 0, 1), false);
    conv_case(25, [1, 2, 4, 6], [3, 2, 3, 3], Conv2dOpts { stride: (1, 2), pad: (0, 1), groups: 1 }, true);
}

#[test]
fn gradcheck_conv1d_groups_bias() {
    let mut r = Rng::seeded(26);
    let x = rand_f64(&mut r, &[2, 8, 9], -1.0, 1.0);
    let w = rand_f64(&mut r, &[12, 2, 3], -1.0, 1.0);
    let b = rand_f64(&mut r, &[12], -1.0, 1.0);
    check_all(&[x, w, b], |v| conv::conv1d(&v[0], &v[1], Some(&v[2]), 1, 1, 4));
}

#[test]
fn conv2d_rejects_bad_groups_and_shapes() {
    let mut r = Rng::seeded(27);
    let x = rand_f64(&mut r, &[1, 6, 5, 5], -1.0, 1.0);
    let w = rand_f64(&mut r, &[4, 3, 3, 3], -1.0, 1.0);
    assert!(conv::conv2d_fwd(&x, &w, Conv2dOpts::new(1, 1, 4)).is_err(), "groups must divide channels");
    assert!(conv::conv2d_fwd(&x, &w, Conv2dOpts::new(1, 1, 1)).is_err(), "weight channels must match input");
}

#[test]
fn gradcheck_conv2d_kernel_wider_than_input_with_padding() {
    // kernel taps that see only padding for every output column must stay zero
    conv_case(28, [1, 1, 3, 2], [2, 1, 5, 5], Conv2dOpts::new(2, 2, 1), true);
}

#[test]
fn chunked_im2col_gives_the_same_results() {
    use lofi::backend::{cpu::CpuBackend, Backend};
    let mut r = Rng::seeded(29);
    let x = rand_f64(&mut r, &[5, 4, 6, 7], -1.0, 1.0);
    let w = rand_f64(&mut r, &[6, 2, 3, 3], -1.0, 1.0);
    let dy_shape = [5, 6, 3, 4];
    let dy = rand_f64(&mut r, &dy_shape, -1.0, 1.0);
    let run = |chunk: usize| -> Vec<Vec<f64>> {
        let g = conv::geometry(&x, &w, Conv2dOpts::new(2, 1, 2)).unwrap().with_chunk(chunk);
        let ws = lofi::Tensor::zeros([g.workspace_elems()], lofi::DType::F64, x.device()).unwrap();
        let y = lofi::Tensor::zeros(dy_shape, lofi::DType::F64, x.device()).unwrap();
        let dx = lofi::Tensor::zeros(x.shape().clone(), lofi::DType::F64, x.device()).unwrap();
        let dw = lofi::Tensor::zeros(w.shape().clone(), lofi::DType::F64, x.device()).unwrap();
        CpuBackend.conv2d_fwd(&g, &x, &w, &y, &ws).unwrap();
        CpuBackend.conv2d_bwd_data(&g, &dy, &w, &dx, &ws).unwrap();
        CpuBackend.conv2d_bwd_weight(&g, &x, &dy, &dw, &ws).unwrap();
        [y, dx, dw].iter().map(|t| t.to_f64_vec().unwrap()).collect()
    };
    let whole = run(5);
    for chunk in [1, 2, 3] {
        let part = run(chunk);
        for (a, b) in whole.iter().zip(&part) {
            assert!(a.iter().zip(b).all(|(p, q)| (p - q).abs() < 1e-12), "chunk {chunk}");
        }
    }
}

#[test]
fn gradcheck_pointwise_conv_groups_bias() {
    // 1×1 stride 1 pad 0 takes the direct GEMM path (no im2col workspace)
    conv_case(30, [3, 6, 4, 5], [4, 3, 1, 1], Conv2dOpts::new(1, 0, 2), true);
    conv_case(31, [2, 5, 3, 3], [7, 5, 1, 1], Conv2dOpts::new(1, 0, 1), false);
    // a quarter as many pixels as images or fewer: the pixel-major products (one per pixel over every image)
    conv_case(33, [8, 4, 2, 1], [6, 2, 1, 1], Conv2dOpts::new(1, 0, 2), true);
    conv_case(34, [4, 3, 1, 1], [4, 3, 1, 1], Conv2dOpts::new(1, 0, 1), false);
}

#[test]
fn pointwise_conv_matches_a_product_per_image() {
    // the direct 1×1 paths against a reference computed as a matmul per image: image-major
    // (4 pixels, 2 images) and pixel-major (2 pixels, 8 images; 1 pixel, 4 images)
    for (seed, [n, c, h, wd]) in [(32, [2, 3, 2, 2]), (35, [8, 3, 1, 2]), (36, [4, 3, 1, 1])] {
        let mut r = Rng::seeded(seed);
        let x = rand_f64(&mut r, &[n, c, h, wd], -1.0, 1.0);
        let w = rand_f64(&mut r, &[4, c, 1, 1], -1.0, 1.0);
        let y = conv::conv2d_fwd(&x, &w, Conv2dOpts::new(1, 0, 1)).unwrap().to_f64_vec().unwrap();
        let (xv, wv, p) = (x.to_f64_vec().unwrap(), w.to_f64_vec().unwrap(), h * wd);
        for j in 0..n {
            for co in 0..4 {
                for px in 0..p {
                    let want: f64 = (0..c).map(|ci| wv[co * c + ci] * xv[(j * c + ci) * p + px]).sum();
                    assert!((y[(j * 4 + co) * p + px] - want).abs() < 1e-12, "case {seed}");
                }
            }
        }
        let g = conv::geometry(&x, &w, Conv2dOpts::new(1, 0, 1)).unwrap();
        assert_eq!(g.workspace_elems(), 0);
    }
}
