//! Free space on the file system that holds a path, so that commands which write gigabytes can
//! compare an up-front estimate with what is there before they start (`lofi synth`).
//!
//! Relies on `statvfs(3)`; on other systems the free space is unknown and no check is made.

use crate::error::{Error, Result};
use std::path::Path;

/// Bytes available to an unprivileged writer on the file system holding `path` (which must
/// exist), or `None` where the platform cannot say.
pub fn free_bytes(path: &Path) -> Result<Option<u64>> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())
            .map_err(|_| Error::data(path.display().to_string(), "path holds a NUL byte"))?;
        // SAFETY: statvfs only writes into the zeroed struct we own; the path is NUL-terminated.
        let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
        let rc = unsafe { libc::statvfs(c_path.as_ptr(), &mut stat) };
        if rc != 0 {
            return Err(Error::io(path, std::io::Error::last_os_error()));
        }
        Ok(Some((stat.f_bavail as u64).saturating_mul(stat.f_frsize as u64)))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(None)
    }
}

/// "1.50 GB" (decimal units, as `df -H` and disk vendors count).
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit + 1 < UNITS.len() {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.2} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_space_of_an_existing_folder_is_known_and_a_missing_one_is_an_error() {
        let free = free_bytes(Path::new(".")).unwrap();
        assert!(free.is_some_and(|b| b > 0), "{free:?}");
        assert!(free_bytes(Path::new("/definitely/not/here")).is_err());
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(410_000_000), "410.00 MB");
    }
}
