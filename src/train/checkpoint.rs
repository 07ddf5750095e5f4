//! Checkpoints for exact resume: `RUN/checkpoints/step-<N>.safetensors` holding every parameter
//! and buffer (`model/<name>`), the optimizer state (`optim/<group>/<name>.<slot>`) and, in the
//! `__metadata__`, the position (global step, epoch, batch within the epoch), the Adam step counts,
//! the seed and a CRC-32 of every tensor's bytes.
//!
//! Random streams: every draw of a run comes from a stream that is a pure function of (seed, name,
//! counter) — the loss sampling from (seed, "loss", step), an epoch's order from (seed, order
//! stream, epoch), a sample's augmentation from (seed, augment stream, epoch, item) — so the seed
//! and the position restore every stream exactly; the metadata lists them.
//!
//! Writing: temporary file, fsync, rename, fsync of the directory; only then are checkpoints beyond
//! the newest `keep` deleted. Reading refuses a truncated or corrupt file with a message naming it,
//! and `resume_latest` then falls back to the previous checkpoint.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use crate::nn::weights::{serialize_canonical, sync_parent, write_atomic};
use crate::nn::Param;
use crate::tensor::{DType, Device, Tensor};
use crate::{Error, Result};

pub const CHECKPOINT_FORMAT: &str = "lofi-checkpoint-1";
const META_KEY: &str = "lofi.checkpoint";

/// Where a run stands.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Position {
    /// Optimizer steps done (the next step is `step`).
    pub step: u64,
    pub epoch: u64,
    /// Batches of `epoch` done.
    pub batch: u64,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Meta {
    format: String,
    stage: String,
    seed: u64,
    position: Position,
    adam_steps: BTreeMap<String, u64>,
    /// How each random stream is derived (documentation for a reader of the file).
    rng_streams: BTreeMap<String, String>,
    crc32: u32,
}

/// A checkpoint read back.
pub struct Checkpoint {
    pub path: PathBuf,
    pub stage: String,
    pub seed: u64,
    pub position: Position,
    pub adam_steps: HashMap<String, u64>,
    /// `model/…` tensors by parameter name.
    pub model: HashMap<String, Tensor>,
    /// `optim/…` tensors by `<group>/<param>.<slot>`.
    pub optim: HashMap<String, Tensor>,
}

/// What a checkpoint saves.
pub struct Snapshot<'a> {
    pub stage: &'a str,
    pub seed: u64,
    pub position: Position,
    pub params: &'a [Param],
    pub optim_tensors: Vec<(String, Tensor)>,
    pub adam_steps: Vec<(String, u64)>,
    pub rng_streams: BTreeMap<String, String>,
}

pub fn checkpoint_dir(run: &Path) -> PathBuf {
    run.join("checkpoints")
}

fn file_name(step: u64) -> String {
    format!("step-{step:09}.safetensors")
}

fn to_st(d: DType) -> Result<Dtype> {
    match d {
        DType::F32 => Ok(Dtype::F32),
        DType::F64 => Ok(Dtype::F64),
        DType::BF16 => Ok(Dtype::BF16),
        DType::I64 => Ok(Dtype::I64),
        other => Err(Error::invalid("checkpoint", format!("cannot store a {other} tensor"))),
    }
}

fn from_st(d: Dtype) -> Option<DType> {
    match d {
        Dtype::F32 => Some(DType::F32),
        Dtype::F64 => Some(DType::F64),
        Dtype::BF16 => Some(DType::BF16),
        Dtype::I64 => Some(DType::I64),
        _ => None,
    }
}

/// Writes `snap` as the checkpoint of its step under `run`, then deletes all but the newest `keep`.
pub fn write(run: &Path, snap: &Snapshot, keep: usize) -> Result<PathBuf> {
    let mut tensors: BTreeMap<String, (DType, Vec<usize>, Vec<u8>)> = BTreeMap::new();
    for p in snap.params {
        let v = p.value();
        tensors.insert(format!("model/{}", p.name()), (v.dtype(), v.dims().to_vec(), v.to_bytes()?));
    }
    for (name, t) in &snap.optim_tensors {
        tensors.insert(format!("optim/{name}"), (t.dtype(), t.dims().to_vec(), t.to_bytes()?));
    }
    let mut crc = crc32fast::Hasher::new();
    for (name, (_, _, bytes)) in &tensors {
        crc.update(name.as_bytes());
        crc.update(bytes);
    }
    let meta = Meta {
        format: CHECKPOINT_FORMAT.into(),
        stage: snap.stage.into(),
        seed: snap.seed,
        position: snap.position.clone(),
        adam_steps: snap.adam_steps.iter().cloned().collect(),
        rng_streams: snap.rng_streams.clone(),
        crc32: crc.finalize(),
    };
    let meta_json = serde_json::to_string(&meta).map_err(|e| Error::data("checkpoint", e.to_string()))?;
    let views = tensors
        .iter()
        .map(|(n, (d, shape, bytes))| {
            let view =
                TensorView::new(to_st(*d)?, shape.clone(), bytes).map_err(|e| Error::data(n.clone(), e.to_string()))?;
            Ok((n.clone(), view))
        })
        .collect::<Result<Vec<_>>>()?;
    let bytes = serialize_canonical(views, HashMap::from([(META_KEY.to_string(), meta_json)]))
        .map_err(|e| Error::data("checkpoint", e))?;
    let dir = checkpoint_dir(run);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let path = dir.join(file_name(snap.position.step));
    write_atomic(&path, &bytes)?;
    prune(&dir, keep)?;
    Ok(path)
}

