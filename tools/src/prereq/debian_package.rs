//! Files out of Debian arm64 packages (a DTB, a kernel), fetched with apt on
//! any host architecture and kept in a cache directory.
//!
//! The package is named through a metapackage (e.g. `linux-image-arm64`),
//! whose first dependency is the versioned package with the file; apt
//! downloads that, and `dpkg-deb` and `tar` take the one file out.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::system::{self, Step};
use crate::error::{Error, Result};
use crate::exec;

/// The Debian architecture of the packages.
const ARCH: &str = "arm64";

/// One file in a Debian arm64 package.
#[derive(Debug, Clone, Copy)]
pub struct PackageFile<'a> {
    /// A metapackage whose first dependency holds the file.
    pub metapackage: &'a str,
    /// The file's path in the package, without the leading `/`; `*` matches
    /// any text, e.g. the kernel version in `usr/lib/linux-image-*/...`.
    pub member: &'a str,
}

/// Fetches `file` into `cache` as `name`, unless it is there already.
pub fn fetch(file: PackageFile<'_>, cache: &Path, name: &str) -> Result<PathBuf> {
    let dest = cache.join(name);
    if dest.is_file() {
        return Ok(dest);
    }
    fs::create_dir_all(cache)
        .map_err(|error| Error::io(format!("cannot create {}", cache.display()), error))?;
    eprintln!(
        "xtask: fetching {} from Debian's {}:{ARCH} (once; kept in {})",
        file.member,
        file.metapackage,
        cache.display()
    );
    ensure_arch()?;
    let package = resolve(file.metapackage)?;
    let deb = download(&package, cache)?;
    extract(&deb, file.member, &dest)?;
    eprintln!("xtask: {} ready", dest.display());
    Ok(dest)
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

/// The package that `metapackage:arm64` depends on first.
fn resolve(metapackage: &str) -> Result<String> {
    let show = |name: &str| {
        exec::probe(Command::new("apt-cache").args(["show", "--no-all-versions", name]))
    };
    let qualified = format!("{metapackage}:{ARCH}");
    let record = match show(&qualified) {
        Some(record) if !record.trim().is_empty() => record,
        _ => {
            // The package lists may predate the arm64 architecture.
            system::carry_out(
                &format!("updating apt's package lists (to find {qualified})"),
                &[Step::run(&["apt-get", "update"])],
            )?;
            show(&qualified).ok_or_else(|| {
                Error::Prerequisite(format!(
                    "apt knows no package {qualified}; is a Debian mirror in apt's sources?"
                ))
            })?
        }
    };
    first_dependency(&record)
        .ok_or_else(|| Error::Prerequisite(format!("{qualified} has no dependency to download")))
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

/// Downloads `package:arm64` into `cache`, unless a `.deb` of it is there.
fn download(package: &str, cache: &Path) -> Result<PathBuf> {
    if let Some(deb) = cached_deb(package, cache)? {
        return Ok(deb);
    }
    exec::run(
        Command::new("apt-get")
            .current_dir(cache)
            .args(["download", &format!("{package}:{ARCH}")]),
    )?;
    cached_deb(package, cache)?.ok_or_else(|| {
        Error::Prerequisite(format!(
            "apt-get download left no {package}_*_{ARCH}.deb in {}",
            cache.display()
        ))
    })
}

/// A downloaded `.deb` of `package` in `cache`, as apt names them.
fn cached_deb(package: &str, cache: &Path) -> Result<Option<PathBuf>> {
    let prefix = format!("{package}_");
    let suffix = format!("_{ARCH}.deb");
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

/// Takes the file matching `member` out of `deb` and puts it at `dest`.
fn extract(deb: &Path, member: &str, dest: &Path) -> Result<()> {
    let mut scratch = dest.as_os_str().to_owned();
    scratch.push(".extract");
    let scratch = PathBuf::from(scratch);
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
    tar.arg("-x")
        .arg("-C")
        .arg(&scratch)
        .arg("--wildcards")
        .arg(format!("./{member}"));
    pipe(&mut unpack, &mut tar)?;

    let found = files_under(&scratch).map_err(io_error("list", &scratch))?;
    let [file] = found.as_slice() else {
        return Err(Error::Prerequisite(format!(
            "{} holds {} files matching {member}, not one",
            deb.display(),
            found.len()
        )));
    };
    fs::rename(file, dest).map_err(io_error("create", dest))?;
    fs::remove_dir_all(&scratch).map_err(io_error("remove", &scratch))
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
            cached_deb("linux-image-6.1.0-41-arm64", &dir).unwrap(),
            Some(deb)
        );
        assert_eq!(cached_deb("linux-image-6.1.0-41", &dir).unwrap(), None);
        fs::remove_dir_all(&dir).unwrap();
    }
}
