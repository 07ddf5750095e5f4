//! Every kernel source compiles with NVRTC, exactly as a binary built without nvcc compiles it at
//! run time (the embedded source with common.cuh inlined), for the oldest and a current target.
//! Needs libnvrtc and the CUDA headers, not a GPU: CI installs both (.ci/run) and fails when they
//! are missing; elsewhere the tests say SKIPPED.

mod cuda_support;

use cuda_support::{nvrtc_or_skip, ptx_entries};
use lofi::backend::cuda::kernels::Module;
use lofi::backend::cuda::nvrtc::{arch_for, compile_module, compile_source};

#[test]
fn nvrtc_compiles_every_kernel() {
    if !nvrtc_or_skip("nvrtc_compiles_every_kernel") {
        return;
    }
    for arch in ["compute_80", "compute_90"] {
        for m in Module::ALL {
            let ptx = compile_module(m, arch).unwrap_or_else(|e| panic!("{}.cu for {arch}: {e}", m.stem()));
            assert!(!ptx_entries(&ptx).is_empty(), "{}.cu for {arch}: no entry points in the PTX", m.stem());
            println!("nvrtc {arch} {}.cu: {} entries", m.stem(), ptx_entries(&ptx).len());
        }
    }
}

#[test]
fn nvrtc_reports_a_broken_kernel_with_its_log() {
    if !nvrtc_or_skip("nvrtc_reports_a_broken_kernel_with_its_log") {
        return;
    }
    let broken = "extern \"C\" __global__ void broken_f32(float* y) { y[0] = undefined_name; }";
    let err = compile_source(broken, "broken.cu", "compute_80").err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("undefined_name"), "expected NVRTC's log naming the error, got: {err:?}");
}

#[test]
fn nvrtc_targets_the_newest_arch_the_gpu_can_run() {
    if !nvrtc_or_skip("nvrtc_targets_the_newest_arch_the_gpu_can_run") {
        return;
    }
    assert_eq!(arch_for((8, 0)), "compute_80");
    assert_eq!(arch_for((9, 0)), "compute_90");
    // There is no sm_85: it falls back to the newest architecture below it.
    assert_eq!(arch_for((8, 5)), "compute_80");
}
