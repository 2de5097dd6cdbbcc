//! `cargo xtask fuzz`: runs the cargo-fuzz target on the hypervisor's
//! decoder of management requests (`hypervisor/abi/fuzz`) for a bounded
//! time; any crash fails it and leaves the input under `fuzz/artifacts/`.

use std::process::Command;
use std::time::Duration;

use crate::error::Result;
use crate::exec;
use crate::paths::Workspace;
use crate::prereq::fuzzing::{self, NIGHTLY};

/// The crate whose `fuzz/` directory holds the targets.
const FUZZED_CRATE: &str = "hypervisor/abi";
/// The fuzz target: every region a management VM could write, decoded.
const TARGET: &str = "decode_request";

/// Fuzzes the request decoder for `time`.
pub fn fuzz(workspace: &Workspace, time: Duration) -> Result<()> {
    fuzzing::ensure()?;
    let mut command = Command::new("cargo");
    command
        .current_dir(workspace.root().join(FUZZED_CRATE))
        // The toolchain cargo-fuzz builds with, not the one this runs on.
        .env_remove("CARGO")
        .env_remove("RUSTUP_TOOLCHAIN")
        .arg(format!("+{NIGHTLY}"))
        .args(["fuzz", "run", TARGET, "--"])
        .arg(format!("-max_total_time={}", time.as_secs()));
    exec::run(&mut command)
}
