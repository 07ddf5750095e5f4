//! Weight files: any module's parameters and buffers (BN running statistics) as safetensors under
//! their PyTorch names (`layer1.0.bn1.running_mean`, `backbone1.2.tconvs.0.weight`), so a file
//! opens in PyTorch with `safetensors.torch.load_file` and `tools/convert_torch_checkpoint.py`
//! output loads here.
//!
//! Saving writes a temporary sibling, syncs it and renames it over the target, so an interrupted
//! save never leaves a truncated file. Loading checks the whole file against the module first —
//! names missing from the file, names the module does not have, tensors of another shape or a
//! non-float/float mismatch — and changes nothing unless the load is acceptable; float tensors of
//! another precision are converted. It does not map names (the converter does) and does not hold
//! optimizer state (checkpoints do).

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use super::param::Param;
use crate::ops::shape::cast_fwd;
use crate::tensor::{DType, Device, Tensor};
use crate::{Error, Result};

/// Whether names missing from the file or unknown to the module are errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadPolicy {
    /// Every parameter and buffer must be in the file, and nothing else.
    Strict,
    /// Load what matches by name and report the rest (fine-tuning, encoder-only files).
    Partial,
}

/// A tensor whose shape (or kind) differs between the file and the module. Always an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub name: String,
    pub in_file: String,
    pub in_module: String,
}

/// What a load found, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    pub loaded: Vec<String>,
    /// Parameters or buffers of the module that the file lacks (left as they were).
    pub missing: Vec<String>,
    /// Tensors of the file that the module does not have (ignored).
    pub unexpected: Vec<String>,
    pub mismatched: Vec<Mismatch>,
}

fn to_st(d: DType) -> Dtype {
    match d {
        DType::F32 => Dtype::F32,
        DType::F64 => Dtype::F64,
        DType::BF16 => Dtype::BF16,
        DType::F16 => Dtype::F16,
        DType::I32 => Dtype::I32,
        DType::I64 => Dtype::I64,
        DType::U8 => Dtype::U8,
    }
}

fn from_st(d: Dtype) -> Option<DType> {
    Some(match d {
        Dtype::F32 => DType::F32,
        Dtype::F64 => DType::F64,
        Dtype::BF16 => DType::BF16,
        Dtype::F16 => DType::F16,
        Dtype::I32 => DType::I32,
        Dtype::I64 => DType::I64,
        Dtype::U8 => DType::U8,
        _ => return None,
    })
}

/// Saves `params` (values copied to the host) to `path` atomically.
pub fn save(path: &Path, params: &[Param]) -> Result<()> {
    save_with_metadata(path, params, &BTreeMap::new())
}

/// `save` with extra `__metadata__` entries (lofi records what a file holds: preset, classes, …).
pub fn save_with_metadata(path: &Path, params: &[Param], metadata: &BTreeMap<String, String>) -> Result<()> {
    let mut host: BTreeMap<String, (DType, Vec<usize>, Vec<u8>)> = BTreeMap::new();
    for p in params {
        let v = p.value();
        if host.insert(p.name().to_string(), (v.dtype(), v.dims().to_vec(), v.to_bytes()?)).is_some() {
            return Err(Error::data(path.display().to_string(), format!("two parameters named {}", p.name())));
        }
    }
    let views = host
        .iter()
        .map(|(name, (d, shape, bytes))| {
            TensorView::new(to_st(*d), shape.clone(), bytes)
                .map(|v| (name.clone(), v))
                .map_err(|e| Error::data(format!("{}: tensor {name}", path.display()), e.to_string()))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut meta: HashMap<String, String> = metadata.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    meta.insert("format".to_string(), "pt".to_string());
    let bytes = serialize_canonical(views, meta).map_err(|e| Error::data(path.display().to_string(), e))?;
    write_atomic(path, &bytes)
}

/// `safetensors::serialize` with the header's keys in sorted order. The crate writes its metadata
/// from a `HashMap`, whose order changes from process to process; sorting makes two saves of the
/// same tensors byte-identical (resume tests and the pipeline's skip rule compare files). Sorting
/// keeps the header's length, so the data offsets stay valid.
pub fn serialize_canonical(
    views: Vec<(String, TensorView<'_>)>,
    meta: HashMap<String, String>,
) -> std::result::Result<Vec<u8>, String> {
    let mut bytes = safetensors::serialize(views, Some(meta)).map_err(|e| e.to_string())?;
    let len = bytes.get(..8).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes).ok_or("no header")? as usize;
    let header = bytes.get(8..8 + len).ok_or("truncated header")?;
    let value: serde_json::Value = serde_json::from_slice(header).map_err(|e| e.to_string())?;
    // serde_json's map is ordered by key (no `preserve_order` feature), nested maps included.
    let mut sorted = serde_json::to_vec(&value).map_err(|e| e.to_string())?;
    if sorted.len() > len {
        return Err("canonical header longer than the original".into());
    }
    sorted.resize(len, b' ');
    bytes[8..8 + len].copy_from_slice(&sorted);
    Ok(bytes)
}

/// Writes `bytes` to `path` so that a crash at any moment leaves either the old file or the new
/// one: a temporary sibling, synced, renamed over `path`, then the directory synced so the rename
/// itself is durable. A failed write removes its temporary file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let written = (|| {
        let mut file = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        file.write_all(bytes).map_err(|e| Error::io(&tmp, e))?;
        file.sync_all().map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    sync_parent(path)
}

/// Syncs the directory holding `path` (makes a rename inside it durable).
pub fn sync_parent(path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| Error::io(dir, e))
}

