//! CPU results must not depend on the number of threads (bit-for-bit).
use crate::common::rand_f64;
use lofi::autograd::Var;
use lofi::ops::{conv, norm, shape};
use lofi::rng::Rng;
use lofi::{DType, Tensor};

fn conv_bn_step(images: usize, [h, wd]: [usize; 2], k: usize, o: conv::Conv2dOpts) -> Vec<Vec<f64>> {
    let mut r = Rng::seeded(80);
    let x = Var::leaf(shape::cast_fwd(&rand_f64(&mut r, &[images, 5, h, wd], -1.0, 1.0), DType::F32).unwrap());
    let w = Var::leaf(shape::cast_fwd(&rand_f64(&mut r, &[7, 5, k, k], -1.0, 1.0), DType::F32).unwrap());
    let g = Var::leaf(Tensor::full(1.0f32, [7], x.tensor().device()).unwrap());
    let b = Var::leaf(Tensor::full(0.1f32, [7], x.tensor().device()).unwrap());
    let (rm, rv) = (
        Tensor::full(0.0f32, [7], x.tensor().device()).unwrap(),
        Tensor::full(1.0f32, [7], x.tensor().device()).unwrap(),
    );
    let y = conv::conv2d(&x, &w, None, o).unwrap();
    let y = norm::batch_norm(
        &y,
        &g,
        &b,
        &norm::RunningStats { mean: &rm, var: &rv },
        norm::BnMode::Train,
        Default::default(),
    )
    .unwrap();
    let up = Tensor::full(0.5f32, y.tensor().shape().clone(), y.tensor().device()).unwrap();
    let grads = y.backward_with(up).unwrap();
    [y.tensor(), grads.get(x.id().unwrap()).unwrap(), grads.get(w.id().unwrap()).unwrap(), &rv]
        .iter()
        .map(|t| t.to_f64_vec().unwrap())
        .collect()
}

/// One image (the convolution's single-block path, products parallel inside), 6 (a block per
/// image) and 40 (several images per block, the weight gradient's 8 partial products); and a 1×1
/// convolution on 2² pixels of 1 image (a product per image) and of 40 (a product per pixel).
#[test]
fn results_do_not_depend_on_thread_count() {
    let (strided, pointwise) = (conv::Conv2dOpts::new(2, 1, 1), conv::Conv2dOpts::new(1, 0, 1));
    for (images, hw, k, o) in [
        (1, [17, 13], 3, strided),
        (6, [17, 13], 3, strided),
        (40, [17, 13], 3, strided),
        (1, [2, 2], 1, pointwise),
        (40, [2, 2], 1, pointwise),
    ] {
        let step = || conv_bn_step(images, hw, k, o);
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap().install(step);
        let three = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap().install(step);
        assert_eq!(one, three, "{images} images");
    }
}
