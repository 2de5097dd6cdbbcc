//! `cargo xtask mgmt-image`: the management VM's initramfs (what `run`
//! and `test` boot) and its `cordonctl`, also built for x86_64.

use crate::error::Result;
use crate::mgmt_vm;
use crate::paths::Workspace;
use crate::prereq;

/// Builds the management VM's files and prints where they are.
pub fn mgmt_image(workspace: &Workspace) -> Result<()> {
    prereq::for_build(workspace)?;
    let vm = mgmt_vm::prepare(workspace)?;
    let x86_cordonctl = mgmt_vm::x86_cordonctl(workspace)?;
    println!("kernel:              {}", vm.kernel.display());
    println!("initramfs (aarch64): {}", vm.initramfs.display());
    println!("cordonctl (x86_64):  {}", x86_cordonctl.display());
    Ok(())
}
