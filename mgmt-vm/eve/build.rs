//! Compiles the vendored EVE API `.proto` files (`proto/`) into Rust with
//! prost. protox parses them in Rust, so the build needs no `protoc`.

use std::path::Path;

/// Where the vendored `.proto` files are, relative to this crate.
const PROTO_DIR: &str = "proto";

/// The files the agent and the test controller use; protox follows their
/// imports.
const ROOTS: [&str; 9] = [
    "auth/auth.proto",
    "register/register.proto",
    "certs/certs.proto",
    "attest/attest.proto",
    "eveuuid/eveuuid.proto",
    "config/devconfig.proto",
    "info/info.proto",
    "metrics/metrics.proto",
    "logs/log.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed={PROTO_DIR}");
    let roots = ROOTS.map(|root| Path::new(PROTO_DIR).join(root));
    let descriptors = protox::compile(roots, [PROTO_DIR])?;
    prost_build::Config::new().compile_fds(descriptors)?;
    Ok(())
}
