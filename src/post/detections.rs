//! The ActivityNet result file: `{"version", "results": {<video id>: [{label, score, segment}]},
//! "external_data"}`, read and written in file order (SPEC §g). Both `lofi infer` (through the
//! writer) and `lofi eval` (through the reader) use these types.
//!
//! Relies on `crate::jsonio` for file-order objects and path-naming errors. Video ids are kept as
//! written. It does not judge the content (unknown labels, reversed segments): the evaluator counts
//! those, because the official evaluator accepts such files.

use std::io::Write;
use std::path::Path;

use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};

use crate::jsonio::{parse_json_reporting, InOrder, Ordered, UnknownKey};
use crate::{Error, Result};

/// One detection: a class label, a confidence and `[start, end]` in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    pub label: String,
    pub score: f64,
    pub segment: [f64; 2],
}

/// A whole result file. `results` keeps the file's video order, which decides how equal scores
/// rank in evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultFile {
    pub version: String,
    pub results: Vec<(String, Vec<Detection>)>,
    /// Free-form, as the format allows; written as `{}` when there is nothing to say.
    pub external_data: serde_json::Value,
    /// Keys the layout does not define, found when the file was read (never written). A misspelt
    /// `segment` or `score` is an error already (they are required); this catches the rest.
    pub unknown_keys: Vec<UnknownKey>,
}

impl ResultFile {
    /// An empty result file with the given version string.
    pub fn new(version: impl Into<String>) -> Self {
        Self {
            version: version.into(),
            results: Vec::new(),
            external_data: serde_json::Value::Object(serde_json::Map::new()),
            unknown_keys: Vec::new(),
        }
    }

    /// Reads a result file.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::parse(path, &bytes)
    }

    /// Parses the content of a result file; `path` is only used in error messages.
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Self> {
        let (raw, unknown_keys): (RawResultFile, _) = parse_json_reporting(path, bytes)?;
        let version = match raw.version {
            Some(serde_json::Value::String(s)) => s,
            Some(other) => other.to_string(),
            None => String::new(),
        };
        Ok(Self { version, results: raw.results.0, external_data: raw.external_data, unknown_keys })
    }

    /// The file as JSON text. Fails on a non-finite score or time, which JSON cannot hold
    /// (serde_json would write `null`, and the file would no longer load).
    pub fn to_json(&self) -> Result<String> {
        for (id, dets) in &self.results {
            for (k, d) in dets.iter().enumerate() {
                if !(d.score.is_finite() && d.segment.iter().all(|t| t.is_finite())) {
                    return Err(Error::data(
                        format!("results.{id}[{k}]"),
                        format!("non-finite detection (score {}, segment {:?})", d.score, d.segment),
                    ));
                }
            }
        }
        serde_json::to_string(self).map_err(|e| Error::data("result file", e.to_string()))
    }

    /// Writes the file atomically: to a temporary sibling first, then renamed over `path`, so an
    /// interrupted write never leaves a truncated result file behind.
    pub fn write(&self, path: &Path) -> Result<()> {
        let text = self.to_json()?;
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = std::path::PathBuf::from(tmp);
        let mut file = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        file.write_all(text.as_bytes()).map_err(|e| Error::io(&tmp, e))?;
        file.sync_all().map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
    }
}

impl Serialize for ResultFile {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("ResultFile", 3)?;
        s.serialize_field("version", &self.version)?;
        s.serialize_field("results", &InOrder(&self.results))?;
        s.serialize_field("external_data", &self.external_data)?;
        s.end()
    }
}

#[derive(Deserialize)]
struct RawResultFile {
    #[serde(default)]
    version: Option<serde_json::Value>,
    results: Ordered<Vec<Detection>>,
    #[serde(default)]
    external_data: serde_json::Value,
}
