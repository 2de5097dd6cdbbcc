//! cordon's Linux management VM on QEMU `virt`: the machine that boots it
//! under cordon, the same kernel and initramfs booted directly for
//! comparison, and the marker lines its `/init` (`mgmt-vm/initramfs/init`)
//! prints.

use std::path::PathBuf;
use std::time::Duration;

use crate::expect::{Expect, Pattern};
use crate::machine::{GuestLoad, Machine};

/// The VM's vCPUs; the machine gets as many CPUs.
pub const CPUS: u32 = 2;
/// RAM of the machine in MiB (0x4000_0000-0xbfff_ffff).
pub const MEMORY_MIB: u32 = 2048;

/// The VM kernel's command line: its console and early console on the
/// PL011, and the initramfs's `/init`.
pub const BOOTARGS: &str = "console=ttyAMA0 earlycon=pl011,0x9000000 rdinit=/init";
/// On the VM's command line, makes `/init` check the VM and power off.
pub const CHECK_OPTION: &str = "cordon.check";
/// Kernel command-line option: reboot once, then check and power off.
pub const CHECK_RESTART_OPTION: &str = "cordon.check-restart";
/// Kernel command-line option: bring up the network and run the agent for
/// an EVE API controller; `cordon.agent=<device>` first unpacks the node's
/// provisioning from the newc cpio archive on that block device.
pub const AGENT_OPTION: &str = "cordon.agent";
/// Kernel command-line option, with [`AGENT_OPTION`]: `cordon.storage=<disk>`
/// is the node's storage (an ext4 file system, see
/// [`crate::storage_disk`]), which the agent keeps its state on.
pub const STORAGE_OPTION: &str = "cordon.storage";
/// Kernel command-line option: halt once `/init` runs (the x86 boot test,
/// where a halt with interrupts off is what cordon sees).
pub const HALT_OPTION: &str = "cordon.halt";

/// The lines `/init` prints, each starting with `cordon-mgmt-vm: `.
pub mod marker {
    /// `/init` runs: the kernel has booted.
    pub const INIT_STARTED: &str = "cordon-mgmt-vm: init started";
    /// Followed by `<ticks> ticks at <hz> Hz`: the virtual counter just after
    /// [`INIT_STARTED`] (printed by `mgmt-vm/vcounter`).
    pub const VIRTUAL_COUNTER: &str = "cordon-mgmt-vm: virtual counter ";
    /// Followed by the contents of `/sys/devices/system/cpu/online`.
    pub const CPUS_ONLINE: &str = "cordon-mgmt-vm: cpus online ";
    /// `/proc/interrupts` is printed between these two lines.
    pub const INTERRUPTS_BEGIN: &str = "cordon-mgmt-vm: /proc/interrupts begin";
    pub const INTERRUPTS_END: &str = "cordon-mgmt-vm: /proc/interrupts end";
    /// Followed by the text in the first sector of the VM's disk.
    pub const DISK_SAYS: &str = "cordon-mgmt-vm: disk says ";
    /// The text in the first sector of the SD card, when the VM owns an SD
    /// host controller.
    pub const SD_CARD_SAYS: &str = "cordon-mgmt-vm: sd card says ";
    /// The rate of a clock cordon kept for the VM's SD host controller, as
    /// Linux has it: `clock <name> at <rate> Hz`.
    pub const CLOCK: &str = "cordon-mgmt-vm: clock ";
    /// `/init` is about to power the VM off.
    pub const POWERING_OFF: &str = "cordon-mgmt-vm: powering off";
    /// Something `/init` did failed; the rest of the line says what.
    pub const FAILED: &str = "cordon-mgmt-vm: FAILED";
    /// Without [`super::CHECK_OPTION`]: the console shell is starting.
    pub const READY: &str = "cordon-mgmt-vm: ready";
    /// With `cordon.check`: around the output of `cordonctl info` and `list`.
    pub const CORDONCTL_BEGIN: &str = "cordon-mgmt-vm: cordonctl begin";
    pub const CORDONCTL_END: &str = "cordon-mgmt-vm: cordonctl end";
    /// With `cordon.check`: two cordonctl clients on two CPUs, 10 rounds,
    /// all answered.
    pub const CONCURRENT_REQUESTS: &str =
        "cordon-mgmt-vm: concurrent requests: 10 rounds, 0 failed";
    /// With `cordon.check-restart`: before the reboot, and after it.
    pub const RESTARTING: &str = "cordon-mgmt-vm: restarting";
    pub const SECOND_LIFE: &str = "cordon-mgmt-vm: second life";
    /// With `cordon.agent`: the network is up and the agent starts.
    pub const AGENT_STARTING: &str = "cordon-mgmt-vm: agent starting";
    /// With [`super::STORAGE_OPTION`]: the storage is mounted; the disk and
    /// the mount point follow.
    pub const STORAGE_MOUNTED: &str = "cordon-mgmt-vm: storage mounted: ";
    /// With [`super::HALT_OPTION`]: before `halt -f`.
    pub const HALTING: &str = "cordon-mgmt-vm: halting";
}

