//! The management VM's storage disk: a raw image with an ext4 file system
//! (journaled: a power cut in the middle of a write leaves a file system
//! the kernel recovers at the next mount), made by e2fsprogs' `mkfs.ext4`
//! on the host, and kept from boot to boot.

use std::fmt;
use std::fs::File;
use std::io;
use std::path::Path;
use std::process::Command;

/// The size of the image: room for the agent's state and a few images.
pub const SIZE: u64 = 64 << 20;
/// The file system's label.
pub const LABEL: &str = "cordon-storage";
/// The program that makes the file system (Debian's `e2fsprogs`).
pub const MKFS: &str = "mkfs.ext4";

/// Why a storage disk could not be made.
#[derive(Debug)]
pub enum StorageError {
    Io(io::Error),
    /// `mkfs.ext4` could not run or failed.
    Mkfs(String),
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(error) => error.fmt(f),
            Self::Mkfs(error) => write!(f, "{MKFS}: {error}"),
        }
    }
}

impl std::error::Error for StorageError {}

/// Writes a new storage disk at `path`, replacing any there: a sparse
/// image of [`SIZE`] bytes with an empty ext4 file system.
pub fn create(path: &Path) -> Result<(), StorageError> {
    File::create(path)
        .and_then(|file| file.set_len(SIZE))
        .map_err(StorageError::Io)?;
    let output = Command::new(MKFS)
        .args(["-q", "-F", "-L", LABEL])
        .arg(path)
        .output()
        .map_err(|error| StorageError::Mkfs(error.to_string()))?;
    if !output.status.success() {
        return Err(StorageError::Mkfs(
            String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        ));
    }
    Ok(())
}

/// Makes a storage disk at `path` unless there is one already: what the
/// VM stored on it stays.
pub fn keep_or_create(path: &Path) -> Result<(), StorageError> {
    if path.is_file() {
        return Ok(());
    }
    create(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where an ext2/3/4 superblock's magic number is, and its bytes.
    const EXT_MAGIC_OFFSET: usize = 1080;
    const EXT_MAGIC: [u8; 2] = [0x53, 0xef];

    #[test]
    fn a_disk_is_formatted_once_and_then_kept() {
        let dir = std::env::temp_dir().join(format!("cordon-storage-disk-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("storage.img");
        keep_or_create(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), SIZE);
        let image = std::fs::read(&path).unwrap();
        assert_eq!(image[EXT_MAGIC_OFFSET..][..2], EXT_MAGIC);
        std::fs::write(&path, b"stored").unwrap();
        keep_or_create(&path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"stored");
        create(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), SIZE);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
