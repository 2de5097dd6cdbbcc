//! How the VM's kernel boots and names its devices: `/chosen` and
//! `/aliases`.
//!
//! Nothing else of the boot `/chosen` reaches a VM: its modules, its
//! initrd and its `kaslr-seed`/`rng-seed` belong to cordon's own boot (a
//! seed shared by every VM would give them all the same randomisation).

use super::tree::{self, Node, Origin};
use super::{GuestDtError, VmDescription, boot::BootIndex};

/// `/chosen` for `vm`, whose tree (devices included) is under `root`.
pub(super) fn chosen(vm: &VmDescription, root: &Node) -> Result<Node, GuestDtError> {
    let mut chosen = Node::new("chosen", Origin::Cordon).with_strings("bootargs", &[vm.bootargs]);
    if let Some((start, end)) = vm.initrd {
        // An empty initrd occupies no RAM (callers size the tree with a
        // placeholder before the initrd has a place).
        let in_ram = start == end || vm.memory.iter().any(|ram| ram.contains(start, end));
        if start > end || !in_ram {
            return Err(GuestDtError::BadInitrd { start, end });
        }
        chosen = chosen
            .with_u64s("linux,initrd-start", &[start])
            .with_u64s("linux,initrd-end", &[end]);
    }
    if let Some(stdout) = vm.stdout_path {
        // A path may carry options after a colon: "/pl011@9000000:115200n8".
        let path = stdout.split(':').next().unwrap_or(stdout);
        if !is_passed_through(root, path) {
            return Err(GuestDtError::StdoutNotPassedThrough {
                path: stdout.into(),
            });
        }
        chosen = chosen.with_strings("stdout-path", &[stdout]);
    }
    Ok(chosen)
}

/// The boot tree's aliases of nodes the VM got, so that consoles and
/// interfaces keep their numbers; `None` if there are none.
pub(super) fn aliases(index: &BootIndex, root: &Node) -> Option<Node> {
    let boot = index.find("/aliases")?;
    let mut aliases = Node::new("aliases", Origin::Cordon);
    for property in boot.node.properties() {
        let Some(target) = property.as_str() else {
            continue;
        };
        if is_passed_through(root, target) {
            aliases = aliases.with(property.name, property.value.to_vec());
        }
    }
    (!aliases.properties.is_empty()).then_some(aliases)
}

/// Whether `path` is a full path to a node the VM got from the boot tree.
fn is_passed_through(root: &Node, path: &str) -> bool {
    path.starts_with('/')
        && tree::find(root, path).is_some_and(|node| node.origin == Origin::PassedThrough)
}
