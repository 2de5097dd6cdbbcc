//! Machine setups for running cordon under QEMU, and a harness that boots a
//! machine and checks what its serial console prints.
//!
//! `cargo xtask run` uses the machine definitions to start QEMU; the boot tests
//! in `tests/boot.rs` use the harness.

mod expect;
mod harness;
mod machine;
mod process;
mod transcript;

pub use expect::{Expect, Pattern};
pub use harness::{HarnessError, boot};
pub use machine::{Board, Console, Machine, MachineError, QEMU_BINARY, UnknownBoard};
pub use process::Running;
pub use transcript::{Ending, Transcript};
