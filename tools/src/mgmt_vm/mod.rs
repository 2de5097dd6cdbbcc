//! cordon's Linux management VM: Debian's cloud kernel, an initramfs built
//! here from `mgmt-vm/` (with `cordonctl`, the controller-facing agent, a
//! test guest to load into another VM, and the Pi's SD host controller
//! modules), and a test disk, under
//! `target/cordon/mgmt-vm/`.

mod initramfs;

use std::fs;
use std::path::{Path, PathBuf};

use cordon_guest_loader::arm64_image::ImageHeader;
use cordon_qemu::mgmt_vm::MgmtVm;
use cordon_qemu::{GUEST_INITRD_ADDR, GUEST_KERNEL_ADDR, test_disk};

use crate::error::{Error, Result};
use crate::guests;
use crate::musl::{self, MuslTarget};
use crate::paths::{Workspace, create_dir};
use crate::prereq;
use initramfs::Contents;

/// The program that prints the virtual counter, and its crate.
const VCOUNTER: &str = "cordon-vcounter";
/// The management interface's command-line client, and its crate.
const CORDONCTL: &str = "cordonctl";
/// The agent for an EVE API controller, and its crate.
const AGENT: &str = "cordon-agent";
/// The tree copied into the initramfs, under `mgmt-vm/`.
const INITRAMFS_TREE: &str = "initramfs";
const INITRAMFS_NAME: &str = "initramfs.cpio.gz";
const X86_INITRAMFS_NAME: &str = "initramfs-x86_64.cpio.gz";
const DISK_NAME: &str = "disk.img";

/// Where the management VM's files are (or will be, once [`prepare`] ran).
pub fn locations(workspace: &Workspace) -> MgmtVm {
    let output = workspace.mgmt_vm_output();
    MgmtVm {
        kernel: prereq::mgmt_vm_kernel(workspace),
        initramfs: output.join(INITRAMFS_NAME),
        disk: output.join(DISK_NAME),
    }
}

/// Fetches the kernel, builds the initramfs if its contents changed, and
/// writes a new test disk.
pub fn prepare(workspace: &Workspace) -> Result<MgmtVm> {
    let vm = locations(workspace);
    let debian = prereq::mgmt_vm_files(workspace)?;
    // The Pi's kernel loads these; the cloud kernel skips them, as the Pi's
    // skips the virtio modules.
    let modules = [debian.modules, prereq::rpi4_sd_modules(workspace)?].concat();
    check_kernel(&debian.kernel)?;
    let vcounter = musl::build(workspace, MuslTarget::Aarch64, VCOUNTER, VCOUNTER)?;
    let cordonctl = musl::build(workspace, MuslTarget::Aarch64, CORDONCTL, CORDONCTL)?;
    // The agent's crypto has C and assembly parts.
    prereq::c_compiler()?;
    let agent = musl::build(workspace, MuslTarget::Aarch64, AGENT, AGENT)?;
    // A guest for `cordonctl load` to put into a workload VM.
    let replacement =
        guests::build_labelled(workspace, guests::HOSTILE, guests::REPLACEMENT_LABEL)?;

    create_dir(&workspace.mgmt_vm_output())?;
    let contents = Contents {
        tree: &workspace.mgmt_vm_sources().join(INITRAMFS_TREE),
        busybox: &debian.busybox,
        programs: &[vcounter, cordonctl, agent],
        modules: &modules,
        guest_images: &[replacement],
    };
    let rebuilt = initramfs::build(&contents, &vm.initramfs)?;
    let state = if rebuilt { "built" } else { "up to date" };
    eprintln!("xtask: {} {state}", vm.initramfs.display());

    let text = test_disk::create(&vm.disk)
        .map_err(|error| Error::io(format!("cannot write {}", vm.disk.display()), error))?;
    eprintln!("xtask: {} written; it says {text}", vm.disk.display());
    Ok(vm)
}

/// `cordonctl` for the x86 board's management VM; returns its path.
pub fn x86_cordonctl(workspace: &Workspace) -> Result<PathBuf> {
    musl::build(workspace, MuslTarget::X86_64, CORDONCTL, CORDONCTL)
}

/// The x86-pc board's management VM: Debian's cloud amd64 bzImage and an
/// initramfs of the same `/init`, an amd64 busybox and `cordonctl`.
#[derive(Debug, Clone)]
pub struct X86MgmtVm {
    pub kernel: PathBuf,
    pub initramfs: PathBuf,
}

/// Where the x86-pc board's management VM files are (or will be, once
/// [`prepare_x86`] ran).
pub fn x86_locations(workspace: &Workspace) -> X86MgmtVm {
    X86MgmtVm {
        kernel: prereq::x86_mgmt_vm_kernel(workspace),
        initramfs: workspace.mgmt_vm_output().join(X86_INITRAMFS_NAME),
    }
}

/// Fetches the x86-pc board's management VM kernel and builds its
/// initramfs if its contents changed.
pub fn prepare_x86(workspace: &Workspace) -> Result<X86MgmtVm> {
    let debian = prereq::x86_mgmt_vm_files(workspace)?;
    let cordonctl = x86_cordonctl(workspace)?;
    create_dir(&workspace.mgmt_vm_output())?;
    let contents = Contents {
        tree: &workspace.mgmt_vm_sources().join(INITRAMFS_TREE),
        busybox: &debian.busybox,
        programs: &[cordonctl],
        modules: &[],
        guest_images: &[],
    };
    let initramfs = x86_locations(workspace).initramfs;
    let rebuilt = initramfs::build(&contents, &initramfs)?;
    let state = if rebuilt { "built" } else { "up to date" };
    eprintln!("xtask: {} {state}", initramfs.display());
    Ok(X86MgmtVm {
        kernel: debian.kernel,
        initramfs,
    })
}

/// Checks that `path` is an arm64 Image that fits below the initrd, where
/// QEMU's guest-loader puts both.
fn check_kernel(path: &Path) -> Result<()> {
    let image = fs::read(path)
        .map_err(|error| Error::io(format!("cannot read {}", path.display()), error))?;
    let bad = |problem: String| Error::BadFile {
        path: path.to_owned(),
        problem,
    };
    let header = ImageHeader::parse(&image).map_err(|error| bad(error.to_string()))?;
    let room = GUEST_INITRD_ADDR - GUEST_KERNEL_ADDR;
    let size = header.image_size.max(image.len() as u64);
    let needs = header.text_offset + size;
    if needs > room {
        return Err(bad(format!(
            "the kernel needs {needs:#x} bytes from where it is loaded, more than the {room:#x} \
             before its initrd (GUEST_INITRD_ADDR in qemu/src/machine.rs)"
        )));
    }
    Ok(())
}
