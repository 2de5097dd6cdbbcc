//! Files out of Debian arm64 packages (a DTB, a kernel and its modules,
//! busybox), and amd64 ones for the x86-pc board's management VM, fetched
//! with apt on any host architecture and kept in a cache directory.
//!
//! A package is named directly or through a metapackage (e.g.
//! `linux-image-arm64`), whose first dependency is the versioned package with
//! the files; apt downloads that, and `dpkg-deb` and `tar` take the files out.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::system::{self, Step};
use crate::error::{Error, Result};
use crate::exec;
use crate::paths::create_dir;

/// The Debian architecture of the packages.
const ARCH: &str = "arm64";
/// The architecture of the x86-pc board's packages.
const ARCH_AMD64: &str = "amd64";
/// The architecture of packages that are the same on every architecture
/// (firmware, U-Boot for QEMU): apt names them without `:arm64`.
const ARCH_ALL: &str = "all";

/// The package that holds the files.
#[derive(Debug, Clone, Copy)]
pub enum Origin<'a> {
    /// This package.
    Package(&'a str),
    /// The first dependency of this metapackage, e.g. the current versioned
    /// kernel package of `linux-image-arm64`.
    DependencyOf(&'a str),
    /// This package, of architecture `all` (e.g. `raspi-firmware`).
    ArchAll(&'a str),
    /// This amd64 package (e.g. `busybox-static` for the x86-pc board).
    Amd64(&'a str),
    /// The first dependency of this amd64 metapackage.
    Amd64DependencyOf(&'a str),
}

impl Origin<'_> {
    /// The package apt is asked about, with its architecture.
    fn qualified(self) -> String {
        match self {
            Origin::Package(name) | Origin::DependencyOf(name) => format!("{name}:{ARCH}"),
            Origin::ArchAll(name) => name.to_owned(),
            Origin::Amd64(name) | Origin::Amd64DependencyOf(name) => {
                format!("{name}:{ARCH_AMD64}")
            }
        }
    }

    /// The architecture in the name of the package's `.deb`.
    fn arch(self) -> &'static str {
        match self {
            Origin::Package(_) | Origin::DependencyOf(_) => ARCH,
            Origin::ArchAll(_) => ARCH_ALL,
            Origin::Amd64(_) | Origin::Amd64DependencyOf(_) => ARCH_AMD64,
        }
    }
}

/// One file in a Debian arm64 package.
#[derive(Debug, Clone, Copy)]
pub struct PackageFile<'a> {
    /// The file's path in the package, without the leading `/`; `*` matches
    /// any text, e.g. the kernel version in `usr/lib/linux-image-*/...`.
    pub member: &'a str,
    /// The name it is kept under.
    pub name: &'a str,
}

/// Files out of one package.
#[derive(Debug, Clone, Copy)]
pub struct PackageFiles<'a> {
    pub origin: Origin<'a>,
    pub files: &'a [PackageFile<'a>],
}

/// Fetches every file of `package` into `dir`, unless all of them are there
/// already, and returns their paths in the order of `package.files`.
///
/// Files of one set are fetched together, so they always come from the same
/// version of the package (a kernel and its modules must match).
pub fn fetch(package: &PackageFiles<'_>, dir: &Path) -> Result<Vec<PathBuf>> {
    let dests = destinations(package, dir);
    if is_cached(package, dir) {
        return Ok(dests);
    }
    create_dir(dir)?;
    let members: Vec<&str> = package.files.iter().map(|file| file.member).collect();
    eprintln!(
        "xtask: fetching {} from Debian's {} (once; kept in {})",
        members.join(", "),
        package.origin.qualified(),
        dir.display()
    );
    if package.origin.arch() == ARCH {
        ensure_arch()?;
    }
    let name = resolve(package.origin)?;
    let deb = download(&name, package.origin.arch(), dir)?;
    extract(&deb, package.files, dir)?;
    eprintln!("xtask: {} ready", dir.display());
    Ok(dests)
}

/// Whether every file of `package` is in `dir` already.
pub fn is_cached(package: &PackageFiles<'_>, dir: &Path) -> bool {
    destinations(package, dir).iter().all(|dest| dest.is_file())
}

/// Where the files of `package` are kept in `dir`.
fn destinations(package: &PackageFiles<'_>, dir: &Path) -> Vec<PathBuf> {
    package
        .files
        .iter()
        .map(|file| dir.join(file.name))
        .collect()
}

