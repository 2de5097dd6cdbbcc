//! The partition config as data: what each VM gets and which VMs share a
//! channel. Field documentation says how each is written in TOML.

use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::{module_ref, size};

/// One setup: a board, its VMs and the channels between them.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The board the setup is for, as the tools name it (`qemu-virt`, `rpi4`).
    pub board: String,
    /// `[[vm]]` tables.
    #[serde(rename = "vm", default)]
    pub vms: Vec<VmConfig>,
    /// `[[channel]]` tables.
    #[serde(rename = "channel", default)]
    pub channels: Vec<ChannelConfig>,
}

/// One VM (a `[[vm]]` table).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VmConfig {
    /// 1 to 15 of `a-z`, `0-9` and `-`; unique.
    pub name: String,
    pub role: Role,
    /// Physical CPUs in cordon's numbering: the boot CPU is 0, the others
    /// follow in `/cpus` order. vCPU n runs on `cpus[n]`.
    pub cpus: Vec<u32>,
    pub memory: MemoryConfig,
    /// Full device-tree paths of the devices passed through.
    #[serde(default)]
    pub devices: Vec<String>,
    /// An emulated PL011 console at the console UART's address.
    #[serde(default = "default_console")]
    pub console: bool,
    pub image: ImageConfig,
    #[serde(default)]
    pub restart: RestartPolicy,
    /// Trap the guest's WFI and WFE to cordon (`trap-wait = true`). Each
    /// vCPU has its CPU to itself, so by default a waiting guest simply
    /// waits on the hardware.
    #[serde(default, rename = "trap-wait")]
    pub trap_wait: bool,
    /// The VM may program DMA masters among its devices
    /// (`dma-trusted = true`): without an IOMMU they reach all memory their
    /// bus reaches, not only the VM's. Required for any device below a bus
    /// with `dma-ranges`; its RAM is then placed within the masters' reach.
    #[serde(default, rename = "dma-trusted")]
    pub dma_trusted: bool,
}

fn default_console() -> bool {
    true
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Runs the controller-facing agent; exactly one VM has this role.
    Management,
    Workload,
}

/// What happens when a VM stops.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RestartPolicy {
    #[default]
    Never,
    Always,
    /// Only after a crash, not after a power-off.
    OnFailure,
}

/// A VM's RAM (`memory = { size = "512M", ... }`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryConfig {
    /// Bytes: an integer or a string such as `"64K"`, `"512M"`, `"1G"`.
    #[serde(deserialize_with = "size::deserialize")]
    pub size: u64,
    /// A fixed physical address; cordon picks one when absent.
    #[serde(default, deserialize_with = "size::deserialize_option")]
    pub address: Option<u64>,
    /// Guest-physical addresses equal physical ones (for a VM whose devices
    /// do DMA).
    #[serde(default)]
    pub identity: bool,
    /// The whole region lies below this physical address (`below = "1G"`).
    #[serde(default, deserialize_with = "size::deserialize_option")]
    pub below: Option<u64>,
}

/// What a VM boots (`[vm.image]`).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageConfig {
    pub kind: ImageKind,
    pub kernel: ModuleRef,
    #[serde(default)]
    pub initrd: Option<ModuleRef>,
    /// The kernel's command line.
    #[serde(default)]
    pub bootargs: String,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImageKind {
    /// An arm64 Linux `Image`, with an optional initrd and a device tree.
    Linux,
    /// A program with an arm64 Image header; it gets a device tree too.
    BareMetal,
}

/// A file that reaches cordon as a boot module. In TOML a path string, or
/// `{ file = "...", address = 0x... }`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct ModuleRef {
    /// The host path as written in the TOML file, relative to that file.
    pub file: String,
    /// Where the loader puts the module in RAM; the tools fill it in.
    pub address: Option<u64>,
}

impl<'de> Deserialize<'de> for ModuleRef {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        module_ref::deserialize(deserializer)
    }
}

/// Shared memory between two VMs (a `[[channel]]` table).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelConfig {
    /// Same rules as VM names; unique among channels.
    pub name: String,
    /// The two VMs that share it.
    pub vms: Vec<String>,
    /// Bytes, as for [`MemoryConfig::size`]; a multiple of 4 KiB.
    #[serde(deserialize_with = "size::deserialize")]
    pub size: u64,
}

impl Config {
    /// The VM called `name`.
    pub fn vm(&self, name: &str) -> Option<&VmConfig> {
        self.vms.iter().find(|vm| vm.name == name)
    }

    /// The management VM (the first, if the config is not valid).
    pub fn management(&self) -> Option<&VmConfig> {
        self.vms.iter().find(|vm| vm.role == Role::Management)
    }
}

impl ImageConfig {
    /// The kernel, then the initrd if there is one.
    pub fn modules(&self) -> impl Iterator<Item = &ModuleRef> {
        core::iter::once(&self.kernel).chain(&self.initrd)
    }

    /// [`Self::modules`], mutably (for the tools to fill in addresses).
    pub fn modules_mut(&mut self) -> impl Iterator<Item = &mut ModuleRef> {
        core::iter::once(&mut self.kernel).chain(&mut self.initrd)
    }
}
