//! The QEMU machine that boots a partition config: cordon's image with the
//! config embedded, and on `virt` each VM's boot modules where the config
//! placed them, as many CPUs as the config gives out, the management
//! VM's disk, a network card and a TPM when a VM is given one. `cargo xtask` sets it up for `run --config` and writes it to
//! a TOML file for the boot tests, which boot the very same machine.
//!
//! ```toml
//! board = "qemu-virt"
//! image = "/…/target/cordon/qemu-virt/configs/mgmt-and-workload/cordon.bin"
//! cpus = 3
//! memory_mib = 2048
//! disk = "/…/target/cordon/mgmt-vm/disk.img"
//!
//! [[vm]]
//! name = "rt"
//! bootargs = ""
//!
//! [vm.kernel]
//! file = "/…/target/cordon/guests/hostile.bin"
//! address = 1642070016
//! ```

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::machine::{Board, Machine, PlacedGuest};

/// The environment variables through which `cargo xtask test` passes the
/// boot tests a config's description file start with this.
const ENV_VAR_PREFIX: &str = "CORDON_CONFIG_MACHINE_";

/// One VM's boot modules, named as in the config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigVm {
    pub name: String,
    #[serde(flatten)]
    pub modules: PlacedGuest,
}

/// The machine that boots a partition config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigMachine {
    pub board: Board,
    /// cordon's image, built with the config embedded.
    pub image: PathBuf,
    /// The device tree the board's firmware would pass (rpi4).
    pub dtb: Option<PathBuf>,
    /// The machine's CPUs, unless the board's default.
    pub cpus: Option<u32>,
    /// The machine's RAM in MiB, unless the board's default.
    pub memory_mib: Option<u32>,
    /// The management VM's disk, if the config boots the management VM.
    pub disk: Option<PathBuf>,
    /// The management VM's storage, kept from boot to boot (see
    /// [`Machine::storage`]); the boot tests that need it make it.
    #[serde(default)]
    pub storage: Option<PathBuf>,
    /// A virtio-net card on user networking (see [`Machine::user_network`]),
    /// when a VM of the config is given its transport.
    #[serde(default)]
    pub network: bool,
    /// A TPM, when a VM of the config is given it: not part of
    /// [`ConfigMachine::machine`], since a swtpm must run behind it; whoever
    /// boots the machine starts one ([`crate::swtpm`]) and adds it with
    /// [`Machine::tpm`].
    #[serde(default)]
    pub tpm: bool,
    /// The VMs whose boot modules QEMU loads, in config order.
    #[serde(default, rename = "vm")]
    pub vms: Vec<ConfigVm>,
}

impl ConfigMachine {
    /// The QEMU machine this describes.
    pub fn machine(&self) -> Machine {
        let mut machine = Machine::for_board(self.board, &self.image, self.dtb.clone());
        if let Some(cpus) = self.cpus {
            machine = machine.cpus(cpus);
        }
        if let Some(mib) = self.memory_mib {
            machine = machine.memory_mib(mib);
        }
        for vm in &self.vms {
            machine = machine.placed_guest(vm.modules.clone());
        }
        if let Some(disk) = &self.disk {
            machine = machine.disk(disk);
        }
        if let Some(storage) = &self.storage {
            machine = machine.storage(storage);
        }
        if self.network {
            machine = machine.user_network();
        }
        machine
    }

    /// The VM named `name`, if QEMU loads its modules.
    pub fn vm(&self, name: &str) -> Option<&ConfigVm> {
        self.vms.iter().find(|vm| vm.name == name)
    }

    /// This description as a TOML file's text.
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string(self)
    }

    /// Reads a description from a TOML file's text.
    pub fn from_toml(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }
}

/// The environment variable that gives the boot tests the description of
/// the config whose file is `<name>.toml`: `CORDON_CONFIG_MACHINE_<NAME>`,
/// upper case, `_` for anything but letters and digits.
pub fn env_var(name: &str) -> String {
    format!("{ENV_VAR_PREFIX}{}", env_var_suffix(name))
}

/// `name` as the end of an environment variable's name: upper case, `_`
/// for anything but letters and digits.
pub fn env_var_suffix(name: &str) -> String {
    name.chars()
        .map(|c| match c.is_ascii_alphanumeric() {
            true => c.to_ascii_uppercase(),
            false => '_',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::PlacedFile;

    fn two_vms() -> ConfigMachine {
        ConfigMachine {
            board: Board::QemuVirt,
            image: "/t/configs/two/cordon.bin".into(),
            dtb: None,
            cpus: Some(3),
            memory_mib: Some(2048),
            disk: Some("/t/disk.img".into()),
            storage: Some("/t/storage.img".into()),
            network: true,
            tpm: true,
            vms: vec![
                ConfigVm {
                    name: "mgmt".to_owned(),
                    modules: PlacedGuest {
                        kernel: PlacedFile {
                            file: "/t/vmlinuz".into(),
                            address: 0x6000_0000,
                        },
                        initrd: Some(PlacedFile {
                            file: "/t/initramfs.cpio.gz".into(),
                            address: 0x61c0_0000,
                        }),
                        bootargs: "console=ttyAMA0 cordon.check".to_owned(),
                    },
                },
                ConfigVm {
                    name: "rt".to_owned(),
                    modules: PlacedGuest {
                        kernel: PlacedFile {
                            file: "/t/hostile.bin".into(),
                            address: 0x61e0_0000,
                        },
                        initrd: None,
                        bootargs: String::new(),
                    },
                },
            ],
        }
    }

    #[test]
    fn round_trips_through_toml() {
        let machine = two_vms();
        let text = machine.to_toml().unwrap();
        assert_eq!(ConfigMachine::from_toml(&text).unwrap(), machine);
        let rpi4 = ConfigMachine {
            board: Board::Rpi4,
            dtb: Some("/t/rpi4.dtb".into()),
            cpus: None,
            memory_mib: None,
            disk: None,
            storage: None,
            network: false,
            tpm: false,
            vms: Vec::new(),
            ..machine
        };
        let text = rpi4.to_toml().unwrap();
        assert_eq!(ConfigMachine::from_toml(&text).unwrap(), rpi4);
    }

    #[test]
    fn reads_what_a_person_would_write() {
        let text = r#"
            board = "qemu-virt"
            image = "cordon.bin"
            [[vm]]
            name = "rt"
            bootargs = ""
            kernel = { file = "rt.bin", address = 0x61e00000 }
        "#;
        let machine = ConfigMachine::from_toml(text).unwrap();
        assert_eq!(
            machine.vm("rt").unwrap().modules.kernel.address,
            0x61e0_0000
        );
        assert_eq!(machine.vm("mgmt"), None);
        assert!(ConfigMachine::from_toml("board = \"pi5\"\nimage = \"x\"").is_err());
    }

    #[test]
    fn boots_what_it_describes() {
        let expected = Machine::qemu_virt("/t/configs/two/cordon.bin")
            .cpus(3)
            .memory_mib(2048)
            .placed_guest(two_vms().vms[0].modules.clone())
            .placed_guest(two_vms().vms[1].modules.clone())
            .disk("/t/disk.img")
            .storage("/t/storage.img")
            .user_network();
        assert_eq!(two_vms().machine(), expected);
    }

    #[test]
    fn env_vars_are_named_after_the_config() {
        assert_eq!(
            env_var("mgmt-and-workload"),
            "CORDON_CONFIG_MACHINE_MGMT_AND_WORKLOAD"
        );
        assert_eq!(env_var("a.b2"), "CORDON_CONFIG_MACHINE_A_B2");
    }
}
