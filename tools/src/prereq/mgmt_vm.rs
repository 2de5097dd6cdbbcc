//! The Debian files the management VM is made of: the cloud arm64 kernel, the
//! modules its initramfs loads (virtio disk and network, the TPM), and a static
//! busybox; for the x86-pc board, the cloud amd64 kernel (a bzImage) and an
//! amd64 static busybox.

use std::path::PathBuf;

use super::debian_package::{self, Origin, PackageFile, PackageFiles};
use crate::error::Result;
use crate::paths::Workspace;

/// The cache directories of the packages' files.
const KERNEL_DIR: &str = "linux-image-cloud-arm64";
const BUSYBOX_DIR: &str = "busybox-static";
/// The kernel's name in its cache directory.
const KERNEL_NAME: &str = "vmlinuz";

/// Debian's cloud arm64 kernel: PL011, GIC, PSCI and the TPM core built in,
/// virtio and the TPM's TIS driver as modules. Its `vmlinuz` is already a
/// raw arm64 Image. Bookworm ships the modules uncompressed (`.ko`, not
/// `.ko.xz`), so they go into the initramfs as they are.
const KERNEL: PackageFiles<'static> = PackageFiles {
    origin: Origin::DependencyOf("linux-image-cloud-arm64"),
    files: &[
        PackageFile {
            member: "boot/vmlinuz-*",
            name: KERNEL_NAME,
        },
        PackageFile {
            member: "lib/modules/*/kernel/drivers/virtio/virtio_ring.ko",
            name: "virtio_ring.ko",
        },
        PackageFile {
            member: "lib/modules/*/kernel/drivers/virtio/virtio.ko",
            name: "virtio.ko",
        },
        PackageFile {
            member: "lib/modules/*/kernel/drivers/virtio/virtio_mmio.ko",
            name: "virtio_mmio.ko",
        },
        PackageFile {
            member: "lib/modules/*/kernel/drivers/block/virtio_blk.ko",
            name: "virtio_blk.ko",
        },
        // The network driver and the modules it needs, in load order.
        PackageFile {
            member: "lib/modules/*/kernel/net/core/failover.ko",
            name: "failover.ko",
        },
        PackageFile {
            member: "lib/modules/*/kernel/drivers/net/net_failover.ko",
            name: "net_failover.ko",
        },
        PackageFile {
            member: "lib/modules/*/kernel/drivers/net/virtio_net.ko",
            name: "virtio_net.ko",
        },
        // The TPM's TIS interface over MMIO (`tcg,tpm-tis-mmio`, QEMU's
        // `tpm-tis-device`), in load order; the TPM core is built in.
        PackageFile {
            member: "lib/modules/*/kernel/drivers/char/tpm/tpm_tis_core.ko",
            name: "tpm_tis_core.ko",
        },
        PackageFile {
            member: "lib/modules/*/kernel/drivers/char/tpm/tpm_tis.ko",
            name: "tpm_tis.ko",
        },
    ],
};

/// A statically linked busybox: the shell and tools of the initramfs.
const BUSYBOX: PackageFiles<'static> = PackageFiles {
    origin: Origin::Package("busybox-static"),
    files: &[PackageFile {
        member: "bin/busybox",
        name: "busybox",
    }],
};

/// The cache directories of the x86-pc board's packages.
const X86_KERNEL_DIR: &str = "linux-image-cloud-amd64";
const X86_BUSYBOX_DIR: &str = "busybox-static-amd64";

/// Debian's cloud amd64 kernel: a bzImage with the 8250 serial driver built
/// in.
const X86_KERNEL: PackageFiles<'static> = PackageFiles {
    origin: Origin::Amd64DependencyOf("linux-image-cloud-amd64"),
    files: &[PackageFile {
        member: "boot/vmlinuz-*",
        name: KERNEL_NAME,
    }],
};

/// A statically linked amd64 busybox.
const X86_BUSYBOX: PackageFiles<'static> = PackageFiles {
    origin: Origin::Amd64("busybox-static"),
    files: &[PackageFile {
        member: "bin/busybox",
        name: "busybox",
    }],
};

/// Where the fetched files are.
#[derive(Debug, Clone)]
pub struct MgmtVmFiles {
    /// The kernel, a raw arm64 Image.
    pub kernel: PathBuf,
    /// Kernel modules, each named `<module>.ko`.
    pub modules: Vec<PathBuf>,
    /// A static aarch64 busybox.
    pub busybox: PathBuf,
}

/// Where [`fetch`] puts the kernel.
pub fn kernel(workspace: &Workspace) -> PathBuf {
    workspace.cache().join(KERNEL_DIR).join(KERNEL_NAME)
}

/// Fetches the management VM's Debian files into the cache, once.
pub fn fetch(workspace: &Workspace) -> Result<MgmtVmFiles> {
    let cache = workspace.cache();
    let mut kernel_files = debian_package::fetch(&KERNEL, &cache.join(KERNEL_DIR))?.into_iter();
    let kernel = kernel_files
        .next()
        .expect("the kernel is the first file of its package");
    let busybox = debian_package::fetch(&BUSYBOX, &cache.join(BUSYBOX_DIR))?
        .into_iter()
        .next()
        .expect("busybox is the one file of its package");
    Ok(MgmtVmFiles {
        kernel,
        modules: kernel_files.collect(),
        busybox,
    })
}

/// The x86-pc board's management VM files.
#[derive(Debug, Clone)]
pub struct X86MgmtVmFiles {
    /// The kernel, a bzImage.
    pub kernel: PathBuf,
    /// A static amd64 busybox.
    pub busybox: PathBuf,
}

/// Where [`fetch_x86`] puts the kernel.
pub fn x86_kernel(workspace: &Workspace) -> PathBuf {
    workspace.cache().join(X86_KERNEL_DIR).join(KERNEL_NAME)
}

/// Fetches the x86-pc board's management VM files into the cache, once.
pub fn fetch_x86(workspace: &Workspace) -> Result<X86MgmtVmFiles> {
    let cache = workspace.cache();
    let one = |package: &PackageFiles<'_>, dir: &str| -> Result<PathBuf> {
        Ok(debian_package::fetch(package, &cache.join(dir))?
            .into_iter()
            .next()
            .expect("one file is asked of the package"))
    };
    Ok(X86MgmtVmFiles {
        kernel: one(&X86_KERNEL, X86_KERNEL_DIR)?,
        busybox: one(&X86_BUSYBOX, X86_BUSYBOX_DIR)?,
    })
}
