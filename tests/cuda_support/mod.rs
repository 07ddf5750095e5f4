//! Skip-or-fail policy shared by the CUDA test files (STYLE.md §4): without a GPU (or libnvrtc) a
//! test prints `SKIPPED <name>: <why>` and asserts nothing; where the environment promises the
//! thing (`LOFI_REQUIRE_CUDA=1` from tools/gpu_check.sh, `CI` for libnvrtc) it fails instead.

// Each test file uses part of this module; the rest would warn as dead code in that crate.
#![allow(dead_code)]

use lofi::backend::cuda::{libs, nvrtc};
use lofi::Device;

fn flag(var: &str) -> bool {
    std::env::var(var).is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// CUDA device 0, or None after printing the skip line. Panics under `LOFI_REQUIRE_CUDA=1`.
pub fn cuda_or_skip(test: &str) -> Option<Device> {
    match Device::cuda(0, None) {
        Ok(dev) => Some(dev),
        Err(lofi::Error::NoCuda(why)) => {
            assert!(!flag("LOFI_REQUIRE_CUDA"), "{test}: LOFI_REQUIRE_CUDA=1 but no CUDA device: {why}");
            println!("SKIPPED {test}: no CUDA device");
            None
        }
        Err(e) => panic!("{test}: opening CUDA device 0 failed: {e}"),
    }
}

/// True when NVRTC can compile here (libnvrtc and the CUDA headers); otherwise prints the skip
/// line and returns false. Panics when `CI` is set: CI installs both, so absence is a broken CI.
pub fn nvrtc_or_skip(test: &str) -> bool {
    let why = if !libs::nvrtc_present() {
        "no libnvrtc"
    } else if nvrtc::cuda_include_dir().is_none() {
        "no CUDA headers for NVRTC"
    } else {
        return true;
    };
    assert!(!flag("CI"), "{test}: CI is set but there is {why} (see .ci/run: LD_LIBRARY_PATH, CUDA_HOME)");
    println!("SKIPPED {test}: {why}");
    false
}

/// The entry point names declared in a PTX text (`.visible .entry relu_fwd_f32(`).
pub fn ptx_entries(ptx: &str) -> Vec<String> {
    ptx.lines()
        .filter_map(|l| {
            let rest = &l[l.find(".entry ")? + ".entry ".len()..];
            Some(rest.split(['(', ' ']).next()?.trim().to_string())
        })
        .filter(|n| !n.is_empty())
        .collect()
}
