//! Where `lofi synth` may write, and how a dataset replaces an earlier one as a whole.
//!
//! `--out` may be missing, empty, or an earlier lofi synth output (it holds a `synth.json` of
//! this generator's format); anything else is refused, naming what is there, unless the caller
//! forces it. The dataset is built in a hidden sibling folder and swapped in when complete
//! (`atomic::replace_dir`), so the output never mixes two runs or two seeds, frame folders of a
//! larger earlier run do not survive, and `synth.json` always describes what is on disk. Build
//! folders of killed runs (their process is gone) are removed on the next run.

use crate::data::atomic::{pid_of_temp_name, process_alive, unique_name};
use crate::data::synth::writer::SYNTH_FORMAT;
use crate::error::{Error, Result};
use std::fs;
use std::path::{Path, PathBuf};

/// Name of the record that marks a folder as a lofi synth output.
pub const RECORD_FILE: &str = "synth.json";

/// What `--out` holds now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutState {
    Missing,
    Empty,
    /// An earlier output of this generator: replaced as a whole.
    LofiOutput,
    /// Something else: a few of its entries (sorted) and how many there are in all.
    Foreign {
        examples: Vec<String>,
        entries: usize,
    },
}

/// The output folder resolved to a parent and a name, so the build folder can sit beside it.
#[derive(Debug, Clone)]
pub struct OutDir {
    pub path: PathBuf,
    pub parent: PathBuf,
    pub name: String,
}

impl OutDir {
    /// Resolves `out` (an existing folder is canonicalised: `.` or a symlink get a real name).
    pub fn resolve(out: &Path) -> Result<Self> {
        let bad = |msg: &str| Error::Config { flag: "--out".into(), msg: format!("{}: {msg}", out.display()) };
        let path = if out.exists() {
            if !out.is_dir() {
                return Err(bad("exists and is not a folder"));
            }
            out.canonicalize().map_err(|e| Error::io(out, e))?
        } else {
            out.to_path_buf()
        };
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).ok_or_else(|| bad("names no folder"))?;
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
        Ok(OutDir { path, parent, name })
    }

    /// A fresh, unique build folder name beside the output.
    pub fn build_dir(&self) -> PathBuf {
        self.parent.join(unique_name(&self.build_stem()))
    }

    fn build_stem(&self) -> String {
        format!(".{}.synth", self.name)
    }

    /// Removes build folders that killed runs left beside the output. Best effort: a folder that
    /// cannot be removed is left for the user, it does not stop this run.
    pub fn remove_stale_builds(&self) {
        let Ok(entries) = fs::read_dir(&self.parent) else { return };
        let stem = self.build_stem();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let dead = name.starts_with(&stem) && pid_of_temp_name(&name).is_some_and(|pid| !process_alive(pid));
            if dead {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }

    /// What the output folder holds.
    pub fn state(&self) -> Result<OutState> {
        if !self.path.exists() {
            return Ok(OutState::Missing);
        }
        let mut names: Vec<String> = fs::read_dir(&self.path)
            .map_err(|e| Error::io(&self.path, e))?
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<std::io::Result<_>>()
            .map_err(|e| Error::io(&self.path, e))?;
        if names.is_empty() {
            return Ok(OutState::Empty);
        }
        if is_lofi_record(&self.path.join(RECORD_FILE)) {
            return Ok(OutState::LofiOutput);
        }
        names.sort();
        let entries = names.len();
        names.truncate(5);
        Ok(OutState::Foreign { examples: names, entries })
    }

    /// `Err` (naming what is there) unless the output may be replaced; `force` allows anything.
    pub fn check_replaceable(&self, force: bool) -> Result<()> {
        match self.state()? {
            OutState::Foreign { examples, entries } if !force => {
                let more = if entries > examples.len() {
                    format!(" and {} more", entries - examples.len())
                } else {
                    String::new()
                };
                Err(Error::Config {
                    flag: "--out".into(),
                    msg: format!(
                        "{} is not empty and is not a lofi synth output (it holds {}{more}); choose another folder, \
                         or pass --force to replace it and everything in it",
                        self.path.display(),
                        examples.join(", ")
                    ),
                })
            }
            _ => Ok(()),
        }
    }
}

/// Whether `path` is a `synth.json` of this generator's format.
fn is_lofi_record(path: &Path) -> bool {
    let Ok(bytes) = fs::read(path) else { return false };
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes) else { return false };
    value.get("format").and_then(|f| f.as_str()) == Some(SYNTH_FORMAT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foreign_folders_are_refused_naming_their_entries() {
        let root = tempfile::tempdir().unwrap();
        let out = OutDir::resolve(&root.path().join("data")).unwrap();
        assert_eq!(out.state().unwrap(), OutState::Missing);
        fs::create_dir_all(&out.path).unwrap();
        assert_eq!(out.state().unwrap(), OutState::Empty);
        fs::write(out.path.join("thesis.tex"), b"x").unwrap();
        let err = out.check_replaceable(false).unwrap_err().to_string();
        assert!(err.contains("thesis.tex") && err.contains("--force"), "{err}");
        assert!(out.check_replaceable(true).is_ok());
        fs::write(out.path.join(RECORD_FILE), format!(r#"{{"format": "{SYNTH_FORMAT}"}}"#)).unwrap();
        assert_eq!(out.state().unwrap(), OutState::LofiOutput);
    }

    #[test]
    fn stale_build_folders_of_dead_processes_are_removed() {
        let root = tempfile::tempdir().unwrap();
        let out = OutDir::resolve(&root.path().join("data")).unwrap();
        // pid 0x7fff_fff0 does not exist; our own pid is alive.
        let dead = root.path().join(format!(".data.synth{}2147483632-0", crate::data::atomic::TEMP_MARK));
        let live = out.build_dir();
        fs::create_dir_all(&dead).unwrap();
        fs::create_dir_all(&live).unwrap();
        out.remove_stale_builds();
        assert!(!dead.exists() && live.exists());
    }
}