/// What Linux prints when it gives up.
const KERNEL_PANIC: &str = "Kernel panic";
/// In cordon's log lines at level ERROR (`[cpu0 ERROR] ...`).
const CORDON_ERROR: &str = "ERROR]";
/// In cordon's panic reports (`panic on cpu0 at ...`).
const CORDON_PANIC: &str = "panic on cpu";

/// Expects what `/init` prints with [`CHECK_OPTION`] within `deadline`, and
/// then QEMU to exit with status 0 by itself (the VM's poweroff ends the
/// machine); stops at the first failure that `/init`, Linux or cordon reports.
pub fn expect_checks(deadline: Duration) -> Expect {
    Expect::within(deadline)
        .line(marker::INIT_STARTED)
        .line(format!("smp: Brought up 1 node, {CPUS} CPUs").as_str())
        .line(marker::CPUS_ONLINE)
        .line(marker::INTERRUPTS_END)
        .line(marker::DISK_SAYS)
        .line(marker::POWERING_OFF)
        .forbid(marker::FAILED)
        .forbid(KERNEL_PANIC)
        .forbid(CORDON_ERROR)
        .forbid(CORDON_PANIC)
        .then_exit_successfully()
}

/// [`expect_checks`] for the VM under cordon: also `cordonctl info` and
/// `list`, answered by cordon through the management interface.
pub fn expect_checks_under_cordon(deadline: Duration) -> Expect {
    expect_checks(deadline)
        .line(marker::CORDONCTL_BEGIN)
        .line(Pattern::line_with(&["board", "qemu-virt"]))
        .line(Pattern::line_with(&["mgmt", "running", "management"]))
        .line(marker::CORDONCTL_END)
        .line(marker::CONCURRENT_REQUESTS)
}

/// The management VM's files, as `cargo xtask` prepares them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MgmtVm {
    /// A raw arm64 Linux `Image`.
    pub kernel: PathBuf,
    /// A gzip-compressed newc cpio archive with `/init`.
    pub initramfs: PathBuf,
    /// A raw disk image (see [`crate::test_disk`]).
    pub disk: PathBuf,
}

impl MgmtVm {
    /// cordon's `image` on `virt`, with this VM's kernel and initramfs put into
    /// RAM for cordon to boot with `bootargs`, and the VM's disk on virtio-mmio.
    pub fn under_cordon(&self, image: impl Into<PathBuf>, bootargs: &str) -> Machine {
        self.machine(Machine::qemu_virt(image).guest(GuestLoad {
            kernel: self.kernel.clone(),
            initrd: self.initramfs.clone(),
            bootargs: bootargs.to_owned(),
        }))
    }

    /// The same kernel, initramfs and disk booted by QEMU directly, with no
    /// hypervisor: Linux entered at EL1.
    pub fn native(&self, bootargs: &str) -> Machine {
        self.machine(
            Machine::qemu_virt(&self.kernel)
                .without_el2()
                .initrd(&self.initramfs)
                .append(bootargs),
        )
    }

    fn machine(&self, machine: Machine) -> Machine {
        machine.cpus(CPUS).memory_mib(MEMORY_MIB).disk(&self.disk)
    }
}

/// [`BOOTARGS`] followed by `extra` options.
pub fn bootargs<'a>(extra: impl IntoIterator<Item = &'a str>) -> String {
    std::iter::once(BOOTARGS)
        .chain(extra)
        .filter(|words| !words.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The text after `marker` on the first line that has it, trimmed.
pub fn value_after<'a>(lines: impl IntoIterator<Item = &'a str>, marker: &str) -> Option<&'a str> {
    lines
        .into_iter()
        .find_map(|line| line.split_once(marker))
        .map(|(_, rest)| rest.trim())
}

