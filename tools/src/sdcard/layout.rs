//! The card's layout: an MBR partition table with one FAT32 partition,
//! bootable, which the Raspberry Pi's firmware and U-Boot's distro boot both
//! look in first. Its size follows from what goes on it; the image's size is
//! a power of two, as QEMU's SD card emulation demands, and the partition
//! fills it.

use std::fmt;

use cordon_config::{Bytes, MIB};

/// Bytes in a sector, as `sfdisk` and `mkfs.fat` count them.
pub const SECTOR_BYTES: u64 = 512;
/// Bytes in a KiB: `mkfs.fat` takes the file system's size in KiB.
const KIB: u64 = 1024;
/// The partition starts 1 MiB in, on the erase-block boundary of SD cards.
const PARTITION_START: u64 = MIB;
/// FAT32 needs 65525 clusters at least: 64 MiB of 512-byte clusters have
/// enough, and leave room for a later `config.txt` or firmware update.
const MIN_PARTITION_BYTES: u64 = 64 * MIB;
/// Room for the file allocation tables, directories and each file's last
/// cluster, besides the files: this, plus an eighth of the files' size.
const FAT_OVERHEAD_BYTES: u64 = 8 * MIB;
/// The card image must stay below what MBR can address (2^32 sectors) and
/// what a small card holds.
const MAX_IMAGE_BYTES: u64 = 2048 * MIB;
/// The MBR partition type of FAT32 addressed by LBA.
const FAT32_LBA_TYPE: u8 = 0x0c;

/// Where the partition lies in the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// The partition's first byte.
    pub start: u64,
    /// The partition's size.
    pub size: u64,
}

/// Why the files cannot go on a card image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge {
    pub files_bytes: u64,
}

impl fmt::Display for TooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the card's files take {}, more than a card image of {} holds",
            Bytes(self.files_bytes),
            Bytes(MAX_IMAGE_BYTES)
        )
    }
}

impl std::error::Error for TooLarge {}

impl Layout {
    /// The layout for files of `files_bytes` in all.
    pub fn for_files(files_bytes: u64) -> Result<Self, TooLarge> {
        let partition = files_bytes
            .saturating_add(files_bytes / 8)
            .saturating_add(FAT_OVERHEAD_BYTES)
            .max(MIN_PARTITION_BYTES);
        let image = PARTITION_START
            .saturating_add(partition)
            .checked_next_power_of_two()
            .filter(|&image| image <= MAX_IMAGE_BYTES)
            .ok_or(TooLarge { files_bytes })?;
        Ok(Self {
            start: PARTITION_START,
            size: image - PARTITION_START,
        })
    }

    /// The size of the whole image: the partition ends it.
    pub fn image_bytes(&self) -> u64 {
        self.start + self.size
    }

    /// The partition's size in KiB, as `mkfs.fat` takes it.
    pub fn size_kib(&self) -> u64 {
        self.size / KIB
    }

    /// The partition's start in sectors, as `mkfs.fat --offset` takes it.
    pub fn start_sector(&self) -> u64 {
        self.start / SECTOR_BYTES
    }

    /// The partition table as an `sfdisk` script.
    pub fn sfdisk_script(&self) -> String {
        format!(
            "label: dos\nstart={}, size={}, type={FAT32_LBA_TYPE:x}, bootable\n",
            self.start_sector(),
            self.size / SECTOR_BYTES
        )
    }

    /// How `mtools` names the partition inside the image file `image`.
    pub fn mtools_image(&self, image: &str) -> String {
        format!("{image}@@{}", self.start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_files_get_the_smallest_image_that_holds_64_mib() {
        let layout = Layout::for_files(3 * MIB).unwrap();
        assert_eq!(
            layout,
            Layout {
                start: MIB,
                size: 127 * MIB
            }
        );
        assert_eq!(layout.image_bytes(), 128 * MIB);
        assert_eq!(layout.size_kib(), 127 * 1024);
        assert_eq!(layout.start_sector(), 2048);
    }

    #[test]
    fn large_files_get_room_for_the_file_system() {
        // 1 MiB + 200 MiB + 25 MiB + 8 MiB: up to 256 MiB.
        let layout = Layout::for_files(200 * MIB).unwrap();
        assert_eq!(layout.image_bytes(), 256 * MIB);
        // 1 MiB + 240 MiB + 30 MiB + 8 MiB: past 256 MiB.
        let layout = Layout::for_files(240 * MIB).unwrap();
        assert_eq!(layout.image_bytes(), 512 * MIB);
        assert!(layout.size >= 240 * MIB * 9 / 8);
    }

    #[test]
    fn too_much_is_an_error() {
        assert_eq!(
            Layout::for_files(2000 * MIB),
            Err(TooLarge {
                files_bytes: 2000 * MIB
            })
        );
        assert!(Layout::for_files(u64::MAX).is_err());
    }

    #[test]
    fn one_bootable_fat32_partition_in_an_mbr() {
        let layout = Layout::for_files(MIB).unwrap();
        assert_eq!(
            layout.sfdisk_script(),
            "label: dos\nstart=2048, size=260096, type=c, bootable\n"
        );
        assert_eq!(layout.mtools_image("sd.img"), "sd.img@@1048576");
    }
}
