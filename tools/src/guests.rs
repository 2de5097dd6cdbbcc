//! The bare-metal test guests (`qemu/guests/<name>`, crate
//! `cordon-guest-<name>`), built for aarch64 and flattened into arm64
//! Images under `target/cordon/guests/<name>.bin`, for partition configs to
//! boot.

use std::path::PathBuf;

use crate::commands::build::build_flat_image;
use crate::error::Result;
use crate::exec;
use crate::paths::{GUEST_CRATE_PREFIX, Workspace};

/// The extension of a guest's image.
pub const IMAGE_EXTENSION: &str = "bin";

/// Builds the guest `name` and writes its image; returns the image's path.
pub fn build(workspace: &Workspace, name: &str) -> Result<PathBuf> {
    let image_path = workspace
        .guests_output()
        .join(name)
        .with_extension(IMAGE_EXTENSION);
    let size = build_flat_image(
        &mut exec::cargo(workspace.root()),
        &format!("{GUEST_CRATE_PREFIX}{name}"),
        &workspace.guest_elf(name),
        &image_path,
    )?;
    eprintln!("xtask: {} ({size} bytes)", image_path.display());
    Ok(image_path)
}
