//! Atomic replacement of files and folders: write beside the target under a temporary name, then
//! rename. A crash leaves either the old content or the new one, never a half-written file.

use crate::error::{Error, Result};
use std::fs;
use std::path::{Path, PathBuf};

/// The temporary sibling of `path` used while it is being written (same folder, so the final
/// rename never crosses a file system).
pub fn temp_sibling(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".tmp-{name}"))
}

/// Writes `bytes` to `path` atomically.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_sibling(path);
    fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// Serialises `value` as pretty JSON and writes it atomically.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::data(path.display().to_string(), format!("cannot serialise: {e}")))?;
    text.push('\n');
    write_file(path, text.as_bytes())
}

/// Moves the finished folder `tmp` to `dest`. An existing `dest` is first moved aside and removed
/// only after the new one is in place.
pub fn replace_dir(tmp: &Path, dest: &Path) -> Result<()> {
    if dest.exists() {
        let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let old = dest.with_file_name(format!(".old-{name}"));
        if old.exists() {
            fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
        }
        fs::rename(dest, &old).map_err(|e| Error::io(dest, e))?;
        fs::rename(tmp, dest).map_err(|e| Error::io(dest, e))?;
        fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))
    } else {
        fs::rename(tmp, dest).map_err(|e| Error::io(dest, e))
    }
}

/// Creates `dir` (empty): removes what an interrupted earlier run may have left there.
pub fn fresh_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        fs::remove_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))
}
