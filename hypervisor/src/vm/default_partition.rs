//! The partitioning cordon uses when no config is embedded in its image:
//! one management VM from the first kernel boot module (and the first
//! ramdisk), on the first [`VCPUS`] CPUs, with [`RAM_SIZE`] of RAM mapped
//! 1:1 (so devices it owns can DMA to guest-physical addresses), an
//! emulated console and every virtio-mmio transport.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use fdt::Fdt;

use super::spec::{MemorySpec, RestartPolicy, Role, VmSpec};
use crate::dt::{BootInfo, ModuleKind};

/// vCPUs of the management VM (fewer if fewer CPUs are online).
pub const VCPUS: usize = 2;
/// RAM of the management VM.
pub const RAM_SIZE: u64 = 512 << 20;
const NAME: &str = "mgmt";
/// Device-tree `compatible` of the devices the management VM gets.
const VIRTIO_MMIO: &str = "virtio,mmio";

/// The management VM's description, or `None` without a kernel module.
pub fn management_vm(fdt: &Fdt, info: &BootInfo, online_cpus: usize) -> Option<VmSpec> {
    let kernel = info.module(ModuleKind::Kernel)?;
    Some(VmSpec {
        name: NAME.to_string(),
        role: Role::Management,
        cpus: (0..VCPUS.min(online_cpus)).collect(),
        memory: MemorySpec {
            size: RAM_SIZE,
            address: None,
            identity: true,
            below: None,
        },
        devices: virtio_transports(fdt),
        console: true,
        kernel: kernel.range,
        initrd: info.module(ModuleKind::Ramdisk).map(|m| m.range),
        bootargs: kernel.bootargs.unwrap_or("").to_string(),
        restart: RestartPolicy::Never,
        trap_wait: false,
        dma_trusted: false,
    })
}

fn virtio_transports(fdt: &Fdt) -> Vec<String> {
    let Some(root) = fdt.find_node("/") else {
        return Vec::new();
    };
    root.children()
        .filter(|node| {
            node.compatible()
                .is_some_and(|c| c.all().any(|s| s == VIRTIO_MMIO))
        })
        .map(|node| format!("/{}", node.name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dt::tests::{rpi4_like_dtb, virt_like_dtb};

    #[test]
    fn management_vm_from_the_boot_modules() {
        let blob = virt_like_dtb();
        let fdt = Fdt::new(&blob).unwrap();
        let info = BootInfo::parse(&fdt).unwrap();
        let spec = management_vm(&fdt, &info, 4).unwrap();
        assert_eq!(spec.cpus, [0, 1]);
        assert_eq!(spec.kernel.start, 0x6000_0000);
        assert_eq!(spec.initrd.map(|r| r.start), Some(0x6400_0000));
        assert_eq!(spec.bootargs, "console=ttyAMA0");
        assert!(spec.memory.identity);
        assert_eq!(management_vm(&fdt, &info, 1).unwrap().cpus, [0]);
    }

    #[test]
    fn no_kernel_module_no_vm() {
        let blob = rpi4_like_dtb();
        let fdt = Fdt::new(&blob).unwrap();
        let info = BootInfo::parse(&fdt).unwrap();
        assert!(management_vm(&fdt, &info, 4).is_none());
    }
}
