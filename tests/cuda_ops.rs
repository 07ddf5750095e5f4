//! The CUDA backend against the CPU, per kernel family, and its error paths. The comparisons need
//! a GPU: without one each says `SKIPPED <name>: no CUDA device` (and fails under
//! `LOFI_REQUIRE_CUDA=1`, as tools/gpu_check.sh sets). The argument checks that refuse bad input
//! run everywhere.

mod cuda_support;

use cuda_support::cuda_or_skip;
use lofi::backend::cuda::kernels::Module;
use lofi::backend::cuda::selftest::{cases, Case};
use lofi::backend::cuda::CudaKernels;
use lofi::backend::cuda::{backend, KernelSource};
use lofi::backend::{AdamStep, ConvGeom, PoolGeom};
use lofi::backend::{ShiftGeom, Unary};
use lofi::{DType, Device, Error, Tensor};

/// Runs the selftest cases `pick` selects on device 0 and asserts they all pass.
fn family(test: &str, pick: impl Fn(&Case) -> bool) {
    let Some(dev) = cuda_or_skip(test) else { return };
    let chosen: Vec<Case> = cases().into_iter().filter(|c| pick(c)).collect();
    assert!(!chosen.is_empty(), "{test}: no cases selected");
    for case in &chosen {
        let check = case.run(&dev, 0x5eed);
        println!("{} {:e} (tol {:e}) {:?}", check.name, check.error, check.tolerance, check.failure);
        assert!(check.passed(), "{test}: {} failed: error {:e}, {:?}", check.name, check.error, check.failure);
    }
}

fn in_module(m: Module) -> impl Fn(&Case) -> bool {
    move |c| !c.kernels.is_empty() && c.kernels.iter().all(|k| k.module() == m)
}

#[test]
fn cuda_elementwise_matches_cpu() {
    family("cuda_elementwise_matches_cpu", in_module(Module::Elementwise));
}

#[test]
fn cuda_shift_matches_cpu() {
    family("cuda_shift_matches_cpu", in_module(Module::Shift));
}

#[test]
fn cuda_reduce_matches_cpu() {
    family("cuda_reduce_matches_cpu", in_module(Module::Reduce));
}

#[test]
fn cuda_sgd_matches_cpu() {
    family("cuda_sgd_matches_cpu", in_module(Module::Optim));
}

#[test]
fn cuda_pool_matches_cpu() {
    family("cuda_pool_matches_cpu", in_module(Module::Pool));
}

#[test]
fn cuda_layout_matches_cpu() {
    family("cuda_layout_matches_cpu", in_module(Module::Layout));
}

#[test]
fn cuda_convert_matches_cpu() {
    family("cuda_convert_matches_cpu", in_module(Module::Convert));
}

#[test]
fn cuda_norm_matches_cpu() {
    family("cuda_norm_matches_cpu", in_module(Module::Norm));
}

#[test]
fn cuda_conv_matches_cpu() {
    family("cuda_conv_matches_cpu", in_module(Module::Conv));
}

#[test]
fn cuda_matmul_matches_cpu() {
    family("cuda_matmul_matches_cpu", |c| c.name.starts_with("matmul_"));
}

/// Each embedded form loads and runs by itself (fatbin and PTX only when the build had nvcc).
#[test]
fn cuda_every_kernel_form_loads() {
    let Some(dev) = cuda_or_skip("cuda_every_kernel_form_loads") else { return };
    let Some(cuda) = dev.cuda_device() else { return };
    let relu = cases().into_iter().find(|c| c.name == "relu_fwd_f32");
    let Some(relu) = relu else { panic!("no relu_fwd_f32 case") };
    let built_with_nvcc = lofi::backend::cuda::kernels::NVCC_VERSION.is_some();
    for form in [KernelSource::Fatbin, KernelSource::Ptx, KernelSource::Nvrtc] {
        if form != KernelSource::Nvrtc && !built_with_nvcc {
            println!("SKIPPED cuda_every_kernel_form_loads[{form}]: built without nvcc");
            continue;
        }
        cuda.set_kernel_source(form).unwrap();
        let check = relu.run(&dev, 1);
        assert!(check.passed(), "{form}: {:?} error {:e}", check.failure, check.error);
        assert_eq!(cuda.loaded_sources().unwrap(), vec![(Module::Elementwise, form)]);
    }
    cuda.set_kernel_source(KernelSource::Auto).unwrap();
}

