//! Where things are: the workspace, cargo's target directory, and cordon's
//! own output and download cache under it.

use std::env;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

use cordon_qemu::Board;

use crate::error::{Error, Result};

/// The Rust target the hypervisor is built for: general-purpose registers
/// only, so that cordon never touches the FP/SIMD registers its guests own
/// (it does not save them at VM exits), as Linux and other hypervisors
/// build with `-mgeneral-regs-only`.
pub const HYPERVISOR_TARGET: &str = "aarch64-unknown-none-softfloat";
/// The Rust target of the bare-metal test guests, which may use FP/SIMD.
pub const GUEST_TARGET: &str = "aarch64-unknown-none";
/// The Rust target of the x86-pc board.
pub const PC_TARGET: &str = "x86_64-unknown-none";
/// A test guest `<name>` is the crate (and binary) `cordon-guest-<name>`.
pub const GUEST_CRATE_PREFIX: &str = "cordon-guest-";

/// The workspace's directories.
#[derive(Debug, Clone)]
pub struct Workspace {
    root: PathBuf,
    target: PathBuf,
}

impl Workspace {
    /// The workspace this xtask was built in.
    pub fn locate() -> Self {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("tools/ lives inside the workspace")
            .to_path_buf();
        // Cargo takes a relative CARGO_TARGET_DIR from the current directory.
        let target = match env::var_os("CARGO_TARGET_DIR") {
            Some(dir) => std::path::absolute(&dir).unwrap_or_else(|_| root.join(dir)),
            None => root.join("target"),
        };
        Self { root, target }
    }

    /// The workspace root, where `Cargo.toml` and `rust-toolchain.toml` are.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Cargo's target directory (`target/`, or `CARGO_TARGET_DIR`).
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The ELF that cargo builds for `board`.
    pub fn board_elf(&self, board: Board) -> PathBuf {
        self.target
            .join(board_target(board))
            .join("release")
            .join(format!("cordon-{}", board.name()))
    }

    /// The bootable image of `board`: an arm64 Image, or on x86-pc the
    /// multiboot2 ELF.
    pub fn board_image(&self, board: Board) -> PathBuf {
        let name = match board {
            Board::X86Pc => "cordon.elf",
            Board::QemuVirt | Board::Rpi4 => "cordon.bin",
        };
        self.board_output(board).join(name)
    }

    /// The x86-pc board's GRUB ISO, booting cordon with `command_line`
    /// (`name` tells the ISOs of different command lines apart).
    pub fn pc_iso(&self, name: &str) -> PathBuf {
        self.board_output(Board::X86Pc).join(format!("{name}.iso"))
    }

    /// Where the x86-pc ISO `name`'s files are put together.
    pub fn pc_iso_staging(&self, name: &str) -> PathBuf {
        self.board_output(Board::X86Pc)
            .join(format!("{name}.iso.d"))
    }

    fn board_output(&self, board: Board) -> PathBuf {
        self.target.join("cordon").join(board.name())
    }

    /// The example partition configs of `board`.
    pub fn example_configs(&self, board: Board) -> PathBuf {
        self.root.join("boards").join(board.name()).join("configs")
    }

    /// The partition configs (for qemu-virt) of the boot tests' own.
    pub fn boot_test_configs(&self) -> PathBuf {
        self.root.join("qemu").join("tests").join("configs")
    }

    /// Where a build of `board` with the partition config `name` (its
    /// file's name without `.toml`) goes, beside the image without one.
    pub fn config_output(&self, board: Board, name: &OsStr) -> ConfigOutput {
        ConfigOutput {
            dir: self.board_output(board).join("configs").join(name),
        }
    }

    /// The ELF that cargo builds for the test guest `name` (`qemu/guests/<name>`).
    pub fn guest_elf(&self, name: &str) -> PathBuf {
        guest_elf_in(&self.target, name)
    }

