//! Video-level classifier scores in the CUHK / G-TAD layout `{"results": {<video id>: [score per
//! class]}, "class": [class names]}` (SPEC §g), which lofi's own classifier also writes, and the
//! top-k classes of a video.
//!
//! Relies on `crate::jsonio` for file-order objects and path-naming errors. Video ids are kept as
//! written (the CUHK file has no `v_` prefix, like the ActivityNet database). It does not fuse
//! scores with proposals (`fusion` does).

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::jsonio::{parse_error, parse_json, InOrder, Ordered};
use crate::{Error, Result};

/// Per-video class scores.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoClassScores {
    /// Class names; score k of a video belongs to `classes[k]`.
    pub classes: Vec<String>,
    /// Video id → one score per class, in file order.
    pub results: Vec<(String, Vec<f64>)>,
    index: HashMap<String, usize>,
}

impl VideoClassScores {
    /// Builds the table; every score list must have one score per class.
    pub fn new(classes: Vec<String>, results: Vec<(String, Vec<f64>)>) -> Result<Self> {
        if let Some((id, scores)) = results.iter().find(|(_, s)| s.len() != classes.len()) {
            return Err(Error::data(
                format!("classifier scores of video {id}"),
                format!("{} scores for {} classes", scores.len(), classes.len()),
            ));
        }
        let index = results.iter().enumerate().map(|(i, (id, _))| (id.clone(), i)).collect();
        Ok(Self { classes, results, index })
    }

    /// Reads a classifier file.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::parse(path, &bytes)
    }

    /// Parses the content of a classifier file; `path` is only used in error messages.
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Self> {
        let raw: RawScores = parse_json(path, bytes)?;
        if let Some((id, scores)) = raw.results.0.iter().find(|(_, s)| s.len() != raw.class.len()) {
            return Err(parse_error(
                path,
                format!("results.{id}"),
                format!("{} scores for {} classes in `class`", scores.len(), raw.class.len()),
            ));
        }
        Self::new(raw.class, raw.results.0)
    }

    /// The file as JSON text, videos in table order.
    pub fn to_json(&self) -> Result<String> {
        if let Some((id, _)) = self.results.iter().find(|(_, s)| s.iter().any(|x| !x.is_finite())) {
            return Err(Error::data(format!("classifier scores of video {id}"), "non-finite score"));
        }
        let value = ScoresOut { results: InOrder(&self.results), class: &self.classes };
        serde_json::to_string(&value).map_err(|e| Error::data("classifier scores", e.to_string()))
    }

    /// Writes the file atomically (a temporary sibling, synced, then renamed over `path`).
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

    /// The scores of one video.
    pub fn scores(&self, video: &str) -> Option<&[f64]> {
        self.index.get(video).and_then(|&i| self.results.get(i)).map(|(_, s)| s.as_slice())
    }

    /// The `k` best classes of a video as (class index, score), best first. Ties go to the lower
    /// class index, as numpy's `argmax` does.
    pub fn top_k(&self, video: &str, k: usize) -> Option<Vec<(usize, f64)>> {
        self.scores(video).map(|s| top_k(s, k))
    }
}

/// The `k` largest entries as (index, value), best first, lower index first on ties.
pub fn top_k(scores: &[f64], k: usize) -> Vec<(usize, f64)> {
    let mut ranked: Vec<(usize, f64)> = scores.iter().copied().enumerate().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked.truncate(k);
    ranked
}

#[derive(Deserialize)]
struct RawScores {
    results: Ordered<Vec<f64>>,
    class: Vec<String>,
}

#[derive(Serialize)]
struct ScoresOut<'a> {
    results: InOrder<'a, Vec<f64>>,
    class: &'a [String],
}