/// Makes sure dpkg and apt know arm64 packages.
fn ensure_arch() -> Result<()> {
    let foreign = exec::output(Command::new("dpkg").arg("--print-foreign-architectures"))?;
    let native = exec::output(Command::new("dpkg").arg("--print-architecture"))?;
    if native.trim() == ARCH || foreign.split_whitespace().any(|arch| arch == ARCH) {
        return Ok(());
    }
    system::carry_out(
        &format!("adding the {ARCH} architecture to dpkg (to download {ARCH} packages)"),
        &[
            Step::run(&["dpkg", "--add-architecture", ARCH]),
            Step::run(&["apt-get", "update"]),
        ],
    )
}

/// The package to download for `origin`.
fn resolve(origin: Origin<'_>) -> Result<String> {
    let qualified = origin.qualified();
    let show = || {
        exec::probe(Command::new("apt-cache").args(["show", "--no-all-versions", &qualified]))
            .filter(|record| !record.trim().is_empty())
    };
    let record = match show() {
        Some(record) => record,
        None => {
            // The package lists may predate the arm64 architecture.
            system::carry_out(
                &format!("updating apt's package lists (to find {qualified})"),
                &[Step::run(&["apt-get", "update"])],
            )?;
            show().ok_or_else(|| {
                Error::Prerequisite(format!(
                    "apt knows no package {qualified}; is a Debian mirror in apt's sources?"
                ))
            })?
        }
    };
    match origin {
        Origin::Package(name) | Origin::ArchAll(name) | Origin::Amd64(name) => Ok(name.to_owned()),
        Origin::DependencyOf(_) | Origin::Amd64DependencyOf(_) => first_dependency(&record)
            .ok_or_else(|| {
                Error::Prerequisite(format!("{qualified} has no dependency to download"))
            }),
    }
}

/// The first package named in the `Depends` field of an apt-cache record.
fn first_dependency(record: &str) -> Option<String> {
    let depends = record
        .lines()
        .find_map(|line| line.strip_prefix("Depends:"))?;
    let first = depends.split([',', '|']).next()?.trim();
    let name = first.split([' ', '(', ':']).next()?;
    (!name.is_empty()).then(|| name.to_owned())
}

/// Downloads `package` of `arch` into `cache`, unless a `.deb` of it is there.
fn download(package: &str, arch: &str, cache: &Path) -> Result<PathBuf> {
    if let Some(deb) = cached_deb(package, arch, cache)? {
        return Ok(deb);
    }
    exec::run(
        Command::new("apt-get")
            .current_dir(cache)
            .args(["download", &format!("{package}:{arch}")]),
    )?;
    cached_deb(package, arch, cache)?.ok_or_else(|| {
        Error::Prerequisite(format!(
            "apt-get download left no {package}_*_{arch}.deb in {}",
            cache.display()
        ))
    })
}

/// A downloaded `.deb` of `package` of `arch` in `cache`, as apt names them.
fn cached_deb(package: &str, arch: &str, cache: &Path) -> Result<Option<PathBuf>> {
    let prefix = format!("{package}_");
    let suffix = format!("_{arch}.deb");
    let entries = fs::read_dir(cache)
        .map_err(|error| Error::io(format!("cannot list {}", cache.display()), error))?;
    Ok(entries
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.path())
        .find(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with(&prefix) && name.ends_with(&suffix))
        }))
}

/// Takes each of `files` out of `deb` and puts it into `dir` under its name.
fn extract(deb: &Path, files: &[PackageFile<'_>], dir: &Path) -> Result<()> {
    let scratch = dir.join(".extract");
    let io_error = |what: &str, path: &Path| {
        let context = format!("cannot {what} {}", path.display());
        move |error| Error::io(context, error)
    };
    if scratch.exists() {
        fs::remove_dir_all(&scratch).map_err(io_error("remove", &scratch))?;
    }
    fs::create_dir_all(&scratch).map_err(io_error("create", &scratch))?;

    let mut unpack = Command::new("dpkg-deb");
    unpack.arg("--fsys-tarfile").arg(deb).stdout(Stdio::piped());
    let mut tar = Command::new("tar");
    tar.arg("-x").arg("-C").arg(&scratch).arg("--wildcards");
    tar.args(files.iter().map(|file| format!("./{}", file.member)));
    pipe(&mut unpack, &mut tar)?;

    let found = files_under(&scratch).map_err(io_error("list", &scratch))?;
    for file in files {
        let matching: Vec<&PathBuf> = found
            .iter()
            .filter(|path| {
                path.strip_prefix(&scratch)
                    .ok()
                    .and_then(Path::to_str)
                    .is_some_and(|relative| wildcard_match(file.member, relative))
            })
            .collect();
        let [source] = matching.as_slice() else {
            return Err(Error::Prerequisite(format!(
                "{} holds {} files matching {}, not one",
                deb.display(),
                matching.len(),
                file.member
            )));
        };
        let dest = dir.join(file.name);
        fs::rename(source, &dest).map_err(io_error("create", &dest))?;
    }
    fs::remove_dir_all(&scratch).map_err(io_error("remove", &scratch))
}

/// Whether `text` matches `pattern`, in which `*` stands for any text
/// (slashes included, as for `tar --wildcards`).
fn wildcard_match(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, rest)) => {
            let Some(text) = text.strip_prefix(head) else {
                return false;
            };
            text.char_indices()
                .map(|(at, _)| at)
                .chain([text.len()])
                .any(|at| wildcard_match(rest, &text[at..]))
        }
    }
}

