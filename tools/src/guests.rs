//! The bare-metal test guests, for partition configs to boot, under
//! `target/cordon/guests/<name>.bin`: for aarch64 (`qemu/guests/<name>`,
//! crate `cordon-guest-<name>`) flattened into arm64 Images; for x86-pc
//! the flat binaries of crate `cordon-guest-x86` (`qemu/guests/x86`), whose
//! binaries are named `x86-<name>`.

use std::path::PathBuf;

use crate::commands::build::build_flat_image;
use crate::error::Error;
use crate::error::Result;
use crate::exec;
use crate::paths::{GUEST_CRATE_PREFIX, GUEST_TARGET, PC_TARGET, Workspace, create_dir};

/// The variable a guest prints its build label from.
const LABEL_VAR: &str = "CORDON_GUEST_LABEL";

/// The test guest that tries to escape its VM (`qemu/guests/hostile`).
pub const HOSTILE: &str = "hostile";
/// The label of the build of [`HOSTILE`] that the management VM carries,
/// to load into a VM in place of the one it booted.
pub const REPLACEMENT_LABEL: &str = "replacement";

/// The extension of a guest's image.
pub const IMAGE_EXTENSION: &str = "bin";
/// The x86-pc guests: their names' prefix, and their crate.
const X86_PREFIX: &str = "x86-";
pub const X86_CRATE: &str = "cordon-guest-x86";

/// Builds the guest `name`, for x86-pc if it is named `x86-...`; returns
/// its image's path.
pub fn build_any(workspace: &Workspace, name: &str) -> Result<PathBuf> {
    if name.starts_with(X86_PREFIX) {
        build_x86(workspace, name)
    } else {
        build(workspace, name)
    }
}

/// Builds the x86-pc guest `name` (a binary of `cordon-guest-x86`, linked
/// as a flat binary) and copies it to its image; returns the image's path.
fn build_x86(workspace: &Workspace, name: &str) -> Result<PathBuf> {
    exec::run(exec::cargo(workspace.root()).args([
        "build",
        "--release",
        "--package",
        X86_CRATE,
        "--bin",
        name,
        "--target",
        PC_TARGET,
    ]))?;
    let built = workspace
        .target()
        .join(PC_TARGET)
        .join("release")
        .join(name);
    let image_path = image_path(workspace, name);
    create_dir(&workspace.guests_output())?;
    let size = std::fs::copy(&built, &image_path).map_err(|error| {
        Error::io(
            format!(
                "cannot copy {} to {}",
                built.display(),
                image_path.display()
            ),
            error,
        )
    })?;
    eprintln!("xtask: {} ({size} bytes)", image_path.display());
    Ok(image_path)
}

/// Where the image of the guest `name` goes.
fn image_path(workspace: &Workspace, name: &str) -> PathBuf {
    workspace
        .guests_output()
        .join(name)
        .with_extension(IMAGE_EXTENSION)
}

/// Builds the guest `name` and writes its image; returns the image's path.
pub fn build(workspace: &Workspace, name: &str) -> Result<PathBuf> {
    let image_path = image_path(workspace, name);
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
