//! The snippet-feature store that `lofi extract` writes and the head stage and `lofi infer` read:
//! one `<video id>.npy` float32 array [L, C] per video (snippet-major, the per-video layout G-TAD
//! and OpenTAD forks load) plus `index.json`, written last, which lists every video with its
//! subset, duration and file, the fidelity and width of the features, and what encoder made them.
//!
//! Writes are atomic (temporary name, then rename), so an interrupted extraction never leaves a
//! truncated array behind a complete-looking index. Reading checks every array against the index.

use std::collections::BTreeMap;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use crate::data::atomic::{temp_sibling, write_json};
use crate::data::frames::check_video_id;
use crate::error::{Error, Result};
use crate::fidelity::Fidelity;
use crate::jsonio::read_json;

/// Format tag of `index.json`.
pub const FEATURES_FORMAT: &str = "lofi-features-1";
pub const INDEX_FILE: &str = "index.json";

/// One video of the store.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FeatureEntry {
    pub id: String,
    pub subset: String,
    /// Seconds.
    pub duration: f64,
    /// File name inside the store.
    pub file: String,
}

/// `index.json`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureIndex {
    pub format: String,
    /// Snippets per video (L) and the frame size the encoder saw.
    pub fidelity: Fidelity,
    /// Channels per snippet (C).
    pub feature_dim: usize,
    /// Free-form description of the encoder (preset, weights file or "random", seed).
    pub encoder: BTreeMap<String, String>,
    pub videos: Vec<FeatureEntry>,
}

/// Features of one video, [L, C] row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoFeatures {
    pub entry: FeatureEntry,
    pub values: Vec<f32>,
}

/// Writes one video's features [L, C] into the store `dir` atomically; returns its entry.
pub fn write_video(
    dir: &Path,
    id: &str,
    subset: &str,
    duration: f64,
    l: usize,
    c: usize,
    values: &[f32],
) -> Result<FeatureEntry> {
    check_video_id(id)?;
    if values.len() != l * c {
        return Err(Error::shape("features::write_video", format!("{} values for [{l}, {c}]", values.len())));
    }
    let file = format!("{id}.npy");
    let path = dir.join(&file);
    let tmp = temp_sibling(&path);
    write_f32(&tmp, &[l, c], values)?;
    std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
    Ok(FeatureEntry { id: id.to_string(), subset: subset.to_string(), duration, file })
}

/// Writes `index.json` last: a store is complete when it has one.
pub fn write_index(dir: &Path, index: &FeatureIndex) -> Result<()> {
    write_json(&dir.join(INDEX_FILE), index)
}

fn write_f32(path: &Path, shape: &[usize], values: &[f32]) -> Result<()> {
    use npyz::WriterBuilder;
    use std::io::Write;
    let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    let mut buf = std::io::BufWriter::new(file);
    let mut writer = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&shape)
        .writer(&mut buf)
        .begin_nd()
        .map_err(|e| Error::io(path, e))?;
    writer.extend(values.iter().copied()).map_err(|e| Error::io(path, e))?;
    writer.finish().map_err(|e| Error::io(path, e))?;
    buf.flush().map_err(|e| Error::io(path, e))
}

/// An opened store: its index, checked.
#[derive(Debug, Clone)]
pub struct FeatureStore {
    pub dir: PathBuf,
    pub index: FeatureIndex,
}

impl FeatureStore {
    pub fn open(dir: &Path) -> Result<FeatureStore> {
        let path = dir.join(INDEX_FILE);
        if !path.is_file() {
            return Err(Error::data(
                format!("features {}", dir.display()),
                format!("no {INDEX_FILE}: not a complete `lofi extract` output"),
            ));
        }
        let index: FeatureIndex = read_json(&path)?;
        if index.format != FEATURES_FORMAT {
            return Err(Error::data(
                path.display().to_string(),
                format!("format {:?}, expected {FEATURES_FORMAT:?}", index.format),
            ));
        }
        if index.fidelity.snippets == 0 || index.feature_dim == 0 {
            return Err(Error::data(path.display().to_string(), "zero snippets or feature width"));
        }
        for v in &index.videos {
            check_video_id(&v.id)?;
            if v.file.contains(['/', '\\']) || v.file.starts_with('.') {
                return Err(Error::data(
                    path.display().to_string(),
                    format!("video {}: file {:?} leaves the store", v.id, v.file),
                ));
            }
        }
        Ok(FeatureStore { dir: dir.to_path_buf(), index })
    }

    /// Snippets per video.
    pub fn snippets(&self) -> usize {
        self.index.fidelity.snippets
    }
    pub fn feature_dim(&self) -> usize {
        self.index.feature_dim
    }

    /// The features of every video of `subset`, in index order.
    pub fn load_subset(&self, subset: &str) -> Result<Vec<VideoFeatures>> {
        self.index.videos.iter().filter(|v| v.subset == subset).map(|v| self.load(v)).collect()
    }

    /// The features of one video, checked against the index's [L, C].
    pub fn load(&self, entry: &FeatureEntry) -> Result<VideoFeatures> {
        let path = self.dir.join(&entry.file);
        let bad = |msg: String| Error::data(format!("features of video {} ({})", entry.id, path.display()), msg);
        let file = std::fs::File::open(&path).map_err(|e| bad(e.to_string()))?;
        let npy = npyz::NpyFile::new(BufReader::new(file)).map_err(|e| bad(e.to_string()))?;
        let expected = [self.snippets() as u64, self.feature_dim() as u64];
        if npy.shape() != expected || npy.order() != npyz::Order::C {
            return Err(bad(format!("array of shape {:?}, expected {expected:?} in C order", npy.shape())));
        }
        let values: Vec<f32> = npy.into_vec().map_err(|e| bad(format!("not a float32 array: {e}")))?;
        if values.iter().any(|v| !v.is_finite()) {
            return Err(bad("non-finite feature values".into()));
        }
        Ok(VideoFeatures { entry: entry.clone(), values })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_round_trips_and_refuses_a_wrong_shape() {
        let dir = tempfile::tempdir().unwrap();
        let values: Vec<f32> = (0..12).map(|i| i as f32 * 0.5).collect();
        let e = write_video(dir.path(), "v1", "training", 10.0, 3, 4, &values).unwrap();
        let index = FeatureIndex {
            format: FEATURES_FORMAT.into(),
            fidelity: Fidelity::new(3, 32, 32),
            feature_dim: 4,
            encoder: BTreeMap::from([("preset".to_string(), "synthetic-tiny".to_string())]),
            videos: vec![e],
        };
        write_index(dir.path(), &index).unwrap();
        let store = FeatureStore::open(dir.path()).unwrap();
        let got = store.load_subset("training").unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].values, values);
        assert!(store.load_subset("validation").unwrap().is_empty());

        let wrong = FeatureIndex { feature_dim: 6, ..index };
        write_index(dir.path(), &wrong).unwrap();
        let err = FeatureStore::open(dir.path()).unwrap().load_subset("training").unwrap_err().to_string();
        assert!(err.contains("v1") && err.contains("expected [3, 6]"), "{err}");
    }
}
