//! The bare-metal test guests (`qemu/guests/<name>`, crate
//! `cordon-guest-<name>`), built for aarch64 and flattened into arm64
//! Images under `target/cordon/guests/<name>.bin`, for partition configs to
//! boot.

use std::path::PathBuf;

use crate::commands::build::build_flat_image;
use crate::error::Result;
use crate::exec;
use crate::paths::{GUEST_CRATE_PREFIX, GUEST_TARGET, Workspace};

/// The variable a guest prints its build label from.
const LABEL_VAR: &str = "CORDON_GUEST_LABEL";

/// The test guest that tries to escape its VM (`qemu/guests/hostile`).
pub const HOSTILE: &str = "hostile";
/// The label of the build of [`HOSTILE`] that the management VM carries,
/// to load into a VM in place of the one it booted.
pub const REPLACEMENT_LABEL: &str = "replacement";

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
        GUEST_TARGET,
        &format!("{GUEST_CRATE_PREFIX}{name}"),
        &workspace.guest_elf(name),
        &image_path,
    )?;
    eprintln!("xtask: {} ({size} bytes)", image_path.display());
    Ok(image_path)
}

/// Where [`build_labelled`] writes the image of `name` labelled `label`.
pub fn labelled_image(workspace: &Workspace, name: &str, label: &str) -> PathBuf {
    workspace
        .guests_output()
        .join(format!("{name}-{label}"))
        .with_extension(IMAGE_EXTENSION)
}

/// Builds the guest `name` labelled `label` (which it prints when it
/// starts: a test tells this build from the default one) and writes its
/// image `<name>-<label>.bin`; returns the image's path.
pub fn build_labelled(workspace: &Workspace, name: &str, label: &str) -> Result<PathBuf> {
    let (target, elf) = workspace.labelled_guest(name, label);
    let image_path = labelled_image(workspace, name, label);
    let mut cargo = exec::cargo(workspace.root());
    cargo.env(LABEL_VAR, label).env("CARGO_TARGET_DIR", &target);
    let package = format!("{GUEST_CRATE_PREFIX}{name}");
    let size = build_flat_image(&mut cargo, GUEST_TARGET, &package, &elf, &image_path)?;
    eprintln!("xtask: {} ({size} bytes)", image_path.display());
    Ok(image_path)
}
