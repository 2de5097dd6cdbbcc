//! What the x86-pc board needs on this machine: GRUB's `grub-mkrescue` with
//! its BIOS modules, `xorriso` and `mtools` to make its ISO, Bochs (with its
//! BIOS images) to run it with VT-x, and `qemu-system-x86_64` to run it fast
//! without. Installed with apt when missing.

use std::path::Path;
use std::process::Command;

use super::system::{self, Step};
use crate::error::{Error, Result};
use crate::exec;

/// Files that show a package is installed, and the package.
const NEEDED: [(&str, &str); 7] = [
    ("/usr/bin/grub-mkrescue", "grub-common"),
    ("/usr/lib/grub/i386-pc/multiboot2.mod", "grub-pc-bin"),
    ("/usr/bin/xorriso", "xorriso"),
    ("/usr/bin/mformat", "mtools"),
    ("/usr/bin/bochs", "bochs"),
    ("/usr/share/bochs/BIOS-bochs-latest", "bochsbios"),
    ("/usr/share/vgabios/vgabios.bin", "vgabios"),
];
/// QEMU for PCs; it must be the same version as the installed
/// `qemu-system-common` (shared with `qemu-system-arm`, perhaps from
/// backports).
const QEMU_X86: (&str, &str) = ("/usr/bin/qemu-system-x86_64", "qemu-system-x86");
const QEMU_COMMON_PACKAGE: &str = "qemu-system-common";

/// Makes sure everything the x86-pc board needs is installed.
pub fn ensure() -> Result<()> {
    let missing = missing_packages(|path| Path::new(path).exists());
    if missing.is_empty() {
        return Ok(());
    }
    let steps = install_steps(&missing, installed_version(QEMU_COMMON_PACKAGE).as_deref());
    system::carry_out(
        &format!("installing the x86-pc tools ({})", missing.join(", ")),
        &steps,
    )?;
    match missing_packages(|path| Path::new(path).exists()).first() {
        None => Ok(()),
        Some(package) => Err(Error::Prerequisite(format!(
            "{package} is still missing after installing it; install it with the system's \
             package manager"
        ))),
    }
}

/// The packages whose files `exists` does not find.
fn missing_packages(exists: impl Fn(&str) -> bool) -> Vec<&'static str> {
    NEEDED
        .iter()
        .chain([&QEMU_X86])
        .filter(|(file, _)| !exists(file))
        .map(|&(_, package)| package)
        .collect()
}

/// The apt steps that install `missing`; QEMU pinned to `qemu_common`, the
/// version of the QEMU already installed, if any.
fn install_steps(missing: &[&str], qemu_common: Option<&str>) -> Vec<Step> {
    let mut words: Vec<String> = ["apt-get", "install", "-y", "--no-install-recommends"]
        .map(str::to_owned)
        .to_vec();
    for &package in missing {
        words.push(match (package == QEMU_X86.1, qemu_common) {
            (true, Some(version)) => format!("{package}={version}"),
            _ => package.to_owned(),
        });
    }
    vec![Step::run(&["apt-get", "update"]), Step::Run(words)]
}

/// The installed version of `package`, if it is installed.
fn installed_version(package: &str) -> Option<String> {
    let version = exec::probe(Command::new("dpkg-query").args(["-W", "-f=${Version}", package]))?;
    let version = version.trim();
    (!version.is_empty()).then(|| version.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_missing_packages_are_installed() {
        let missing = missing_packages(|file| !file.contains("bochs") && !file.contains("qemu"));
        assert_eq!(missing, ["bochs", "bochsbios", "qemu-system-x86"]);
        assert!(missing_packages(|_| true).is_empty());
    }

    #[test]
    fn qemu_is_pinned_to_the_installed_version() {
        let steps = install_steps(&["xorriso", "qemu-system-x86"], Some("1:10.0.2+ds-2"));
        assert_eq!(steps[0], Step::run(&["apt-get", "update"]));
        assert_eq!(
            steps[1],
            Step::run(&[
                "apt-get",
                "install",
                "-y",
                "--no-install-recommends",
                "xorriso",
                "qemu-system-x86=1:10.0.2+ds-2"
            ])
        );
        let unpinned = install_steps(&["qemu-system-x86"], None);
        assert_eq!(
            unpinned[1],
            Step::run(&[
                "apt-get",
                "install",
                "-y",
                "--no-install-recommends",
                "qemu-system-x86"
            ])
        );
    }
}
