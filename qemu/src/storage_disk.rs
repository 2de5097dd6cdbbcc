//! The management VM's storage disk: a raw image, blank until the VM's
//! `/init` gives it a file system on its first boot
//! (`mgmt-vm/initramfs/init`), and kept from boot to boot.

use std::fs::File;
use std::io;
use std::path::Path;

/// The size of the image: room for the agent's state and a few images.
pub const SIZE: u64 = 64 << 20;

/// Writes a blank (sparse) image at `path`, replacing any there.
pub fn create_blank(path: &Path) -> io::Result<()> {
    File::create(path)?.set_len(SIZE)
}

/// Makes a blank image at `path` unless there is one already: what the VM
/// stored on it stays.
pub fn keep_or_create(path: &Path) -> io::Result<()> {
    if path.is_file() {
        return Ok(());
    }
    create_blank(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blank_disk_is_made_once_and_then_kept() {
        let dir = std::env::temp_dir().join(format!("cordon-storage-disk-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("storage.img");
        keep_or_create(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), SIZE);
        assert!(std::fs::read(&path).unwrap().iter().all(|&byte| byte == 0));
        std::fs::write(&path, b"stored").unwrap();
        keep_or_create(&path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"stored");
        create_blank(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), SIZE);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
