//! Tells board crates where the linker script for this architecture is.

use std::env;
use std::path::Path;

fn main() {
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let script = Path::new(&env::var("CARGO_MANIFEST_DIR").unwrap())
        .join("src/arch")
        .join(&arch)
        .join("cordon.ld");
    if script.exists() {
        println!("cargo::rerun-if-changed={}", script.display());
        println!("cargo::metadata=linker_script={}", script.display());
    }
}
