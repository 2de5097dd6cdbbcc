//! The files a config's boot modules name: where they are, and making the
//! ones `cargo xtask` builds (the management VM's kernel and initramfs,
//! the test guests).

use std::fs;
use std::path::{Path, PathBuf};

use cordon_config::VmField;
use cordon_qemu::mgmt_vm::MgmtVm;

use super::load::Loaded;
use crate::error::Result;
use crate::paths::Workspace;
use crate::{guests, mgmt_vm};

/// A module path that starts with this is under cargo's target directory
/// (`target/` at the repository root, or `CARGO_TARGET_DIR`); any other
/// relative path is relative to the config file.
pub const TARGET_PREFIX: &str = "$target/";

/// A boot module's file and its size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleFile {
    pub path: PathBuf,
    pub size: u64,
}

/// One VM's boot-module files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmFiles {
    pub kernel: ModuleFile,
    pub initrd: Option<ModuleFile>,
}

/// The files of every VM (in config order), and the management VM's files
/// if the config uses them.
#[derive(Debug, Clone)]
pub struct Made {
    pub vms: Vec<VmFiles>,
    pub mgmt_vm: Option<MgmtVm>,
}

/// Where the module file `written` (as the config has it) is.
pub fn resolve(workspace: &Workspace, config_dir: &Path, written: &str) -> PathBuf {
    match written.strip_prefix(TARGET_PREFIX) {
        Some(under_target) => workspace.target().join(under_target),
        None => config_dir.join(written),
    }
}

/// Makes the module files `cargo xtask` builds and reads every file's size.
pub fn make(workspace: &Workspace, loaded: &Loaded) -> Result<Made> {
    let paths: Vec<PathBuf> = loaded
        .config
        .vms
        .iter()
        .flat_map(|vm| vm.image.modules())
        .map(|module| resolve(workspace, loaded.dir(), &module.file))
        .collect();
    let mgmt = mgmt_vm::locations(workspace);
    let mgmt_vm = if paths.contains(&mgmt.kernel) || paths.contains(&mgmt.initramfs) {
        Some(mgmt_vm::prepare(workspace)?)
    } else {
        None
    };
    let x86_mgmt = mgmt_vm::x86_locations(workspace);
    if paths.contains(&x86_mgmt.kernel) || paths.contains(&x86_mgmt.initramfs) {
        mgmt_vm::prepare_x86(workspace)?;
    }
    let mut built = Vec::new();
    for name in paths.iter().filter_map(|path| guest_name(workspace, path)) {
        if !built.contains(&name) {
            guests::build_any(workspace, name)?;
            built.push(name);
        }
    }

    let mut problems = Vec::new();
    let mut file = |vm: &str, field: VmField, written: &str| {
        let path = resolve(workspace, loaded.dir(), written);
        match fs::metadata(&path) {
            Ok(metadata) => Some(ModuleFile {
                path,
                size: metadata.len(),
            }),
            Err(error) => {
                problems.push(format!("VM \"{vm}\": {field}: {}: {error}", path.display()));
                None
            }
        }
    };
    let mut vms = Vec::new();
    for vm in &loaded.config.vms {
        let kernel = file(&vm.name, VmField::ImageKernel, &vm.image.kernel.file);
        // `None` if the VM has an initrd that cannot be read.
        let initrd = match &vm.image.initrd {
            None => Some(None),
            Some(initrd) => file(&vm.name, VmField::ImageInitrd, &initrd.file).map(Some),
        };
        if let (Some(kernel), Some(initrd)) = (kernel, initrd) {
            vms.push(VmFiles { kernel, initrd });
        }
    }
    if !problems.is_empty() {
        return Err(loaded.error(problems));
    }
    Ok(Made { vms, mgmt_vm })
}

/// The test guest whose image is `path`, if it is one.
fn guest_name<'p>(workspace: &Workspace, path: &'p Path) -> Option<&'p str> {
    let is_guest_image = path.parent() == Some(workspace.guests_output().as_path())
        && path
            .extension()
            .is_some_and(|ext| ext == guests::IMAGE_EXTENSION);
    is_guest_image.then(|| path.file_stem()?.to_str()).flatten()
}
