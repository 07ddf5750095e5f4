//! Which CUDA libraries this process can open, and their versions. cudarc opens libraries lazily
//! and *panics* when one is missing, so every use goes through one of the `*_present` checks here
//! first; absence becomes an error or a "not found" line, never a panic.

use std::ffi::c_int;

pub use crate::memory::cuda::driver_present;

/// True when libnvrtc can be opened (it needs no GPU: it is a compiler).
pub fn nvrtc_present() -> bool {
    // SAFETY: is_culib_present only tries to dlopen the library and reports whether it could.
    unsafe { cudarc::nvrtc::sys::is_culib_present() }
}

/// True when libcublas can be opened.
pub fn cublas_present() -> bool {
    // SAFETY: is_culib_present only tries to dlopen the library and reports whether it could.
    unsafe { cudarc::cublas::sys::is_culib_present() }
}

/// A CUDA version number as the libraries report it (major·1000 + minor·10) → "13.0".
fn dotted(v: c_int) -> String {
    format!("{}.{}", v / 1000, (v % 1000) / 10)
}

/// The CUDA version the driver supports ("13.0"), or None without a driver.
pub fn driver_version() -> Option<String> {
    if !driver_present() {
        return None;
    }
    let mut v: c_int = 0;
    // SAFETY: the library is present (checked above); cuDriverGetVersion writes one int and needs
    // no initialisation or context.
    let r = unsafe { cudarc::driver::sys::cuDriverGetVersion(&mut v) };
    (r == cudarc::driver::sys::CUresult::CUDA_SUCCESS).then(|| dotted(v))
}

/// libnvrtc's version ("13.0"), or None when it cannot be opened.
pub fn nvrtc_version() -> Option<String> {
    if !nvrtc_present() {
        return None;
    }
    let (mut major, mut minor): (c_int, c_int) = (0, 0);
    // SAFETY: the library is present; nvrtcVersion writes two ints.
    let r = unsafe { cudarc::nvrtc::sys::nvrtcVersion(&mut major, &mut minor) };
    (r == cudarc::nvrtc::sys::nvrtcResult::NVRTC_SUCCESS).then(|| format!("{major}.{minor}"))
}

/// libcublas's version ("13.0.2"), or None when it cannot be opened. Needs no GPU.
pub fn cublas_version() -> Option<String> {
    if !cublas_present() {
        return None;
    }
    use cudarc::cublas::sys::{cublasGetProperty, cublasStatus_t, libraryPropertyType};
    let mut parts = [0 as c_int; 3];
    let kinds =
        [libraryPropertyType::MAJOR_VERSION, libraryPropertyType::MINOR_VERSION, libraryPropertyType::PATCH_LEVEL];
    for (slot, kind) in parts.iter_mut().zip(kinds) {
        // SAFETY: the library is present; cublasGetProperty writes one int and needs no handle.
        let r = unsafe { cublasGetProperty(kind, slot) };
        if r != cublasStatus_t::CUBLAS_STATUS_SUCCESS {
            return None;
        }
    }
    Some(format!("{}.{}.{}", parts[0], parts[1], parts[2]))
}
