//! `cargo xtask build`: the board crates built for bare metal, each aarch64
//! ELF flattened into a bootable arm64 Image (the x86-pc ELF is its image:
//! GRUB loads it by multiboot2); with a partition config, the config
//! checked, placed and embedded.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use cordon_qemu::Board;
use cordon_qemu::pc::PC_DEFAULT_CPUS;

use crate::error::{Error, Result};
use crate::exec;
use crate::image;
use crate::partition;
use crate::paths::{Workspace, board_target, create_parent};

/// The environment variable through which the hypervisor's build script
/// finds the binary partition config to embed; unset, it embeds none.
pub const CONFIG_BIN_VAR: &str = "CORDON_CONFIG_BIN";

/// Builds the image of every board in `boards`.
pub fn build(workspace: &Workspace, boards: &[Board]) -> Result<()> {
    crate::prereq::for_build(workspace)?;
    for &board in boards {
        build_image(workspace, board)?;
    }
    Ok(())
}

/// Builds the image of `board` (or of the config's board) with the
/// partition config `file` embedded (x86-pc: and its ISO, with the VMs'
/// images, for a PC with the emulated PC's CPUs).
pub fn build_with_config(workspace: &Workspace, board: Option<Board>, file: &Path) -> Result<()> {
    match partition::board_of_file(file, board)? {
        Board::X86Pc => {
            partition::prepare_pc(workspace, file, None, "", PC_DEFAULT_CPUS)?;
        }
        Board::QemuVirt | Board::Rpi4 => {
            partition::prepare(workspace, file, board, None, |machine| machine)?;
        }
    }
    Ok(())
}

/// Builds `board` without a partition config and writes its image; returns
/// the image's path.
pub fn build_image(workspace: &Workspace, board: Board) -> Result<PathBuf> {
    let image_path = workspace.board_image(board);
    build_board(workspace, board, None, &image_path)?;
    Ok(image_path)
}

/// Builds `board` with the binary partition config `config_bin` embedded
/// and writes its image to `image_path`.
pub fn build_image_with_config(
    workspace: &Workspace,
    board: Board,
    config_bin: &Path,
    image_path: &Path,
) -> Result<()> {
    build_board(workspace, board, Some(config_bin), image_path)
}

fn build_board(
    workspace: &Workspace,
    board: Board,
    config_bin: Option<&Path>,
    image_path: &Path,
) -> Result<()> {
    let mut cargo = exec::cargo(workspace.root());
    match config_bin {
        Some(path) => cargo.env(CONFIG_BIN_VAR, path),
        None => cargo.env_remove(CONFIG_BIN_VAR),
    };
    let package = format!("cordon-board-{}", board.name());
    let elf_path = workspace.board_elf(board);
    let size = match board {
        Board::X86Pc => {
            build_elf(&mut cargo, &package, board_target(board))?;
            create_parent(image_path)?;
            fs::copy(&elf_path, image_path).map_err(|error| {
                Error::io(
                    format!(
                        "cannot copy {} to {}",
                        elf_path.display(),
                        image_path.display()
                    ),
                    error,
                )
            })? as usize
        }
        Board::QemuVirt | Board::Rpi4 => build_flat_image(
            &mut cargo,
            board_target(board),
            &package,
            &elf_path,
            image_path,
        )?,
    };
    println!("{board}: {} ({size} bytes)", image_path.display());
    Ok(())
}

/// Builds `package` for the bare-metal `target` with `cargo`.
fn build_elf(cargo: &mut Command, package: &str, target: &str) -> Result<()> {
    exec::run(cargo.args([
        "build",
        "--release",
        "--package",
        package,
        "--target",
        target,
    ]))
}

/// Builds `package` for the bare-metal `target` with `cargo` and flattens
/// its ELF (`elf_path`) into an arm64 Image at `image_path`; returns its
/// size.
pub fn build_flat_image(
    cargo: &mut Command,
    target: &str,
    package: &str,
    elf_path: &Path,
    image_path: &Path,
) -> Result<usize> {
    build_elf(cargo, package, target)?;
    let elf = fs::read(elf_path)
        .map_err(|error| Error::io(format!("cannot read {}", elf_path.display()), error))?;
    let image = image::elf_to_image(&elf).map_err(|source| Error::Image {
        elf: elf_path.to_owned(),
        source,
    })?;
    create_parent(image_path)?;
    fs::write(image_path, &image)
        .map_err(|error| Error::io(format!("cannot write {}", image_path.display()), error))?;
    Ok(image.len())
}