/// The ops layer dispatches to the CUDA backend: temporal shift on the GPU equals the CPU's.
#[test]
fn cuda_ops_layer_runs_on_the_gpu() {
    let Some(dev) = cuda_or_skip("cuda_ops_layer_runs_on_the_gpu") else { return };
    let values: Vec<f32> = (0..2 * 4 * 16 * 3).map(|i| i as f32 * 0.25 - 7.0).collect();
    let cpu = Tensor::from_slice(&values, [2 * 4, 16, 3, 1], &Device::cpu()).unwrap();
    let gpu = cpu.to_device(&dev).unwrap();
    let want = lofi::ops::shift::temporal_shift_fwd(&cpu, 4).unwrap().to_vec::<f32>().unwrap();
    let got = lofi::ops::shift::temporal_shift_fwd(&gpu, 4).unwrap().to_vec::<f32>().unwrap();
    assert_eq!(got, want, "a shift moves values without arithmetic: results must be identical");
}

#[test]
fn cuda_pool_budget_is_an_error_not_an_oom() {
    let Some(_) = cuda_or_skip("cuda_pool_budget_is_an_error_not_an_oom") else { return };
    let dev = Device::cuda(0, Some(1 << 20)).unwrap();
    let err = Tensor::zeros([1 << 20], DType::F32, &dev).err();
    assert!(matches!(err, Some(Error::OutOfBudget { .. })), "{err:?}");
    // The cuBLAS workspace goes through the same pool: a matmul cannot sneak past the budget.
    let a = Tensor::zeros([4, 4], DType::F32, &dev).unwrap();
    let y = Tensor::zeros([4, 4], DType::F32, &dev).unwrap();
    let err = backend().matmul(&a, &a, &y, 1, 4, 4, 4, false, false, 0.0).err();
    assert!(matches!(err, Some(Error::OutOfBudget { .. })), "{err:?}");
}

#[test]
fn cuda_kernels_refuse_aliasing_and_bad_dtypes() {
    let Some(dev) = cuda_or_skip("cuda_kernels_refuse_aliasing_and_bad_dtypes") else { return };
    let x = Tensor::zeros([8], DType::F32, &dev).unwrap();
    assert!(matches!(backend().unary_fwd(Unary::Relu, &x, &x), Err(Error::InvalidArgument { .. })));
    let i = Tensor::zeros([8], DType::I64, &dev).unwrap();
    let j = Tensor::zeros([8], DType::I64, &dev).unwrap();
    assert!(matches!(backend().unary_fwd(Unary::Relu, &i, &j), Err(Error::DType { .. })));
    let short = Tensor::zeros([7], DType::F32, &dev).unwrap();
    assert!(matches!(backend().unary_fwd(Unary::Relu, &x, &short), Err(Error::Shape { .. })));
}

/// Runs everywhere: CPU tensors handed to the CUDA backend are refused, never dereferenced.
#[test]
fn cuda_backend_refuses_cpu_tensors() {
    let cpu = Device::cpu();
    let x = Tensor::zeros([2, 8, 1, 1], DType::F32, &cpu).unwrap();
    let y = Tensor::zeros([2, 8, 1, 1], DType::F32, &cpu).unwrap();
    let g = ShiftGeom::new([2, 8, 1, 1], 2).unwrap();
    let err = backend().shift_fwd(&g, &x, &y).err();
    assert!(matches!(err, Some(Error::InvalidArgument { .. })), "{err:?}");
    let err = backend().matmul(&x, &x, &y, 1, 4, 4, 4, false, false, 0.0).err();
    assert!(err.is_some(), "matmul on CPU tensors must be refused");
    let err = backend().fill(&y, 1.0).err();
    assert!(matches!(err, Some(Error::InvalidArgument { .. })), "{err:?}");
}

