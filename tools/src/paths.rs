//! Where things are: the workspace, cargo's target directory, and cordon's
//! own output and download cache under it.

use std::env;
use std::path::{Path, PathBuf};

use cordon_qemu::Board;

/// The Rust target the hypervisor is built for.
pub const BARE_METAL_TARGET: &str = "aarch64-unknown-none";
/// The Rust target of the management VM's programs: static aarch64 Linux.
pub const MUSL_TARGET: &str = "aarch64-unknown-linux-musl";

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

    /// The ELF that cargo builds for `board`.
    pub fn board_elf(&self, board: Board) -> PathBuf {
        self.target
            .join(BARE_METAL_TARGET)
            .join("release")
            .join(format!("cordon-{}", board.name()))
    }

    /// The bootable image of `board`.
    pub fn board_image(&self, board: Board) -> PathBuf {
        self.target
            .join("cordon")
            .join(board.name())
            .join("cordon.bin")
    }

    /// A program built for the management VM.
    pub fn musl_binary(&self, name: &str) -> PathBuf {
        self.target.join(MUSL_TARGET).join("release").join(name)
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