    /// Cargo's target directory for builds of the test guests labelled
    /// `label`, so that they and the default builds do not undo each other;
    /// and the ELF of the guest `name` in it.
    pub fn labelled_guest(&self, name: &str, label: &str) -> (PathBuf, PathBuf) {
        let target = self
            .target
            .join("cordon")
            .join("labelled-guests")
            .join(label);
        let elf = guest_elf_in(&target, name);
        (target, elf)
    }

    /// Where bootable images of the test guests go.
    pub fn guests_output(&self) -> PathBuf {
        self.target.join("cordon").join("guests")
    }

    /// A program built for the management VM.
    pub fn musl_binary(&self, triple: &str, name: &str) -> PathBuf {
        self.target.join(triple).join("release").join(name)
    }

    /// The management VM's sources: `/init` and the programs' crates.
    pub fn mgmt_vm_sources(&self) -> PathBuf {
        self.root.join("mgmt-vm")
    }

    /// What is built for the management VM: its initramfs and disk.
    pub fn mgmt_vm_output(&self) -> PathBuf {
        self.target.join("cordon").join("mgmt-vm")
    }

    /// Downloads and files extracted from them, kept between runs.
    pub fn cache(&self) -> PathBuf {
        self.target.join("cordon").join("cache")
    }
}

/// The Rust target `board` is built for.
pub fn board_target(board: Board) -> &'static str {
    match board {
        Board::X86Pc => PC_TARGET,
        Board::QemuVirt | Board::Rpi4 => HYPERVISOR_TARGET,
    }
}

fn guest_elf_in(target: &Path, name: &str) -> PathBuf {
    target
        .join(GUEST_TARGET)
        .join("release")
        .join(format!("{GUEST_CRATE_PREFIX}{name}"))
}

/// Creates the folder `dir`, and those above it that are missing.
pub fn create_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir)
        .map_err(|error| Error::io(format!("cannot create {}", dir.display()), error))
}

/// Creates the folder `path` goes into.
pub fn create_parent(path: &Path) -> Result<()> {
    path.parent().map_or(Ok(()), create_dir)
}

/// What a build with a partition config writes, in a directory of its own.
#[derive(Debug, Clone)]
pub struct ConfigOutput {
    dir: PathBuf,
}

impl ConfigOutput {
    /// Creates the directory.
    pub fn create(&self) -> Result<()> {
        create_dir(&self.dir)
    }

    /// The bootable image, with the config embedded.
    pub fn image(&self) -> PathBuf {
        self.dir.join("cordon.bin")
    }

    /// x86-pc: cordon's multiboot2 ELF with the config embedded, the ISO
    /// that boots it with the VMs' images, and where the ISO's files are
    /// put together.
    pub fn pc_elf(&self) -> PathBuf {
        self.dir.join("cordon.elf")
    }

    pub fn pc_iso(&self) -> PathBuf {
        self.dir.join("cordon.iso")
    }

    pub fn pc_iso_staging(&self) -> PathBuf {
        self.dir.join("cordon.iso.d")
    }

    /// The binary partition config embedded in the image.
    pub fn config_bin(&self) -> PathBuf {
        self.dir.join("config.bin")
    }

    /// rpi4: the device tree the tools give QEMU, as firmware would give
    /// it to cordon (see `partition::rpi4_dtb`).
    pub fn firmware_dtb(&self) -> PathBuf {
        self.dir.join("firmware.dtb")
    }

    /// The device tree QEMU gives the board, as the config was checked against.
    pub fn board_dtb(&self) -> PathBuf {
        self.dir.join("board.dtb")
    }

    /// The management VM's storage disk, kept from run to run (see
    /// `cordon_qemu::storage_disk`).
    pub fn storage(&self) -> PathBuf {
        self.dir.join("storage.img")
    }

    /// The machine that boots the config, for the boot tests (see
    /// `cordon_qemu::config_machine`).
    pub fn machine(&self) -> PathBuf {
        self.dir.join("machine.toml")
    }

    /// The state of the software TPM behind the machine's TPM, if a VM is
    /// given one (see `cordon_qemu::swtpm`).
    pub fn swtpm_state(&self) -> PathBuf {
        self.dir.join("swtpm")
    }
}
