//! The boot modules of a config's VMs: the loader (GRUB) passes each as a
//! multiboot2 module whose string is `<vm> kernel` or `<vm> initrd`, as
//! `cargo xtask image` writes them.

use alloc::vec::Vec;

use log::warn;
use multiboot2::BootInformation;

/// The second word of a module string: which of its VM's images it is.
pub const KERNEL: &str = "kernel";
pub const INITRD: &str = "initrd";

/// One module: the VM it is for, what it is, its bytes.
pub struct Module {
    pub vm: &'static str,
    pub role: &'static str,
    pub bytes: &'static [u8],
}

/// Every module the loader passed, with a name cordon understands; the
/// others are logged and left alone.
pub fn all(info: &BootInformation<'_>) -> Vec<Module> {
    let mut modules = Vec::new();
    for module in info.module_tags() {
        let string = module.cmdline().unwrap_or_default();
        let (start, end) = (module.start_address(), module.end_address());
        // SAFETY: the loader placed the module there, below 4 GiB and so
        // identity-mapped; `memory::init` keeps it out of the heap and of
        // the free RAM, and nothing writes it.
        let bytes = unsafe {
            core::slice::from_raw_parts(start as usize as *const u8, (end - start) as usize)
        };
        // SAFETY: the same for the string, in the boot information, which
        // `memory::init` keeps too.
        let string: &'static str = unsafe { &*(string as *const str) };
        match string.split_once(' ') {
            Some((vm, role @ (KERNEL | INITRD))) => modules.push(Module { vm, role, bytes }),
            _ => warn!("multiboot2 module {string:?} ignored: not \"<vm> kernel|initrd\""),
        }
    }
    modules
}

/// The module `role` of VM `vm`.
pub fn find(modules: &[Module], vm: &str, role: &str) -> Option<&'static [u8]> {
    modules
        .iter()
        .find(|module| module.vm == vm && module.role == role)
        .map(|module| module.bytes)
}
