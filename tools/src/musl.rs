//! Static Linux programs for the management VM, built from the workspace's
//! crates for `aarch64-unknown-linux-musl` (the VM of the Arm boards) or
//! `x86_64-unknown-linux-musl` (the x86 board's). The LLVM linker that
//! comes with Rust links them against the musl C library and start files that
//! the Rust target ships ("self-contained"): no cross C toolchain is needed.
//! Crates with C parts (`ring`) are compiled with clang, which targets any
//! architecture (`crate::prereq` installs it).

use std::fs;
use std::path::{Path, PathBuf};

use object::Endianness;
use object::elf::{self, FileHeader64, PT_INTERP};
use object::read::elf::{FileHeader, ProgramHeader};

use crate::error::{Error, Result};
use crate::exec;
use crate::paths::Workspace;

/// The linker, found in the toolchain's own tools directory.
const LINKER: &str = "rust-lld";
/// The C compiler and archiver that build scripts (the `cc` crate) use for
/// a crate's C and assembly parts.
const C_COMPILER: &str = "clang";
const ARCHIVER: &str = "llvm-ar";

/// The architecture of a management VM's programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MuslTarget {
    Aarch64,
    X86_64,
}

impl MuslTarget {
    /// The Rust target.
    pub fn triple(self) -> &'static str {
        match self {
            Self::Aarch64 => "aarch64-unknown-linux-musl",
            Self::X86_64 => "x86_64-unknown-linux-musl",
        }
    }

    /// The ELF machine of its programs.
    fn machine(self) -> elf::Machine {
        match self {
            Self::Aarch64 => elf::EM_AARCH64,
            Self::X86_64 => elf::EM_X86_64,
        }
    }
}

/// Builds the program `binary` of the workspace package `package` for
/// `target`; returns the path of the static executable.
pub fn build(
    workspace: &Workspace,
    target: MuslTarget,
    package: &str,
    binary: &str,
) -> Result<PathBuf> {
    let triple = target.triple();
    // The `cc` crate reads `CC_<triple>` and `AR_<triple>`, `-` as `_`.
    let env_triple = triple.replace('-', "_");
    exec::run(
        exec::cargo(workspace.root())
            .env(format!("CC_{env_triple}"), C_COMPILER)
            .env(format!("AR_{env_triple}"), ARCHIVER)
            .args(["build", "--release", "--package", package, "--bin", binary])
            .args(["--target", triple])
            .arg("--config")
            .arg(format!("target.{triple}.linker=\"{LINKER}\""))
            // The workspace's release profile keeps debug information for
            // the hypervisor; the VM's programs go into a RAM disk without
            // it, so it is not even made (quicker to build).
            .args(["--config", "profile.release.debug=false"])
            .args(["--config", "profile.release.strip=\"symbols\""]),
    )?;
    let path = workspace.musl_binary(triple, binary);
    check_static(&path, target)?;
    Ok(path)
}

/// Checks that `path` is an ELF for `target` that needs no dynamic loader.
fn check_static(path: &Path, target: MuslTarget) -> Result<()> {
    let bytes = fs::read(path)
        .map_err(|error| Error::io(format!("cannot read {}", path.display()), error))?;
    static_program(&bytes, target).map_err(|problem| Error::BadFile {
        path: path.to_owned(),
        problem,
    })
}

fn static_program(bytes: &[u8], target: MuslTarget) -> Result<(), String> {
    let header = FileHeader64::<Endianness>::parse(bytes).map_err(|error| error.to_string())?;
    let endian = header.endian().map_err(|error| error.to_string())?;
    if header.e_machine(endian) != target.machine() {
        return Err(format!("not a program for {}", target.triple()));
    }
    let segments = header
        .program_headers(endian, bytes)
        .map_err(|error| error.to_string())?;
    if segments
        .iter()
        .any(|segment| segment.p_type(endian) == PT_INTERP)
    {
        return Err(
            "linked dynamically (it names a program interpreter); the VM has no libraries"
                .to_owned(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_elf::TestElf;

    #[test]
    fn accepts_a_static_program_of_its_target() {
        let program = TestElf {
            machine: elf::EM_AARCH64,
            segments: vec![(elf::PT_LOAD, 0x40_0000, vec![0; 16], 16)],
        };
        assert_eq!(
            static_program(&program.bytes(), MuslTarget::Aarch64),
            Ok(())
        );
        let x86 = TestElf {
            machine: elf::EM_X86_64,
            segments: vec![(elf::PT_LOAD, 0x40_0000, vec![0; 16], 16)],
        };
        assert_eq!(static_program(&x86.bytes(), MuslTarget::X86_64), Ok(()));
    }

    #[test]
    fn rejects_dynamic_and_foreign_programs() {
        let dynamic = TestElf {
            machine: elf::EM_AARCH64,
            segments: vec![(
                PT_INTERP,
                0x238,
                b"/lib/ld-linux-aarch64.so.1\0".to_vec(),
                27,
            )],
        };
        assert!(
            static_program(&dynamic.bytes(), MuslTarget::Aarch64)
                .unwrap_err()
                .contains("dynamically")
        );
        let x86 = TestElf {
            machine: elf::EM_X86_64,
            segments: vec![],
        };
        assert!(static_program(&x86.bytes(), MuslTarget::Aarch64).is_err());
        assert!(static_program(b"#!/bin/sh\n", MuslTarget::Aarch64).is_err());
    }
}
