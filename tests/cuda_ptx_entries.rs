//! Every kernel name the Rust side launches (the registry `Kernel::ALL` × dtypes) exists as a
//! `.entry` in the compiled PTX of its module, and the PTX holds no entry the registry does not
//! know (a kernel nobody launches is dead code, and selftest would not check it).
//!
//! Checked on nvcc's PTX embedded by build.rs (present when the build had nvcc, as in CI) and on
//! NVRTC's PTX when libnvrtc is available. Under `CI` both must be available.

mod cuda_support;

use std::collections::BTreeSet;

use cuda_support::{nvrtc_or_skip, ptx_entries};
use lofi::backend::cuda::kernels::{Kernel, Module, NVCC_VERSION};
use lofi::backend::cuda::nvrtc::compile_module;

fn registered(module: Module) -> BTreeSet<String> {
    Kernel::all_entry_names().into_iter().filter(|(m, _)| *m == module).map(|(_, name)| name).collect()
}

fn assert_same_entries(module: Module, ptx: &str, origin: &str) {
    let found: BTreeSet<String> = ptx_entries(ptx).into_iter().collect();
    let wanted = registered(module);
    let missing: Vec<_> = wanted.difference(&found).collect();
    let unknown: Vec<_> = found.difference(&wanted).collect();
    assert!(missing.is_empty(), "{origin} PTX of {}.cu lacks launched entries {missing:?}", module.stem());
    assert!(
        unknown.is_empty(),
        "{origin} PTX of {}.cu has entries the registry does not launch: {unknown:?}",
        module.stem()
    );
}

#[test]
fn launched_names_exist_in_nvcc_ptx() {
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false");
    if NVCC_VERSION.is_none() {
        assert!(!ci, "CI is set but the build found no nvcc (LOFI_REQUIRE_NVCC=1 should have stopped it)");
        println!("SKIPPED launched_names_exist_in_nvcc_ptx: built without nvcc");
        return;
    }
    for m in Module::ALL {
        let embedded = m.embedded().unwrap_or_else(|e| panic!("{e}"));
        let ptx = embedded.ptx.unwrap_or_else(|| panic!("{}.cu: nvcc ran but no PTX is embedded", m.stem()));
        assert!(embedded.fatbin.is_some_and(|f| !f.is_empty()), "{}.cu: no fatbin embedded", m.stem());
        assert_same_entries(m, ptx, "nvcc");
    }
}

#[test]
fn launched_names_exist_in_nvrtc_ptx() {
    if !nvrtc_or_skip("launched_names_exist_in_nvrtc_ptx") {
        return;
    }
    for m in Module::ALL {
        // compute_80: the bf16 entries exist only from sm_80 on (their arch guard).
        let ptx = compile_module(m, "compute_80").unwrap_or_else(|e| panic!("{e}"));
        assert_same_entries(m, &ptx, "NVRTC");
    }
}

#[test]
fn nvcc_ptx_isa_is_accepted_by_a_cuda_13_0_driver() {
    let Some(ptx) = Module::ALL.iter().find_map(|m| m.embedded().ok().and_then(|e| e.ptx)) else {
        println!("SKIPPED nvcc_ptx_isa_is_accepted_by_a_cuda_13_0_driver: built without nvcc");
        return;
    };
    let version = ptx.lines().find_map(|l| l.trim().strip_prefix(".version ")).unwrap_or("");
    let (major, minor) = version.split_once('.').unwrap_or(("", ""));
    let isa = (major.parse::<u32>().unwrap_or(u32::MAX), minor.parse::<u32>().unwrap_or(u32::MAX));
    let max = std::env::var("CUDA_MAX_PTX_ISA").unwrap_or_else(|_| "9.0".into());
    let (mmaj, mmin) = max.split_once('.').unwrap_or(("9", "0"));
    let max = (mmaj.parse::<u32>().unwrap_or(9), mmin.parse::<u32>().unwrap_or(0));
    assert!(isa <= max, "PTX ISA {version} is newer than {max:?}: a CUDA 13.0 driver would reject it");
}
