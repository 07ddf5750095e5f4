//! The frame store as `lofi prepare` owns it: the record of the options its frames were made
//! with (`frame_store.json`), the lock that keeps two runs out of each other's way, and the work
//! folder (`.lofi-work/`) that holds every temporary and backup name, so none of them can collide
//! with a user's file or a video's folder.

use crate::data::atomic::write_json;
use crate::data::frames::{FrameFormat, VideoMeta};
use crate::error::{Error, Result};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The store's record of its options.
pub const STORE_FILE: &str = "frame_store.json";
/// The folder of temporary names and the lock, inside the store.
pub const WORK_DIR: &str = ".lofi-work";
/// Format tag of `STORE_FILE`.
pub const STORE_FORMAT: &str = "lofi-frame-store-1";

/// The options that decide the stored frames; a resumed run must ask for the same.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StoreRecord {
    pub format: String,
    pub frame_format: FrameFormat,
    pub fps: f64,
    pub short_side: usize,
}

impl StoreRecord {
    pub fn new(frame_format: FrameFormat, fps: f64, short_side: usize) -> Self {
        StoreRecord { format: STORE_FORMAT.into(), frame_format, fps, short_side }
    }

    /// How `other` (what the store holds) differs from `self` (what is asked), flag by flag.
    pub fn differences(&self, other: &StoreRecord) -> Vec<String> {
        let mut out = Vec::new();
        if self.fps != other.fps {
            out.push(format!("--fps {} (the store has {})", self.fps, other.fps));
        }
        if self.short_side != other.short_side {
            out.push(format!("--short-side {} (the store has {})", self.short_side, other.short_side));
        }
        if self.frame_format != other.frame_format {
            out.push(format!("--format {:?} (the store has {:?})", self.frame_format, other.frame_format));
        }
        out
    }

    /// How a stored video's `meta.json` differs from these options (its short side is the
    /// smaller of its height and width).
    pub fn video_differences(&self, meta: &VideoMeta) -> Vec<String> {
        let held = StoreRecord::new(meta.format, meta.fps, meta.height.min(meta.width));
        self.differences(&held)
    }

    /// The record at `out`, if there is one.
    pub fn load(out: &Path) -> Result<Option<StoreRecord>> {
        let path = out.join(STORE_FILE);
        if !path.exists() {
            return Ok(None);
        }
        crate::jsonio::read_json(&path).map(Some)
    }

    pub fn write(&self, out: &Path) -> Result<()> {
        write_json(&out.join(STORE_FILE), self)
    }
}

/// An exclusive lock on a store, held while the value lives (`flock`, released by the kernel
/// when the process dies, so a killed run never leaves a stale lock).
pub struct StoreLock {
    _file: fs::File,
    pub work: PathBuf,
}

impl StoreLock {
    /// Locks the store at `out` (creating its work folder), or fails at once naming the holder.
    pub fn acquire(out: &Path) -> Result<Self> {
        let work = out.join(WORK_DIR);
        fs::create_dir_all(&work).map_err(|e| Error::io(&work, e))?;
        let path = work.join("lock");
        let mut file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        lock_exclusive(&file).map_err(|e| {
            let holder = fs::read_to_string(&path).unwrap_or_default();
            Error::data(
                format!("frame store {}", out.display()),
                format!(
                    "another lofi prepare is writing to it ({}; {e}); wait for it to finish",
                    crate::jsonio::excerpt(holder.trim())
                ),
            )
        })?;
        file.set_len(0).and_then(|()| write!(file, "pid {}", std::process::id())).map_err(|e| Error::io(&path, e))?;
        // Under the lock nobody else uses the work folder: what is there is a killed run's.
        for entry in fs::read_dir(&work).map_err(|e| Error::io(&work, e))?.flatten() {
            if entry.file_name() != "lock" {
                let p = entry.path();
                let _ = if p.is_dir() { fs::remove_dir_all(&p) } else { fs::remove_file(&p) };
            }
        }
        Ok(StoreLock { _file: file, work })
    }
}

fn lock_exclusive(file: &fs::File) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::io::AsRawFd;
        // SAFETY: flock on a descriptor we own; LOCK_NB makes it fail instead of waiting.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_store_fails_naming_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let first = StoreLock::acquire(dir.path()).unwrap();
        let err = StoreLock::acquire(dir.path()).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("another lofi prepare") && err.contains(&format!("pid {}", std::process::id())), "{err}");
        drop(first);
        assert!(StoreLock::acquire(dir.path()).is_ok());
    }

    #[test]
    fn differences_name_each_flag() {
        let asked = StoreRecord::new(FrameFormat::Jpeg, 8.0, 128);
        let held = StoreRecord::new(FrameFormat::Npy, 4.0, 128);
        let d = asked.differences(&held);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d[0].contains("--fps 8") && d[1].contains("--format"), "{d:?}");
        let meta = VideoMeta { format: FrameFormat::Jpeg, fps: 8.0, frames: 3, height: 128, width: 170 };
        assert!(asked.video_differences(&meta).is_empty());
    }
}
