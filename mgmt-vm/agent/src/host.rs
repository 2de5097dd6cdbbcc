//! Facts about the management VM itself that cordon does not report.

use std::ffi::CString;
use std::mem::MaybeUninit;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Bytes of the file system holding `path`; 0 if it cannot be asked.
pub fn storage_bytes(path: &Path) -> u64 {
    let Ok(path) = CString::new(path.as_os_str().as_bytes()) else {
        return 0;
    };
    let mut stats = MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `path` is a valid C string and `stats` is memory for one
    // `statvfs`, which the call fills when it returns 0.
    if unsafe { libc::statvfs(path.as_ptr(), stats.as_mut_ptr()) } != 0 {
        return 0;
    }
    // SAFETY: the call returned 0, so it filled `stats`.
    let stats = unsafe { stats.assume_init() };
    stats.f_blocks.saturating_mul(stats.f_frsize)
}
