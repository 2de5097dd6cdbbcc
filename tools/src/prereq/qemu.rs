//! `qemu-system-aarch64`, new enough for the boards: installed with apt when
//! missing or too old (from `bookworm-backports` on Debian 12, whose own QEMU
//! 7.2 lacks the `raspi4b` machine).

use std::path::PathBuf;
use std::process::Command;

use cordon_qemu::{Board, QEMU_BINARY};

use super::apt_sources::{self, Source};
use super::os_release::OsRelease;
use super::system::{self, Step};
use crate::error::{Error, Result};
use crate::exec;

/// The first QEMU release with the `raspi4b` machine.
const RASPI4B_QEMU_MAJOR: u32 = 9;
/// QEMU 7.2 (Debian 12's) runs `virt` with EL2 and GICv2 fine.
const VIRT_QEMU_MAJOR: u32 = 7;
/// The Debian package with `qemu-system-aarch64`.
const QEMU_PACKAGE: &str = "qemu-system-arm";
pub(super) const BOOKWORM: &str = "bookworm";
const BOOKWORM_BACKPORTS: &str = "bookworm-backports";
/// The apt source file this task adds for `bookworm-backports`.
const BACKPORTS_FILE: &str = "/etc/apt/sources.list.d/cordon-backports.sources";

/// The oldest QEMU major version that can emulate `board`; none for a
/// board that `qemu-system-aarch64` does not run.
pub fn minimum_major(board: Board) -> Option<u32> {
    match board {
        Board::QemuVirt => Some(VIRT_QEMU_MAJOR),
        Board::Rpi4 => Some(RASPI4B_QEMU_MAJOR),
        // Runs on qemu-system-x86_64 and Bochs (see `pc`).
        Board::X86Pc => None,
    }
}

/// Makes sure `qemu-system-aarch64` of at least `major` is installed.
pub fn ensure(major: u32) -> Result<()> {
    let found = installed_version();
    if found.as_ref().is_some_and(|version| version.major >= major) {
        return Ok(());
    }
    let release = OsRelease::read();
    let steps = install_steps(&release, &apt_sources::read_system()?)
        .map_err(|reason| Error::Prerequisite(too_old(found.as_ref(), major, &reason)))?;
    system::carry_out(
        &format!("installing QEMU >= {major} ({QEMU_BINARY}, package {QEMU_PACKAGE})"),
        &steps,
    )?;
    match installed_version() {
        Some(version) if version.major >= major => {
            eprintln!("xtask: {QEMU_BINARY} {} installed", version.text);
            Ok(())
        }
        found => Err(Error::Prerequisite(too_old(
            found.as_ref(),
            major,
            &format!(
                "{} provides no newer QEMU; install QEMU >= {major} from a newer release of it, \
                 its backports, or from source (https://www.qemu.org/download/)",
                release.describe()
            ),
        ))),
    }
}

/// A QEMU version.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Version {
    major: u32,
    text: String,
}

fn installed_version() -> Option<Version> {
    exec::probe(Command::new(QEMU_BINARY).arg("--version")).and_then(|out| parse_version(&out))
}

/// Reads "QEMU emulator version 10.0.2 (Debian ...)".
fn parse_version(version_output: &str) -> Option<Version> {
    let text = version_output
        .split("version ")
        .nth(1)?
        .split_whitespace()
        .next()?;
    let major = text.split('.').next()?.parse().ok()?;
    Some(Version {
        major,
        text: text.to_owned(),
    })
}

/// What is wrong with the installed QEMU, and `advice`.
fn too_old(found: Option<&Version>, major: u32, advice: &str) -> String {
    let found = match found {
        Some(version) => format!("{QEMU_BINARY} is version {}", version.text),
        None => format!("{QEMU_BINARY} is not installed"),
    };
    format!(
        "{found}, but cordon needs QEMU >= {major} (QEMU {RASPI4B_QEMU_MAJOR} added the raspi4b \
         machine that the rpi4 board runs on): {advice}"
    )
}

