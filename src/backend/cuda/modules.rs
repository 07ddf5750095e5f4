//! Loading kernel modules into a context, in the order DESIGN.md §4 fixes: nvcc's fatbin (native
//! code for sm_80/sm_90, no JIT), then nvcc's PTX (JIT-compiled by the driver), then NVRTC from
//! the embedded source (the only form a binary built without nvcc has). A form that is absent or
//! that the driver refuses (an older GPU, PTX newer than the driver) falls through to the next; the
//! error lists why each form failed.

use std::sync::Arc;

use cudarc::driver::{CudaContext, CudaModule};
use cudarc::nvrtc::Ptx;

use super::kernels::Module;
use super::nvrtc;
use crate::{Error, Result};

/// Which embedded form a module is (to be) loaded from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KernelSource {
    /// Fatbin, then PTX, then NVRTC: the first that loads.
    #[default]
    Auto,
    Fatbin,
    Ptx,
    Nvrtc,
}

impl KernelSource {
    /// The forms tried, in order, for this choice.
    fn order(self) -> &'static [KernelSource] {
        match self {
            KernelSource::Auto => &[KernelSource::Fatbin, KernelSource::Ptx, KernelSource::Nvrtc],
            KernelSource::Fatbin => &[KernelSource::Fatbin],
            KernelSource::Ptx => &[KernelSource::Ptx],
            KernelSource::Nvrtc => &[KernelSource::Nvrtc],
        }
    }
}

impl std::fmt::Display for KernelSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            KernelSource::Auto => "auto",
            KernelSource::Fatbin => "fatbin",
            KernelSource::Ptx => "ptx",
            KernelSource::Nvrtc => "nvrtc",
        })
    }
}

impl std::str::FromStr for KernelSource {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(KernelSource::Auto),
            "fatbin" => Ok(KernelSource::Fatbin),
            "ptx" => Ok(KernelSource::Ptx),
            "nvrtc" => Ok(KernelSource::Nvrtc),
            _ => {
                Err(Error::Config { flag: "--kernels".into(), msg: format!("{s:?} is not auto, fatbin, ptx or nvrtc") })
            }
        }
    }
}

/// A module loaded into a context, and the form it came from.
#[derive(Debug, Clone)]
pub struct LoadedModule {
    pub module: Arc<CudaModule>,
    pub source: KernelSource,
}

/// Loads `module` into `ctx`, trying the forms of `pref` in order.
pub fn load_module(ctx: &Arc<CudaContext>, module: Module, pref: KernelSource, cc: (i32, i32)) -> Result<LoadedModule> {
    let embedded = module.embedded()?;
    let mut failures = Vec::new();
    for &source in pref.order() {
        let image = match source {
            // cuModuleLoadData wants an 8-byte aligned fatbin; include_bytes! guarantees only 1,
            // so copy it into a fresh allocation (malloc aligns to 16).
            KernelSource::Fatbin => embedded.fatbin.map(|b| Ok(Ptx::from_binary(b.to_vec()))),
            KernelSource::Ptx => embedded.ptx.map(|p| Ok(Ptx::from_src(p))),
            KernelSource::Nvrtc => Some(nvrtc::compile_module(module, &nvrtc::arch_for(cc)).map(Ptx::from_src)),
            KernelSource::Auto => None,
        };
        let result = match image {
            None => Err("not embedded (built without nvcc)".to_string()),
            Some(Err(e)) => Err(e.to_string()),
            Some(Ok(ptx)) => ctx.load_module(ptx).map_err(|e| format!("the driver refused it: {e:?}")),
        };
        match result {
            Ok(m) => return Ok(LoadedModule { module: m, source }),
            Err(why) => failures.push(format!("{source}: {why}")),
        }
    }
    Err(Error::Cuda(format!("could not load kernels/{}.cu: {}", module.stem(), failures.join("; "))))
}
