//! `cargo xtask build`: the board crates built for bare metal, each ELF
//! flattened into a bootable arm64 Image.

use std::fs;

use cordon_qemu::Board;

use crate::error::{Error, Result};
use crate::exec;
use crate::image;
use crate::paths::{BARE_METAL_TARGET, Workspace};
use std::path::PathBuf;

/// Builds the image of every board in `boards`.
pub fn build(workspace: &Workspace, boards: &[Board]) -> Result<()> {
    crate::prereq::for_build(workspace)?;
    for &board in boards {
        build_image(workspace, board)?;
    }
    Ok(())
}

/// Builds `board` and writes its image; returns the image's path.
pub fn build_image(workspace: &Workspace, board: Board) -> Result<PathBuf> {
    exec::run(exec::cargo(workspace.root()).args([
        "build",
        "--release",
        "--package",
        &format!("cordon-board-{}", board.name()),
        "--target",
        BARE_METAL_TARGET,
    ]))?;
    let elf_path = workspace.board_elf(board);
    let elf = fs::read(&elf_path)
        .map_err(|error| Error::io(format!("cannot read {}", elf_path.display()), error))?;
    let image = image::elf_to_image(&elf).map_err(|source| Error::Image {
        elf: elf_path.clone(),
        source,
    })?;
    let image_path = workspace.board_image(board);
    if let Some(dir) = image_path.parent() {
        fs::create_dir_all(dir)
            .map_err(|error| Error::io(format!("cannot create {}", dir.display()), error))?;
    }
    fs::write(&image_path, &image)
        .map_err(|error| Error::io(format!("cannot write {}", image_path.display()), error))?;
    println!("{board}: {} ({} bytes)", image_path.display(), image.len());
    Ok(image_path)
}
