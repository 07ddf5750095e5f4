//! Run-time compilation of the embedded kernel sources with NVRTC: the last resort of the module
//! loader (after nvcc's fatbin and PTX), the only path for a binary built without nvcc, and what
//! the NVRTC compile test runs on every kernel.
//!
//! NVRTC has no system headers, and cuda_bf16.h / cuda_fp16.h are not built in, so it needs
//! `--include-path` to a CUDA include directory. `cuda_include_dir` looks in CUDA_HOME/CUDA_PATH,
//! then beside the libnvrtc this process loaded (both a toolkit and the pip wheels keep `include/`
//! next to `lib/`, e.g. site-packages/nvidia/cu13/{lib,include}), then next to every
//! LD_LIBRARY_PATH entry, then the usual system places.

use std::ffi::{c_int, CString};
use std::path::PathBuf;

use cudarc::nvrtc::sys::{nvrtcGetNumSupportedArchs, nvrtcGetSupportedArchs, nvrtcResult};

use super::kernels::Module;
use super::libs::nvrtc_present;
use crate::{Error, Result};

/// The header every kernel includes; a directory without it is not a CUDA include directory.
const PROBE_HEADER: &str = "cuda_bf16.h";

/// A directory holding the CUDA headers NVRTC needs, or None.
pub fn cuda_include_dir() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    for var in ["CUDA_HOME", "CUDA_PATH"] {
        if let Some(home) = std::env::var_os(var) {
            candidates.push(PathBuf::from(home).join("include"));
        }
    }
    if let Some(lib_dir) = loaded_nvrtc_dir() {
        if let Some(parent) = lib_dir.parent() {
            candidates.push(parent.join("include"));
        }
    }
    if let Some(paths) = std::env::var_os("LD_LIBRARY_PATH") {
        for lib in std::env::split_paths(&paths) {
            if let Some(parent) = lib.parent() {
                candidates.push(parent.join("include"));
                candidates.push(parent.join("targets/x86_64-linux/include"));
            }
        }
    }
    candidates.push(PathBuf::from("/usr/local/cuda/include"));
    candidates.extend(versioned_cuda_dirs().into_iter().map(|d| d.join("include")));
    candidates.push(PathBuf::from("/usr/include"));
    candidates.into_iter().find(|d| d.join(PROBE_HEADER).is_file())
}

/// The directory of the libnvrtc the dynamic loader picks, read from /proc/self/maps once the
/// library is loaded (Linux; None elsewhere or without libnvrtc).
fn loaded_nvrtc_dir() -> Option<PathBuf> {
    if !nvrtc_present() {
        return None;
    }
    // Any call through cudarc keeps the library loaded for the life of the process.
    super::libs::nvrtc_version()?;
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines()
        .filter_map(|l| l.split_whitespace().last())
        .find(|p| p.contains("/libnvrtc.so") || p.contains("/libnvrtc64"))
        .and_then(|p| PathBuf::from(p).parent().map(PathBuf::from))
}

/// `/usr/local/cuda-*` directories, newest name first.
fn versioned_cuda_dirs() -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir("/usr/local") else { return Vec::new() };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("cuda-")))
        .collect();
    dirs.sort();
    dirs.reverse();
    dirs
}

/// Compiles `module`'s embedded source to PTX for `arch` (e.g. "compute_90").
pub fn compile_module(module: Module, arch: &str) -> Result<String> {
    let embedded = module.embedded()?;
    compile_source(embedded.source, &format!("{}.cu", module.stem()), arch)
}

/// Compiles one CUDA source to PTX for `arch`. Errors (never panics) when libnvrtc is missing, the
/// headers cannot be found, or the source does not compile; the error carries NVRTC's log.
pub fn compile_source(source: &str, name: &str, arch: &str) -> Result<String> {
    if !nvrtc_present() {
        return Err(Error::Cuda(
            "libnvrtc not found: put the CUDA lib directory (e.g. site-packages/nvidia/cu13/lib) on LD_LIBRARY_PATH"
                .into(),
        ));
    }
    let include = cuda_include_dir().ok_or_else(|| {
        Error::Cuda(format!("NVRTC needs the CUDA headers ({PROBE_HEADER}): set CUDA_HOME to a CUDA installation"))
    })?;
    // cudarc's safe wrapper panics on an interior NUL; reject it here instead.
    if CString::new(source).is_err() || CString::new(name).is_err() {
        return Err(Error::Cuda(format!("{name}: kernel source contains a NUL byte")));
    }
    let opts = cudarc::nvrtc::CompileOptions {
        include_paths: vec![include.to_string_lossy().into_owned()],
        options: vec![format!("--gpu-architecture={arch}")],
        name: Some(name.to_string()),
        ..Default::default()
    };
    let ptx = cudarc::nvrtc::compile_ptx_with_opts(source, opts).map_err(|e| match e {
        cudarc::nvrtc::CompileError::CompileError { log, .. } => {
            Error::Cuda(format!("NVRTC could not compile {name} for {arch}:\n{}", log.to_string_lossy()))
        }
        other => Error::Cuda(format!("NVRTC on {name}: {other:?}")),
    })?;
    // The image is NUL-terminated ASCII; read it without cudarc's `to_src`, which panics on bad UTF-8.
    let bytes = ptx.as_bytes().ok_or_else(|| Error::Cuda(format!("NVRTC returned no PTX image for {name}")))?;
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    Ok(String::from_utf8_lossy(&bytes[..end]).into_owned())
}

/// NVRTC's `--gpu-architecture` value for a GPU of compute capability `cc`: the newest virtual
/// architecture this libnvrtc supports that the GPU can run (e.g. (9, 0) → "compute_90"). A GPU
/// newer than the library JIT-compiles that PTX.
pub fn arch_for(cc: (i32, i32)) -> String {
    let want = cc.0 * 10 + cc.1;
    supported_archs()
        .into_iter()
        .filter(|&a| a <= want)
        .max()
        .map_or_else(|| format!("compute_{want}"), |a| format!("compute_{a}"))
}

/// The architectures libnvrtc can target (e.g. 75, 80, …, 120), or empty when it cannot say.
fn supported_archs() -> Vec<i32> {
    if !nvrtc_present() {
        return Vec::new();
    }
    let mut count: c_int = 0;
    // SAFETY: the library is present; the call writes one int.
    if unsafe { nvrtcGetNumSupportedArchs(&mut count) } != nvrtcResult::NVRTC_SUCCESS || count <= 0 {
        return Vec::new();
    }
    let mut archs = vec![0 as c_int; count as usize];
    // SAFETY: `archs` has room for the `count` ints the library reported.
    if unsafe { nvrtcGetSupportedArchs(archs.as_mut_ptr()) } != nvrtcResult::NVRTC_SUCCESS {
        return Vec::new();
    }
    archs
}
