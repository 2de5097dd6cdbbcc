//! What fuzzing needs: a nightly toolchain (cargo-fuzz builds with
//! sanitizer flags only nightly has), pinned so that CI builds the same
//! way every day, and cargo-fuzz; each installed when missing.

use std::process::Command;

use crate::error::Result;
use crate::exec;

/// The nightly toolchain the fuzz targets build with.
pub const NIGHTLY: &str = "nightly-2026-05-19";
/// The cargo-fuzz release installed when there is none.
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// Installs [`NIGHTLY`] and cargo-fuzz if they are missing.
pub fn ensure() -> Result<()> {
    let toolchains = exec::output(Command::new("rustup").args(["toolchain", "list"]))?;
    if !toolchains.lines().any(|line| line.starts_with(NIGHTLY)) {
        exec::run(Command::new("rustup").args([
            "toolchain",
            "install",
            NIGHTLY,
            "--profile",
            "minimal",
        ]))?;
    }
    let has_cargo_fuzz = Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|output| output.status.success());
    if !has_cargo_fuzz {
        exec::run(Command::new("cargo").args([
            "install",
            "cargo-fuzz",
            "--locked",
            "--version",
            CARGO_FUZZ_VERSION,
        ]))?;
    }
    Ok(())
}