/// Runs everywhere: the encoder-step kernels refuse CPU tensors before touching them.
#[test]
fn cuda_encoder_kernels_refuse_cpu_tensors() {
    let cpu = Device::cpu();
    let t = |dims: &[usize], dt| Tensor::zeros(dims.to_vec(), dt, &cpu).unwrap();
    let refused = |what: &str, r: lofi::Result<()>| {
        assert!(matches!(r, Err(Error::InvalidArgument { .. })), "{what}: {r:?}");
    };
    let g = ConvGeom::new([2, 4, 5, 5], [6, 4, 3, 3], (1, 1), (1, 1), 1).unwrap();
    let (x, w, y, ws) = (
        t(&[2, 4, 5, 5], DType::F32),
        t(&[6, 4, 3, 3], DType::F32),
        t(&[2, 6, 5, 5], DType::F32),
        t(&[g.workspace_elems()], DType::F32),
    );
    refused("conv2d_fwd", backend().conv2d_fwd(&g, &x, &w, &y, &ws));
    refused("conv2d_bwd_data", backend().conv2d_bwd_data(&g, &y, &w, &x, &ws));
    refused("conv2d_bwd_weight", backend().conv2d_bwd_weight(&g, &x, &y, &w, &ws));
    let p = PoolGeom::new(8, 5, 5, 3, 2, 1).unwrap();
    let (px, py, pa) = (t(&[8, 5, 5], DType::F32), t(&[8, 3, 3], DType::F32), t(&[8, 3, 3], DType::I64));
    refused("maxpool2d_fwd", backend().maxpool2d_fwd(&p, &px, &py, &pa));
    refused("maxpool2d_bwd", backend().maxpool2d_bwd(&p, &py, &pa, &px));
    let (c, m, v) = (t(&[2, 4, 5], DType::F32), t(&[4], DType::F32), t(&[4], DType::F32));
    let (d, g4, b4) = (t(&[2, 4, 5], DType::F32), t(&[4], DType::F32), t(&[4], DType::F32));
    refused("bn_fwd_train", backend().bn_fwd_train(&c, &g4, &b4, &d, &m, &v, 2, 4, 5, 1e-5));
    refused("bn_bwd_train", backend().bn_bwd_train(&c, &d, &g4, &m, &v, &x, &w, &y, 2, 4, 5, 1e-5));
    refused("permute", backend().permute(&c, &[2, 0, 1], &d));
    refused("copy_into_axis", backend().copy_into_axis(&m, &c, 1, 1, 0));
    refused("cast", backend().cast(&c, &d));
    let o = AdamStep { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0, step: 1 };
    refused("adam_step", backend().adam_step(&m, &v, &g4, &b4, &o));
}

/// The encoder-step launchers check what their indexing relies on (no launch happens).
#[test]
fn cuda_encoder_kernels_refuse_bad_arguments() {
    let Some(dev) = cuda_or_skip("cuda_encoder_kernels_refuse_bad_arguments") else { return };
    let t = |dims: &[usize], dt| Tensor::zeros(dims.to_vec(), dt, &dev).unwrap();
    let g = ConvGeom::new([2, 4, 5, 5], [6, 4, 3, 3], (1, 1), (1, 1), 1).unwrap();
    let (x, w, y) = (t(&[2, 4, 5, 5], DType::F32), t(&[6, 4, 3, 3], DType::F32), t(&[2, 6, 5, 5], DType::F32));
    let short_ws = t(&[g.workspace_elems() - 1], DType::F32);
    let err = backend().conv2d_fwd(&g, &x, &w, &y, &short_ws).err();
    assert!(matches!(err, Some(Error::Shape { .. })), "short workspace: {err:?}");
    let p = PoolGeom::new(8, 5, 5, 3, 2, 1).unwrap();
    let (px, py) = (t(&[8, 5, 5], DType::F32), t(&[8, 3, 3], DType::F32));
    let err = backend().maxpool2d_fwd(&p, &px, &py, &t(&[8, 3, 3], DType::F32)).err();
    assert!(matches!(err, Some(Error::DType { .. })), "f32 argmax: {err:?}");
    let (a, b) = (t(&[2, 3, 4], DType::F32), t(&[4, 2, 3], DType::F32));
    let err = backend().permute(&a, &[2, 0, 0], &b).err();
    assert!(matches!(err, Some(Error::Shape { .. })), "not a permutation: {err:?}");
    let err = backend().copy_into_axis(&t(&[2, 3, 4], DType::F32), &t(&[2, 5, 4], DType::F32), 2, 4, 3).err();
    assert!(matches!(err, Some(Error::Shape { .. })), "piece past the row: {err:?}");
    let err = backend().cast(&t(&[4], DType::I64), &t(&[4], DType::F32)).err();
    assert!(matches!(err, Some(Error::DType { .. })), "i64 source: {err:?}");
    let x = t(&[4], DType::F32);
    let o = AdamStep { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0, step: 1 };
    let err = backend().adam_step(&x, &t(&[4], DType::F32), &x, &t(&[4], DType::F32), &o).err();
    assert!(matches!(err, Some(Error::InvalidArgument { .. })), "aliased moment: {err:?}");
}
