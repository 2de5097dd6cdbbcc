//! Machine setups for running cordon under QEMU, and a harness that boots a
//! machine and checks what its serial console prints.
//!
//! `cargo xtask run` uses the machine definitions to start QEMU; the boot tests
//! in `tests/` use the harness. `mgmt_vm` sets up cordon's Linux management
//! VM, whose `/proc/interrupts` [`interrupts`] reads, whose disk
//! [`test_disk`] writes and whose storage [`storage_disk`] makes ([`cpio`] writes archives for its initramfs and
//! disks); [`hostile`] the test guest that tries to escape its VM;
//! [`config_machine`] the machine that boots a partition config; [`pc`] the
//! PC machines (QEMU TCG, Bochs) that boot the x86-pc board's ISO;
//! [`swtpm`] the software TPM a machine's TPM is.

pub mod config_machine;
pub mod cpio;
mod expect;
mod harness;
pub mod hostile;
pub mod interrupts;
mod machine;
pub mod mgmt_vm;
pub mod pc;
mod process;
pub mod storage_disk;
pub mod swtpm;
pub mod test_disk;
mod transcript;

pub use expect::{Expect, Pattern};
pub use harness::{HarnessError, boot, boot_pc, boot_until};
pub use machine::{
    Board, Console, GUEST_INITRD_ADDR, GUEST_KERNEL_ADDR, GuestLoad, Machine, MachineError,
    PlacedFile, PlacedGuest, QEMU_BINARY, UnknownBoard, VIRT_GICV2_MAX_CPUS, VIRT_NIC_TRANSPORT,
    VIRT_STORAGE_TRANSPORT, VIRT_TPM_DEVICE,
};
pub use process::Running;
pub use transcript::{Ending, Transcript};