/// Complete checkpoints under `run`, oldest first (temporary files of an interrupted write are not
/// checkpoints).
pub fn list(run: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let dir = checkpoint_dir(run);
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))? {
        let path = entry.map_err(|e| Error::io(&dir, e))?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let step = name.strip_prefix("step-").and_then(|r| r.strip_suffix(".safetensors")).and_then(|s| s.parse().ok());
        if let Some(step) = step {
            found.push((step, path));
        }
    }
    found.sort();
    Ok(found)
}

fn prune(dir: &Path, keep: usize) -> Result<()> {
    let run = dir.parent().unwrap_or(dir);
    let all = list(run)?;
    let excess = all.len().saturating_sub(keep.max(1));
    for (_, path) in &all[..excess] {
        std::fs::remove_file(path).map_err(|e| Error::io(path, e))?;
    }
    if excess > 0 {
        sync_parent(&dir.join("x"))?;
    }
    Ok(())
}

/// Reads and verifies one checkpoint; tensors land on `device`.
pub fn read(path: &Path, device: &Device) -> Result<Checkpoint> {
    let fail = |msg: String| Error::data(format!("checkpoint {}", path.display()), msg);
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let (_, header) =
        SafeTensors::read_metadata(&bytes).map_err(|e| fail(format!("truncated or not safetensors: {e}")))?;
    let meta_json =
        header.metadata().as_ref().and_then(|m| m.get(META_KEY)).ok_or_else(|| fail("no lofi metadata".into()))?;
    let meta: Meta = serde_json::from_str(meta_json).map_err(|e| fail(format!("bad metadata: {e}")))?;
    if meta.format != CHECKPOINT_FORMAT {
        return Err(fail(format!("format {:?}, expected {CHECKPOINT_FORMAT:?}", meta.format)));
    }
    let st = SafeTensors::deserialize(&bytes).map_err(|e| fail(format!("truncated or corrupt: {e}")))?;
    let mut names: Vec<String> = st.names().into_iter().map(String::from).collect();
    names.sort();
    let mut crc = crc32fast::Hasher::new();
    let (mut model, mut optim) = (HashMap::new(), HashMap::new());
    for name in names {
        let view = st.tensor(&name).map_err(|e| fail(format!("{name}: {e}")))?;
        crc.update(name.as_bytes());
        crc.update(view.data());
        let dtype = from_st(view.dtype()).ok_or_else(|| fail(format!("{name}: dtype {:?}", view.dtype())))?;
        let t = Tensor::zeros(view.shape().to_vec(), dtype, &Device::cpu())?;
        t.write_bytes(view.data())?;
        let t = if device.is_cpu() && *device == Device::cpu() { t } else { t.to_device(device)? };
        if let Some(n) = name.strip_prefix("model/") {
            model.insert(n.to_string(), t);
        } else if let Some(n) = name.strip_prefix("optim/") {
            optim.insert(n.to_string(), t);
        } else {
            return Err(fail(format!("unexpected tensor {name}")));
        }
    }
    if crc.finalize() != meta.crc32 {
        return Err(fail("checksum mismatch: the file is corrupt".into()));
    }
    Ok(Checkpoint {
        path: path.to_path_buf(),
        stage: meta.stage,
        seed: meta.seed,
        position: meta.position,
        adam_steps: meta.adam_steps.into_iter().collect(),
        model,
        optim,
    })
}

/// The newest checkpoint that reads back, and a note per newer one that did not (`None` when
/// there is no usable checkpoint).
pub fn resume_latest(run: &Path, device: &Device) -> Result<(Option<Checkpoint>, Vec<String>)> {
    let mut notes = Vec::new();
    for (_, path) in list(run)?.into_iter().rev() {
        match read(&path, device) {
            Ok(c) => return Ok((Some(c), notes)),
            Err(e) => notes.push(format!("{e}; trying the previous checkpoint")),
        }
    }
    Ok((None, notes))
}

/// Puts the checkpoint's values into `params` (every one must be there, with its shape).
pub fn restore_params(ckpt: &Checkpoint, params: &[Param]) -> Result<()> {
    let mut missing = Vec::new();
    let mut staged = Vec::new();
    for p in params {
        match ckpt.model.get(p.name()) {
            Some(t) if t.shape() == p.value().shape() && t.dtype() == p.value().dtype() => staged.push((p, t)),
            Some(t) => {
                return Err(Error::data(
                    format!("checkpoint {}", ckpt.path.display()),
                    format!(
                        "{}: {} {} in the file, {} {} in the model",
                        p.name(),
                        t.shape(),
                        t.dtype(),
                        p.value().shape(),
                        p.value().dtype()
                    ),
                ))
            }
            None => missing.push(p.name().to_string()),
        }
    }
    let known: std::collections::HashSet<&str> = params.iter().map(|p| p.name()).collect();
    let mut unexpected: Vec<&str> = ckpt.model.keys().map(String::as_str).filter(|n| !known.contains(n)).collect();
    unexpected.sort_unstable();
    if !missing.is_empty() || !unexpected.is_empty() {
        return Err(Error::data(
            format!("checkpoint {}", ckpt.path.display()),
            format!(
                "written by another architecture; missing: [{}], unexpected: [{}]",
                missing.join(", "),
                unexpected.join(", ")
            ),
        ));
    }
    for (p, t) in staged {
        p.set(t.to_device(p.value().device())?)?;
    }
    Ok(())
}
