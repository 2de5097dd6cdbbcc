//! Host tests: parsing, both levels of validation, the binary form.

mod binary;
mod board;
mod parse;
mod pc;
mod validate;

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::{Config, ConfigError};

/// A management VM and a workload VM with a channel between them: valid at
/// both levels against [`board::virt_dtb`].
const TWO_VMS: &str = r#"
board = "qemu-virt"

[[vm]]
name = "mgmt"
role = "management"
cpus = [0, 1]
memory = { size = "512M", identity = true }
devices = ["/virtio_mmio@a003e00"]
restart = "always"
[vm.image]
kind = "linux"
kernel = "vmlinuz"
initrd = "initramfs.cpio.gz"
bootargs = "console=ttyAMA0"

[[vm]]
name = "rt"
role = "workload"
cpus = [2]
memory = { size = "64M" }
console = false
[vm.image]
kind = "bare-metal"
kernel = "hostile.bin"

[[channel]]
name = "mgmt-rt"
vms = ["mgmt", "rt"]
size = "64K"
"#;

fn two_vms() -> Config {
    Config::from_toml(TWO_VMS).expect("the test config parses")
}

/// The messages of `errors`.
fn messages(errors: Vec<ConfigError>) -> Vec<String> {
    errors.iter().map(ToString::to_string).collect()
}

/// Asserts that `errors` is exactly the one error with `message`.
#[track_caller]
fn assert_only(errors: Vec<ConfigError>, message: &str) {
    assert_eq!(messages(errors), [message]);
}
