//! Tells board crates where the linker script for this architecture is, and
//! embeds the partition config the tools compiled (`CORDON_CONFIG_BIN`, the
//! binary form of a checked config) — or nothing, for the default partition.

use std::env;
use std::fs;
use std::path::Path;

/// The tools set this to the path of `config.bin`.
const CONFIG_VARIABLE: &str = "CORDON_CONFIG_BIN";
/// What the hypervisor includes (empty = no config).
const EMBEDDED_CONFIG: &str = "partition-config.bin";

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

    println!("cargo::rerun-if-env-changed={CONFIG_VARIABLE}");
    let embedded = Path::new(&env::var("OUT_DIR").unwrap()).join(EMBEDDED_CONFIG);
    let config = match env::var_os(CONFIG_VARIABLE) {
        Some(path) => {
            println!("cargo::rerun-if-changed={}", Path::new(&path).display());
            fs::read(&path).unwrap_or_else(|err| {
                panic!("{CONFIG_VARIABLE}={}: {err}", Path::new(&path).display())
            })
        }
        None => Vec::new(),
    };
    fs::write(&embedded, config).expect("write the embedded partition config");
}