/// Runs `from | to`; fails unless both succeed.
fn pipe(from: &mut Command, to: &mut Command) -> Result<()> {
    eprintln!("$ {} | {}", exec::display(from), exec::display(to));
    let mut source = from
        .spawn()
        .map_err(|error| Error::io(format!("cannot run `{}`", exec::display(from)), error))?;
    let output = source.stdout.take().expect("stdout is piped");
    let sink_status = to.stdin(output).status();
    let source_status = source
        .wait()
        .map_err(|error| Error::io(format!("cannot wait for `{}`", exec::display(from)), error))?;
    let sink_status = sink_status
        .map_err(|error| Error::io(format!("cannot run `{}`", exec::display(to)), error))?;
    for (command, status) in [(&*to, sink_status), (&*from, source_status)] {
        if !status.success() {
            return Err(Error::CommandFailed {
                command: exec::display(command),
                status,
            });
        }
    }
    Ok(())
}

/// Every regular file below `dir`.
fn files_under(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            files.extend(files_under(&entry.path())?);
        } else if kind.is_file() {
            files.push(entry.path());
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_versioned_package_of_a_metapackage() {
        let record = "Package: linux-image-arm64\nVersion: 6.1.158-1\n\
                      Depends: linux-image-6.1.0-41-arm64 (= 6.1.158-1)\nDescription: x\n";
        assert_eq!(
            first_dependency(record).as_deref(),
            Some("linux-image-6.1.0-41-arm64")
        );
    }

    #[test]
    fn takes_the_first_of_several_dependencies() {
        let record = "Depends: a:any (>= 1) | b, c\n";
        assert_eq!(first_dependency(record).as_deref(), Some("a"));
        assert_eq!(first_dependency("Package: x\n"), None);
    }

    #[test]
    fn wildcards_match_any_text() {
        let member = "lib/modules/*/kernel/drivers/virtio/virtio.ko";
        assert!(wildcard_match(
            member,
            "lib/modules/6.1.0-57-cloud-arm64/kernel/drivers/virtio/virtio.ko"
        ));
        assert!(!wildcard_match(
            member,
            "lib/modules/6.1.0-57-cloud-arm64/kernel/drivers/virtio/virtio_mmio.ko"
        ));
        assert!(wildcard_match(
            "boot/vmlinuz-*",
            "boot/vmlinuz-6.1.0-57-cloud-arm64"
        ));
        assert!(!wildcard_match(
            "boot/vmlinuz-*",
            "boot/config-6.1.0-57-cloud-arm64"
        ));
        assert!(wildcard_match("bin/busybox", "bin/busybox"));
        assert!(!wildcard_match("bin/busybox", "bin/busybox.old"));
        assert!(wildcard_match("a*b*c", "a/x/b/y/c"));
    }

    #[test]
    fn finds_a_cached_deb_by_package_name() {
        let dir = std::env::temp_dir().join(format!("xtask-deb-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let deb = dir.join("linux-image-6.1.0-41-arm64_6.1.158-1_arm64.deb");
        fs::write(&deb, b"").unwrap();
        fs::write(
            dir.join("linux-image-6.1.0-41-arm64-unsigned_1_arm64.deb.txt"),
            b"",
        )
        .unwrap();
        assert_eq!(
            cached_deb("linux-image-6.1.0-41-arm64", ARCH, &dir).unwrap(),
            Some(deb)
        );
        assert_eq!(
            cached_deb("linux-image-6.1.0-41", ARCH, &dir).unwrap(),
            None
        );
        assert_eq!(
            cached_deb("linux-image-6.1.0-41-arm64", ARCH_ALL, &dir).unwrap(),
            None
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
