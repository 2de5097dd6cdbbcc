//! Writes the card image with Debian's tools: `sfdisk` for the partition
//! table, `mkfs.fat` for the FAT32 file system inside the image file, and
//! mtools (`mmd`, `mcopy`) to put the files on it, none of which needs root
//! or a loop device; and `mkimage` for the boot script.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;

use super::layout::Layout;
use crate::error::{Error, Result};
use crate::exec;

/// `sfdisk` and `mkfs.fat` are in `/usr/sbin`, often not on a user's PATH.
const SFDISK: &str = "/usr/sbin/sfdisk";
const MKFS_FAT: &str = "/usr/sbin/mkfs.fat";
/// The FAT file system's label.
const VOLUME_LABEL: &str = "CORDON";
/// `mkfs.fat`'s option for FAT32.
const FAT32: &str = "32";
/// mtools' name for the root of the image's file system.
const MTOOLS_ROOT: &str = "::";

/// A file to put on the card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardFile {
    /// Where it is on this machine.
    pub source: PathBuf,
    /// Its path on the card's partition, with `/` between directories.
    pub dest: String,
}

/// Writes `image` with `layout`, and `files` on its partition.
pub fn write(image: &Path, layout: &Layout, files: &[CardFile]) -> Result<()> {
    let io_error = |what: &str| {
        let context = format!("cannot {what} {}", image.display());
        move |error| Error::io(context, error)
    };
    // A new, sparse file: only what the tools write takes space.
    let file = File::create(image).map_err(io_error("create"))?;
    file.set_len(layout.image_bytes())
        .map_err(io_error("size"))?;
    drop(file);

    let table = image.with_extension("sfdisk");
    fs::write(&table, layout.sfdisk_script())
        .map_err(|error| Error::io(format!("cannot write {}", table.display()), error))?;
    let script = File::open(&table)
        .map_err(|error| Error::io(format!("cannot read {}", table.display()), error))?;
    exec::run(Command::new(SFDISK).arg("--quiet").arg(image).stdin(script))?;
    exec::run(
        Command::new(MKFS_FAT)
            .args(["-F", FAT32, "-n", VOLUME_LABEL, "--offset"])
            .arg(layout.start_sector().to_string())
            .arg(image)
            .arg(layout.size_kib().to_string()),
    )?;

    let partition = layout.mtools_image(&image.to_string_lossy());
    for dir in directories(files) {
        exec::run(Command::new("mmd").args(["-i", &partition, &on_card(&dir)]))?;
    }
    for file in files {
        exec::run(
            Command::new("mcopy")
                .args(["-i", &partition])
                .arg(&file.source)
                .arg(on_card(&file.dest)),
        )?;
    }
    Ok(())
}

/// Makes the U-Boot script image `output` from the script text in `source`.
pub fn mkimage_script(source: &Path, output: &Path) -> Result<()> {
    exec::run(
        Command::new("mkimage")
            .args([
                "-A", "arm64", "-O", "linux", "-T", "script", "-C", "none", "-d",
            ])
            .arg(source)
            .arg(output),
    )
}

/// `path` on the card, as mtools names it.
fn on_card(path: &str) -> String {
    format!("{MTOOLS_ROOT}{path}")
}

/// The directories `files` go into, each after its parent.
fn directories(files: &[CardFile]) -> Vec<String> {
    let mut dirs: Vec<String> = Vec::new();
    for file in files {
        let mut parts: Vec<&str> = file.dest.split('/').collect();
        parts.pop();
        for depth in 1..=parts.len() {
            let dir = parts[..depth].join("/");
            if !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
    }
    dirs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(dest: &str) -> CardFile {
        CardFile {
            source: PathBuf::from("x"),
            dest: dest.to_owned(),
        }
    }

    #[test]
    fn parents_come_before_their_subdirectories_once_each() {
        let files = [
            file("cordon.bin"),
            file("vms/mgmt/kernel"),
            file("vms/mgmt/initrd"),
            file("vms/rt/kernel"),
        ];
        assert_eq!(directories(&files), ["vms", "vms/mgmt", "vms/rt"]);
        assert!(directories(&[file("boot.scr")]).is_empty());
        assert_eq!(on_card("vms/rt"), "::vms/rt");
    }
}