/// The `__metadata__` of a safetensors file (empty when it has none).
pub fn read_metadata(path: &Path) -> Result<HashMap<String, String>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let (_, meta) =
        SafeTensors::read_metadata(&bytes).map_err(|e| Error::data(path.display().to_string(), e.to_string()))?;
    Ok(meta.metadata().clone().unwrap_or_default())
}

/// Loads `path` into `params` by name. Mismatched tensors are always an error; with `Strict`,
/// missing and unexpected names are too. On error no parameter is changed.
pub fn load(path: &Path, params: &[Param], policy: LoadPolicy) -> Result<LoadReport> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| Error::data(path.display().to_string(), e.to_string()))?;
    let by_name: HashMap<&str, &Param> = params.iter().map(|p| (p.name(), p)).collect();
    let mut report = LoadReport::default();
    let mut staged = Vec::new();
    for (name, view) in st.tensors() {
        let Some(p) = by_name.get(name.as_str()) else {
            report.unexpected.push(name);
            continue;
        };
        let current = p.value();
        let file_dtype = from_st(view.dtype());
        let compatible =
            file_dtype.is_some_and(|d| d == current.dtype() || (d.is_float() && current.dtype().is_float()));
        if !compatible || view.shape() != current.dims() {
            report.mismatched.push(Mismatch {
                name: name.clone(),
                in_file: format!("{:?} {:?}", view.dtype(), view.shape()),
                in_module: format!("{} {:?}", current.dtype(), current.dims()),
            });
            continue;
        }
        staged.push((*p, view, file_dtype));
        report.loaded.push(name);
    }
    let in_file: std::collections::HashSet<String> = st.names().iter().map(|s| s.to_string()).collect();
    report.missing = params.iter().filter(|p| !in_file.contains(p.name())).map(|p| p.name().to_string()).collect();
    report.unexpected.sort();
    report.loaded.sort();
    refuse(path, &report, policy)?;
    for (p, view, file_dtype) in staged {
        let current = p.value();
        let d = file_dtype.unwrap_or(current.dtype());
        let host = Tensor::zeros(view.shape().to_vec(), d, &Device::cpu())?;
        host.write_bytes(view.data())?;
        let converted = if d == current.dtype() { host } else { cast_fwd(&host, current.dtype())? };
        p.set(converted.to_device(current.device())?)?;
    }
    Ok(report)
}

/// The error for an unacceptable load, naming every offending tensor.
fn refuse(path: &Path, r: &LoadReport, policy: LoadPolicy) -> Result<()> {
    let mut problems = Vec::new();
    if !r.mismatched.is_empty() {
        let list: Vec<String> =
            r.mismatched.iter().map(|m| format!("{} (file {}, module {})", m.name, m.in_file, m.in_module)).collect();
        problems.push(format!("mis-shaped: {}", list.join(", ")));
    }
    if policy == LoadPolicy::Strict {
        if !r.missing.is_empty() {
            problems.push(format!("missing: {}", r.missing.join(", ")));
        }
        if !r.unexpected.is_empty() {
            problems.push(format!("unexpected: {}", r.unexpected.join(", ")));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::data(path.display().to_string(), format!("weights do not fit the model; {}", problems.join("; "))))
    }
}
