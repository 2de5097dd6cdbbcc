//! Static aarch64 Linux programs for the management VM, built from the
//! workspace's crates for `aarch64-unknown-linux-musl`. The LLVM linker that
//! comes with Rust links them against the musl C library and start files that
//! the Rust target ships ("self-contained"): no cross C toolchain is needed.

use std::fs;
use std::path::{Path, PathBuf};

use object::Endianness;
use object::elf::{self, FileHeader64, PT_INTERP};
use object::read::elf::{FileHeader, ProgramHeader};

use crate::error::{Error, Result};
use crate::exec;
use crate::paths::{MUSL_TARGET, Workspace};

/// The linker, found in the toolchain's own tools directory.
const LINKER: &str = "rust-lld";

/// Builds the program `binary` of the workspace package `package`; returns
/// the path of the static executable.
pub fn build(workspace: &Workspace, package: &str, binary: &str) -> Result<PathBuf> {
    exec::run(
        exec::cargo(workspace.root())
            .args(["build", "--release", "--package", package, "--bin", binary])
            .args(["--target", MUSL_TARGET])
            .arg("--config")
            .arg(format!("target.{MUSL_TARGET}.linker=\"{LINKER}\""))
            // The workspace's release profile keeps debug information for
            // the hypervisor; the VM's programs go into a RAM disk without it.
            .args(["--config", "profile.release.strip=\"symbols\""]),
    )?;
    let path = workspace.musl_binary(binary);
    check_static(&path)?;
    Ok(path)
}

/// Checks that `path` is an aarch64 ELF that needs no dynamic loader.
fn check_static(path: &Path) -> Result<()> {
    let bytes = fs::read(path)
        .map_err(|error| Error::io(format!("cannot read {}", path.display()), error))?;
    static_aarch64(&bytes).map_err(|problem| Error::BadFile {
        path: path.to_owned(),
        problem,
    })
}

fn static_aarch64(bytes: &[u8]) -> Result<(), String> {
    let header = FileHeader64::<Endianness>::parse(bytes).map_err(|error| error.to_string())?;
    let endian = header.endian().map_err(|error| error.to_string())?;
    if header.e_machine(endian) != elf::EM_AARCH64 {
        return Err("not an aarch64 program".to_owned());
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
    fn accepts_a_static_aarch64_program() {
        let program = TestElf {
            machine: elf::EM_AARCH64,
            segments: vec![(elf::PT_LOAD, 0x40_0000, vec![0; 16], 16)],
        };
        assert_eq!(static_aarch64(&program.bytes()), Ok(()));
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
            static_aarch64(&dynamic.bytes())
                .unwrap_err()
                .contains("dynamically")
        );
        let x86 = TestElf {
            machine: elf::EM_X86_64,
            segments: vec![],
        };
        assert!(static_aarch64(&x86.bytes()).is_err());
        assert!(static_aarch64(b"#!/bin/sh\n").is_err());
    }
}
