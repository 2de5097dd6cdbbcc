//! The C compiler and archiver for the C and assembly parts of the
//! management VM's programs (`ring`, the agent's TLS and signature crypto):
//! Debian's `clang`, a cross compiler for every target, and `llvm-ar` from
//! `llvm`. `crate::musl` tells cargo's build scripts to use them.

use super::system;
use crate::error::Result;

/// The Debian packages of `clang` and `llvm-ar`.
const PACKAGES: [&str; 2] = ["clang", "llvm"];

/// Installs `clang` and `llvm` where missing.
pub fn ensure() -> Result<()> {
    system::ensure_packages("a C compiler for the management VM's programs", &PACKAGES)
}
