//! `metrics.jsonl`: one JSON object per logged step — stage, epoch, step, each loss term, the rate
//! of each parameter group, samples/s and frames/s, the pool's peak bytes (and the fidelity when an
//! encoder runs) — and, at the end, evaluation lines (`"eval": {…}`).
//!
//! Lines are appended and flushed as they are written. On resume the file is cut back to the lines
//! of steps the checkpoint has done, so an interrupted run leaves no duplicate or orphan lines.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

pub const METRICS_FILE: &str = "metrics.jsonl";

/// One logged step.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StepRecord {
    pub stage: String,
    pub epoch: u64,
    pub step: u64,
    pub loss: std::collections::BTreeMap<String, f64>,
    pub lr: std::collections::BTreeMap<String, f64>,
    pub samples_per_s: f64,
    pub frames_per_s: f64,
    pub peak_bytes: usize,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub fidelity: Option<String>,
}

/// The open log of a run.
pub struct MetricsLog {
    path: PathBuf,
    file: std::fs::File,
}

impl MetricsLog {
    /// Opens `run/metrics.jsonl` for appending, first dropping lines of steps ≥ `keep_below` (the
    /// steps a resumed run will do again); `keep_below` 0 starts a fresh file.
    pub fn open(run: &Path, keep_below: u64) -> Result<MetricsLog> {
        let path = run.join(METRICS_FILE);
        let kept: Vec<String> = if keep_below == 0 || !path.exists() {
            Vec::new()
        } else {
            let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
            text.lines()
                .filter(|line| {
                    let v: serde_json::Value = serde_json::from_str(line).unwrap_or(serde_json::Value::Null);
                    v.get("step").and_then(|s| s.as_u64()).is_some_and(|s| s < keep_below) && v.get("eval").is_none()
                })
                .map(String::from)
                .collect()
        };
        let mut body = kept.join("\n");
        if !body.is_empty() {
            body.push('\n');
        }
        crate::nn::weights::write_atomic(&path, body.as_bytes())?;
        let file = std::fs::OpenOptions::new().append(true).open(&path).map_err(|e| Error::io(&path, e))?;
        Ok(MetricsLog { path, file })
    }

    pub fn write_step(&mut self, r: &StepRecord) -> Result<()> {
        self.write_value(&serde_json::to_value(r).map_err(|e| Error::data("metrics", e.to_string()))?)
    }

    /// Appends any JSON object as one line (evaluation results).
    pub fn write_value(&mut self, v: &serde_json::Value) -> Result<()> {
        let mut line = serde_json::to_string(v).map_err(|e| Error::data("metrics", e.to_string()))?;
        line.push('\n');
        self.file.write_all(line.as_bytes()).and_then(|_| self.file.flush()).map_err(|e| Error::io(&self.path, e))
    }
}

/// Every step record of a finished run's log (evaluation lines skipped).
pub fn read_steps(run: &Path) -> Result<Vec<StepRecord>> {
    let path = run.join(METRICS_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| Error::Parse {
            path: path.clone(),
            location: format!("line {}", i + 1),
            msg: e.to_string(),
        })?;
        if v.get("eval").is_none() {
            out.push(serde_json::from_value(v).map_err(|e| Error::Parse {
                path: path.clone(),
                location: format!("line {}", i + 1),
                msg: e.to_string(),
            })?);
        }
    }
    Ok(out)
}
