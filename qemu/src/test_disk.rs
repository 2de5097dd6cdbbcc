//! The management VM's test disk: a raw image whose first sector holds ASCII
//! text, padded with zero bytes, that the VM's `/init` prints back
//! ("cordon-mgmt-vm: disk says ..."). The text ends in a random token, new
//! for every disk, so a test can tell that the VM read this very disk.

use std::collections::hash_map::RandomState;
use std::fs;
use std::hash::BuildHasher;
use std::io;
use std::path::Path;

/// The size of the image: small, and a whole number of sectors.
pub const SIZE: usize = 1 << 20;
/// The first sector, which holds the text.
pub const SECTOR_SIZE: usize = 512;
/// Every disk's text starts with this.
pub const TEXT_PREFIX: &str = "cordon-test-disk-";

/// Writes a new disk image at `path`, replacing any there, and returns its text.
pub fn create(path: &Path) -> io::Result<String> {
    // A std hasher's keys are random per process: a token without a crate.
    let token = RandomState::new().hash_one(std::process::id());
    let text = format!("{TEXT_PREFIX}{token:016x}");
    let mut image = vec![0; SIZE];
    image[..text.len()].copy_from_slice(text.as_bytes());
    // Written aside and renamed, so a QEMU still running with the old disk
    // keeps reading the old file.
    let mut scratch = path.as_os_str().to_owned();
    scratch.push(".new");
    fs::write(&scratch, &image)?;
    fs::rename(&scratch, path)?;
    Ok(text)
}

/// The text in the first sector of the disk image at `path`.
pub fn text(path: &Path) -> io::Result<String> {
    let image = fs::read(path)?;
    let sector = image.get(..SECTOR_SIZE).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is shorter than one sector", path.display()),
        )
    })?;
    let text = sector.split(|&byte| byte == 0).next().unwrap_or_default();
    Ok(String::from_utf8_lossy(text).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_reads_back_and_differs_between_disks() {
        let dir = std::env::temp_dir().join(format!("cordon-test-disk-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("disk.img");
        let first = create(&path).unwrap();
        assert!(first.starts_with(TEXT_PREFIX));
        assert!(first.len() < SECTOR_SIZE);
        assert_eq!(fs::metadata(&path).unwrap().len(), SIZE as u64);
        assert_eq!(text(&path).unwrap(), first);
        let second = create(&path).unwrap();
        assert_ne!(first, second);
        assert_eq!(text(&path).unwrap(), second);
        fs::remove_dir_all(&dir).unwrap();
    }
}
