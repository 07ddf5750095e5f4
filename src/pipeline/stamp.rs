//! Completion stamps of pipeline jobs: `<job dir>/done.json`, written last and atomically, holds
//! the job's key — a hash of what it does (kind, resolved configuration) and of its inputs' keys —
//! with its wall time and pool peak. A job whose stamp carries the key it would have now is done
//! and is skipped; any other state (no stamp, another key) means it runs again, so an interrupted
//! pipeline resumes where it stopped and a changed configuration re-runs exactly what it affects.

use std::path::Path;

use crate::data::atomic::write_json;
use crate::jsonio::read_json;
use crate::{Error, Result};

pub const STAMP_FILE: &str = "done.json";

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Stamp {
    pub job: String,
    pub key: String,
    pub wall_s: f64,
    pub peak_bytes: usize,
}

/// The key of a job described by `description` whose inputs have `input_keys`.
pub fn key(description: &str, input_keys: &[&str]) -> String {
    let mut h = crc32fast::Hasher::new();
    h.update(description.as_bytes());
    let mut h2 = crc32fast::Hasher::new_with_initial(0x9e37_79b9);
    h2.update(description.as_bytes());
    for k in input_keys {
        h.update(b"\0");
        h.update(k.as_bytes());
        h2.update(b"\0");
        h2.update(k.as_bytes());
    }
    format!("{:08x}{:08x}", h.finalize(), h2.finalize())
}

/// The stamp in `dir`, if it reads back.
pub fn read(dir: &Path) -> Option<Stamp> {
    let path = dir.join(STAMP_FILE);
    path.is_file().then(|| read_json(&path).ok()).flatten()
}

pub fn write(dir: &Path, stamp: &Stamp) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    write_json(&dir.join(STAMP_FILE), stamp)
}