/// The lines after the first line with `begin`, up to the next line with
/// `end`. Where a line starts with the text that preceded `begin` on its line
/// (a tag a hypervisor puts before each line of the VM's console, such as
/// `[mgmt] `), that text is taken off.
pub fn section<'a>(
    lines: impl IntoIterator<Item = &'a str>,
    begin: &str,
    end: &str,
) -> Vec<&'a str> {
    let mut lines = lines.into_iter();
    let Some(tag) = lines
        .by_ref()
        .find_map(|line| line.split_once(begin).map(|(tag, _)| tag))
    else {
        return Vec::new();
    };
    lines
        .take_while(|line| !line.contains(end))
        .map(|line| line.strip_prefix(tag).unwrap_or(line))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn vm() -> MgmtVm {
        MgmtVm {
            kernel: "vmlinuz".into(),
            initramfs: "initramfs.cpio.gz".into(),
            disk: "disk.img".into(),
        }
    }

    fn args(machine: &Machine) -> Vec<String> {
        machine
            .args()
            .unwrap()
            .into_iter()
            .map(|arg| arg.into_string().unwrap())
            .collect()
    }

    #[test]
    fn under_cordon_and_native_share_cpus_memory_and_disk() {
        let under_cordon = args(&vm().under_cordon("cordon.bin", BOOTARGS));
        let native = args(&vm().native(BOOTARGS));
        for args in [&under_cordon, &native] {
            for (flag, value) in [("-smp", "2"), ("-m", "2G")] {
                assert!(
                    args.windows(2).any(|pair| pair == [flag, value]),
                    "{args:?}"
                );
            }
            assert!(args.iter().any(|arg| arg.starts_with("file=disk.img,")));
        }
        assert!(under_cordon.contains(&"virt,virtualization=on,gic-version=2".to_owned()));
        assert!(native.contains(&"virt,gic-version=2".to_owned()));
        assert!(native.contains(&"-initrd".to_owned()));
    }

    #[test]
    fn bootargs_adds_options() {
        assert_eq!(bootargs([]), BOOTARGS);
        assert_eq!(
            bootargs([CHECK_OPTION, " ", "quiet"]),
            format!("{BOOTARGS} cordon.check quiet")
        );
    }

    #[test]
    fn value_after_finds_the_first_marked_line() {
        let lines = [
            "[    2.1] smp: Brought up 1 node, 2 CPUs",
            "cordon-mgmt-vm: cpus online 0-1 ",
            "cordon-mgmt-vm: cpus online 0",
        ];
        assert_eq!(value_after(lines, marker::CPUS_ONLINE), Some("0-1"));
        assert_eq!(value_after(lines, marker::DISK_SAYS), None);
    }

    #[test]
    fn section_takes_the_lines_between_markers_without_their_tag() {
        let lines = [
            "[    1.0] Run /init as init process",
            "[mgmt] cordon-mgmt-vm: /proc/interrupts begin",
            "[mgmt]            CPU0       CPU1",
            "[cpu0 INFO ] not the VM's",
            "[mgmt] IPI0:         1          2       Rescheduling interrupts",
            "[mgmt] cordon-mgmt-vm: /proc/interrupts end",
            "[mgmt] after",
        ];
        assert_eq!(
            section(lines, marker::INTERRUPTS_BEGIN, marker::INTERRUPTS_END),
            [
                "           CPU0       CPU1",
                "[cpu0 INFO ] not the VM's",
                "IPI0:         1          2       Rescheduling interrupts",
            ]
        );
        let untagged = ["cordon-mgmt-vm: /proc/interrupts begin", "a", "b"];
        assert_eq!(
            section(untagged, marker::INTERRUPTS_BEGIN, marker::INTERRUPTS_END),
            ["a", "b"]
        );
        assert!(section(["x"], marker::INTERRUPTS_BEGIN, marker::INTERRUPTS_END).is_empty());
    }

    /// Every marker is printed by `/init` (or, for the virtual counter, by the
    /// program it runs), so a changed script cannot silently break the tests.
    #[test]
    fn init_prints_every_marker() {
        let mgmt_vm = Path::new(env!("CARGO_MANIFEST_DIR")).join("../mgmt-vm");
        let init = std::fs::read_to_string(mgmt_vm.join("initramfs/init")).unwrap();
        let vcounter = std::fs::read_to_string(mgmt_vm.join("vcounter/src/main.rs")).unwrap();
        let prefix = "cordon-mgmt-vm: ";
        assert!(init.contains(&format!("echo \"{prefix}$*\"")));
        for marker in [
            marker::INIT_STARTED,
            marker::CPUS_ONLINE,
            marker::INTERRUPTS_BEGIN,
            marker::INTERRUPTS_END,
            marker::CORDONCTL_BEGIN,
            marker::CORDONCTL_END,
            marker::DISK_SAYS,
            marker::POWERING_OFF,
            marker::FAILED,
            marker::READY,
            marker::AGENT_STARTING,
            marker::STORAGE_MOUNTED,
            marker::HALTING,
        ] {
            let said = format!("say \"{}", marker.strip_prefix(prefix).unwrap());
            assert!(init.contains(&said), "/init never prints {marker:?}");
        }
        assert!(vcounter.contains(marker::VIRTUAL_COUNTER));
        assert!(init.contains(CHECK_OPTION));
        assert!(init.contains(&format!("option {AGENT_OPTION}")));
        assert!(init.contains(&format!("option {STORAGE_OPTION}")));
        assert!(init.contains(HALT_OPTION));
    }
}
