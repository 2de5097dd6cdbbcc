//! A software TPM 2.0 for the agent's tests: Debian's `swtpm`, which the
//! TPM tests start in socket mode.

use super::system;
use crate::error::Result;

/// The Debian package of `swtpm`.
const PACKAGES: [&str; 1] = ["swtpm"];

/// Installs `swtpm` where missing.
pub fn ensure() -> Result<()> {
    system::ensure_packages("a software TPM for the agent's tests", &PACKAGES)
}
