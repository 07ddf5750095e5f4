//! Crash-safe replacement of files and folders: write under a unique temporary name beside the
//! target (same file system, so the final rename is atomic), fsync the file, rename, fsync the
//! folder. A crash leaves either the old content or the new one, never a half-written file, and
//! never a missing destination.
//!
//! Temporary names carry the process id and a per-process counter (`.name.lofi-tmp-<pid>-<n>`),
//! so two runs, or a user's own `.tmp-x` file, never collide with them. Folders are swapped with
//! `renameat2(RENAME_EXCHANGE)` where the system has it, so the destination exists at every
//! instant; elsewhere the old folder is moved aside first and moved back if the second rename
//! fails.

use crate::error::{Error, Result};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Marker in every temporary name this module makes (and in the names callers derive with
/// [`unique_name`]), so that leftovers of a killed run are recognisable.
pub const TEMP_MARK: &str = ".lofi-tmp-";

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A name no other call of this process and no other process makes: `<stem>.lofi-tmp-<pid>-<n>`.
pub fn unique_name(stem: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{stem}{TEMP_MARK}{}-{n}", std::process::id())
}

/// The process id written into a name made by [`unique_name`], if it is one.
pub fn pid_of_temp_name(name: &str) -> Option<u32> {
    let (_, rest) = name.split_once(TEMP_MARK)?;
    rest.split('-').next()?.parse().ok()
}

/// Whether process `pid` is alive (a temporary name of a dead process is a leftover).
pub fn process_alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
        // SAFETY: signal 0 only checks that the process exists; nothing is delivered.
        let rc = unsafe { libc::kill(pid, 0) };
        rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

/// A unique temporary sibling of `path` (same folder, so the final rename never crosses a file
/// system), hidden and marked as lofi's.
pub fn temp_sibling(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(unique_name(&format!(".{name}")))
}

/// fsync of a folder, so that a rename inside it survives a power cut.
pub fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
        fs::File::open(dir).and_then(|f| f.sync_all()).map_err(|e| Error::io(dir, e))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

fn parent_of(path: &Path) -> &Path {
    path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// Writes `bytes` to `path` atomically and durably: temporary sibling, fsync, rename, fsync of
/// the folder. On failure the temporary file is removed and `path` is untouched.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_sibling(path);
    let written = (|| {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io(&tmp, e));
    }
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    sync_dir(parent_of(path))
}

/// Serialises `value` as pretty JSON and writes it atomically.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::data(path.display().to_string(), format!("cannot serialise: {e}")))?;
    text.push('\n');
    write_file(path, text.as_bytes())
}

/// How a folder replacement ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replaced {
    /// `dest` holds the new folder and nothing of the old one is left.
    Clean,
    /// `dest` holds the new folder, but the old copy (at the path given) could not be removed:
    /// a warning for the caller to pass on, not a failure.
    OldCopyLeft(PathBuf, String),
}

/// Moves the finished folder `new` to `dest` (same file system). An existing `dest` is swapped
/// out atomically (or moved aside and restored on failure), so `dest` is never missing; the old
/// copy is then removed, and a failure to remove it is reported as [`Replaced::OldCopyLeft`].
pub fn replace_dir(new: &Path, dest: &Path) -> Result<Replaced> {
    let old = if dest.exists() {
        let aside = temp_sibling(new);
        if exchange(new, dest).is_ok() {
            // `new` now names the old folder; give it a name that marks it as a leftover.
            fs::rename(new, &aside).map_err(|e| Error::io(new, e))?;
        } else {
            fs::rename(dest, &aside).map_err(|e| Error::io(dest, e))?;
            if let Err(e) = fs::rename(new, dest) {
                // Put the old folder back: the destination must not go missing.
                let _ = fs::rename(&aside, dest);
                return Err(Error::io(dest, e));
            }
        }
        Some(aside)
    } else {
        fs::rename(new, dest).map_err(|e| Error::io(dest, e))?;
        None
    };
    sync_dir(parent_of(dest))?;
    match old {
        None => Ok(Replaced::Clean),
        Some(old) => match fs::remove_dir_all(&old) {
            Ok(()) => Ok(Replaced::Clean),
            Err(e) => Ok(Replaced::OldCopyLeft(old, e.to_string())),
        },
    }
}

/// Swaps the two paths atomically (Linux `renameat2(RENAME_EXCHANGE)`); `Err` where the system
/// or the file system cannot.
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::ffi::OsStrExt;
        let ca = std::ffi::CString::new(a.as_os_str().as_bytes())?;
        let cb = std::ffi::CString::new(b.as_os_str().as_bytes())?;
        // SAFETY: both paths are NUL-terminated and outlive the call; the syscall only reads them.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_renameat2,
                libc::AT_FDCWD,
                ca.as_ptr(),
                libc::AT_FDCWD,
                cb.as_ptr(),
                libc::RENAME_EXCHANGE,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (a, b);
        Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
    }
}

/// Creates `dir` (empty): removes what an interrupted earlier run may have left there.
pub fn fresh_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        fs::remove_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names_are_unique_and_carry_the_pid() {
        let a = unique_name("x");
        let b = unique_name("x");
        assert_ne!(a, b);
        assert_eq!(pid_of_temp_name(&a), Some(std::process::id()));
        assert_eq!(pid_of_temp_name(".tmp-video"), None, "a user's .tmp- file is not ours");
        assert!(process_alive(std::process::id()));
    }

    #[test]
    fn replace_dir_swaps_in_the_new_folder_and_removes_the_old() {
        let root = tempfile::tempdir().unwrap();
        let (new, dest) = (root.path().join("new"), root.path().join("dest"));
        fs::create_dir_all(&new).unwrap();
        fs::create_dir_all(&dest).unwrap();
        fs::write(new.join("a"), b"new").unwrap();
        fs::write(dest.join("a"), b"old").unwrap();
        fs::write(dest.join("stale"), b"old").unwrap();
        assert_eq!(replace_dir(&new, &dest).unwrap(), Replaced::Clean);
        assert_eq!(fs::read(dest.join("a")).unwrap(), b"new");
        assert!(!dest.join("stale").exists() && !new.exists());
        let left: Vec<_> = fs::read_dir(root.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "only dest is left");
    }

    #[test]
    fn write_file_replaces_and_leaves_no_temporary() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("f.json");
        write_file(&path, b"1").unwrap();
        write_file(&path, b"2").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"2");
        assert_eq!(fs::read_dir(root.path()).unwrap().count(), 1);
        assert!(write_file(&root.path().join("no/such/dir/f"), b"x").is_err());
    }
}
