//! What the checks need to know about a board, read from its device tree:
//! how many CPUs, where RAM is and which of it is reserved, and which nodes
//! cordon keeps for itself.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use fdt::Fdt;
use fdt::node::FdtNode;

use super::tree::{self, is_compatible, u32_property};
use crate::error::{BoardError, Owner};
use crate::region::Region;

const CPUS_PATH: &str = "/cpus";
const CHOSEN_PATH: &str = "/chosen";
const RESERVED_MEMORY_PATH: &str = "/reserved-memory";
const PSCI_COMPATIBLE_PREFIX: &str = "arm,psci";
const TIMER_COMPATIBLE: [&str; 2] = ["arm,armv8-timer", "arm,armv7-timer"];

pub struct Facts {
    /// CPU nodes under `/cpus`.
    pub cpus: usize,
    /// RAM banks.
    pub ram: Vec<Region>,
    /// RAM the firmware keeps: memreserve entries, `/reserved-memory`.
    pub reserved: Vec<Region>,
    /// Nodes cordon keeps (with everything below them), by path.
    pub owned: Vec<(String, Owner)>,
}

impl Facts {
    pub fn read(fdt: &Fdt) -> Result<Self, BoardError> {
        let root = fdt.find_node("/").ok_or(BoardError::NoRoot)?;
        let facts = Self {
            cpus: count_cpus(fdt),
            ram: ram(root)?,
            reserved: reserved(fdt)?,
            owned: owned(fdt, root),
        };
        if facts.cpus == 0 {
            return Err(BoardError::NoCpus);
        }
        if facts.ram.is_empty() {
            return Err(BoardError::NoMemory);
        }
        Ok(facts)
    }

    /// Who keeps the node at `path`, or a node below it.
    pub fn owner(&self, path: &str) -> Option<Owner> {
        self.owned
            .iter()
            .find(|(owned, _)| tree::is_within(path, owned) || tree::is_within(owned, path))
            .map(|&(_, owner)| owner)
    }
}

fn is_device_type(node: FdtNode, device_type: &str) -> bool {
    node.property("device_type").and_then(|p| p.as_str()) == Some(device_type)
}

fn count_cpus(fdt: &Fdt) -> usize {
    tree::find_exact(fdt, CPUS_PATH).map_or(0, |cpus| {
        cpus.children()
            .filter(|node| is_device_type(*node, "cpu"))
            .count()
    })
}

fn ram(root: FdtNode) -> Result<Vec<Region>, BoardError> {
    let mut banks = Vec::new();
    for node in root.children().filter(|n| is_device_type(*n, "memory")) {
        banks.extend(regions(node, "/")?);
    }
    Ok(banks)
}

fn reserved(fdt: &Fdt) -> Result<Vec<Region>, BoardError> {
    let mut reserved: Vec<Region> = fdt
        .memory_reservations()
        .filter_map(|entry| Region::new(entry.address() as u64, entry.size() as u64))
        .collect();
    if let Some(parent) = tree::find_exact(fdt, RESERVED_MEMORY_PATH) {
        for node in parent.children() {
            if node.property("reg").is_some() {
                reserved.extend(regions(node, RESERVED_MEMORY_PATH)?);
            }
        }
    }
    Ok(reserved)
}

/// The regions of `node` (a child of `parent`), or an error naming it.
fn regions(node: FdtNode, parent: &str) -> Result<Vec<Region>, BoardError> {
    tree::reg_regions(node).ok_or_else(|| {
        let separator = if parent.ends_with('/') { "" } else { "/" };
        BoardError::BadReg {
            node: [parent, separator, node.name].concat(),
        }
    })
}

/// The nodes cordon keeps: the interrupt controller the root names, the
/// CPUs, RAM, `/chosen`, PSCI, the timer and the `stdout-path` UART.
fn owned(fdt: &Fdt, root: FdtNode) -> Vec<(String, Owner)> {
    let interrupt_parent = u32_property(root, "interrupt-parent");
    let console = console_path(fdt);
    let mut owned = Vec::new();
    tree::walk(root, &mut String::from("/"), &mut |path, node| {
        let phandle = u32_property(node, "phandle").or(u32_property(node, "linux,phandle"));
        let owner = if path == CPUS_PATH {
            Owner::Cpus
        } else if path == CHOSEN_PATH {
            Owner::Chosen
        } else if path == RESERVED_MEMORY_PATH || is_device_type(node, "memory") {
            Owner::Memory
        } else if phandle.is_some() && phandle == interrupt_parent {
            Owner::InterruptController
        } else if is_compatible(node, |c| c.starts_with(PSCI_COMPATIBLE_PREFIX)) {
            Owner::Psci
        } else if is_compatible(node, |c| TIMER_COMPATIBLE.contains(&c)) {
            Owner::Timer
        } else if console.as_deref() == Some(path) {
            Owner::Console
        } else {
            return;
        };
        owned.push((path.to_string(), owner));
    });
    owned
}

/// The full path of the `stdout-path` node (options and alias resolved).
fn console_path(fdt: &Fdt) -> Option<String> {
    let chosen = tree::find_exact(fdt, CHOSEN_PATH)?;
    let stdout = chosen.property("stdout-path")?.as_str()?;
    let name = stdout.split(':').next().unwrap_or(stdout);
    if name.starts_with('/') {
        return Some(name.to_string());
    }
    fdt.aliases()?.resolve(name).map(ToString::to_string)
}