/// The steps that install QEMU on `release`, or why there are none.
fn install_steps(release: &OsRelease, sources: &[Source]) -> Result<Vec<Step>, String> {
    let install = ["apt-get", "install", "-y", "--no-install-recommends"];
    if release.is_debian_bookworm() {
        let mut steps = Vec::new();
        if !sources
            .iter()
            .any(|source| source.serves(BOOKWORM_BACKPORTS))
        {
            let backports = apt_sources::sibling_source(sources, BOOKWORM, BOOKWORM_BACKPORTS)
                .ok_or_else(|| {
                    format!(
                        "no apt source serves {BOOKWORM}, so {BOOKWORM_BACKPORTS} cannot be \
                         added on the same mirror; add {BOOKWORM_BACKPORTS} (main) to apt's \
                         sources and run `apt-get install -t {BOOKWORM_BACKPORTS} {QEMU_PACKAGE}`"
                    )
                })?;
            steps.push(Step::Write {
                path: PathBuf::from(BACKPORTS_FILE),
                contents: format!(
                    "# Added by `cargo xtask` (cordon): QEMU >= {RASPI4B_QEMU_MAJOR} for the \
                     raspi4b machine.\n{}",
                    backports.to_deb822()
                ),
            });
        }
        steps.push(Step::run(&["apt-get", "update"]));
        let mut words = install.to_vec();
        words.extend(["-t", BOOKWORM_BACKPORTS, QEMU_PACKAGE]);
        steps.push(Step::run(&words));
        Ok(steps)
    } else if release.is_debian_like() {
        let mut words = install.to_vec();
        words.push(QEMU_PACKAGE);
        Ok(vec![Step::run(&["apt-get", "update"]), Step::run(&words)])
    } else {
        Err(format!(
            "{} is not Debian-based, so the tasks cannot install it; install {QEMU_BINARY} \
             with the system's package manager",
            release.describe()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bookworm() -> OsRelease {
        OsRelease::parse("ID=debian\nVERSION_CODENAME=bookworm\n")
    }

    fn mirror(suite: &str) -> Source {
        Source {
            types: vec!["deb".to_owned()],
            uris: vec!["http://mirror.example/debian".to_owned()],
            suites: vec![suite.to_owned()],
            components: vec!["main".to_owned()],
            signed_by: Some("/usr/share/keyrings/debian-archive-keyring.gpg".to_owned()),
        }
    }

    #[test]
    fn parses_qemu_versions() {
        let debian = "QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2~bpo12+1)\n\
                      Copyright (c) 2003-2025 Fabrice Bellard and the QEMU Project developers\n";
        assert_eq!(
            parse_version(debian),
            Some(Version {
                major: 10,
                text: "10.0.2".to_owned()
            })
        );
        assert_eq!(
            parse_version("QEMU emulator version 7.2.19").unwrap().major,
            7
        );
        assert_eq!(parse_version("garbage"), None);
    }

    #[test]
    fn bookworm_adds_backports_on_the_same_mirror() {
        let steps = install_steps(&bookworm(), &[mirror("bookworm")]).unwrap();
        let Step::Write { path, contents } = &steps[0] else {
            panic!("first step should write the source: {steps:?}");
        };
        assert_eq!(path, &PathBuf::from(BACKPORTS_FILE));
        assert!(contents.contains("URIs: http://mirror.example/debian\n"));
        assert!(contents.contains("Suites: bookworm-backports\n"));
        assert!(contents.contains("Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"));
        assert_eq!(steps[1], Step::run(&["apt-get", "update"]));
        assert_eq!(
            steps[2],
            Step::run(&[
                "apt-get",
                "install",
                "-y",
                "--no-install-recommends",
                "-t",
                "bookworm-backports",
                "qemu-system-arm"
            ])
        );
    }

    #[test]
    fn bookworm_with_backports_only_installs() {
        let sources = [mirror("bookworm"), mirror("bookworm-backports")];
        let steps = install_steps(&bookworm(), &sources).unwrap();
        assert_eq!(steps.len(), 2);
        assert!(matches!(steps[0], Step::Run(_)));
    }

    #[test]
    fn bookworm_without_a_mirror_explains() {
        let reason = install_steps(&bookworm(), &[]).unwrap_err();
        assert!(reason.contains("bookworm-backports"));
    }

    #[test]
    fn other_debian_likes_install_plainly() {
        let ubuntu = OsRelease::parse("ID=ubuntu\nID_LIKE=debian\nVERSION_CODENAME=noble\n");
        let steps = install_steps(&ubuntu, &[]).unwrap();
        assert_eq!(
            steps[1],
            Step::run(&[
                "apt-get",
                "install",
                "-y",
                "--no-install-recommends",
                "qemu-system-arm"
            ])
        );
        let fedora = OsRelease::parse("ID=fedora\n");
        assert!(install_steps(&fedora, &[]).is_err());
    }
}
