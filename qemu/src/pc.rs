//! PC machines that boot cordon's GRUB ISO (the x86-pc board): QEMU's `pc`
//! machine under TCG, fast but without VMX, and Bochs, slow but with VT-x,
//! EPT, VPID and unrestricted guests (`corei7_skylake_x`).

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The QEMU binary for PC machines.
pub const QEMU_X86_BINARY: &str = "qemu-system-x86_64";
/// Bochs (Debian's wrapper script around `bochs-bin`).
pub const BOCHS_BINARY: &str = "bochs";
/// The CPU model Bochs emulates: the first of its models with EPT,
/// unrestricted guest and VPID.
const BOCHS_CPU_MODEL: &str = "corei7_skylake_x";
/// Instructions per emulated second: Bochs's clock with `sync=none`.
const BOCHS_IPS: u32 = 50_000_000;
/// Where Debian's `bochsbios` and `vgabios` packages put the firmware.
const BOCHS_BIOS: &str = "/usr/share/bochs/BIOS-bochs-latest";
const BOCHS_VGA_BIOS: &str = "/usr/share/vgabios/vgabios.bin";
/// The debugger command that starts the emulation: Bochs stops in its
/// debugger at reset otherwise.
const BOCHS_CONTINUE: &str = "c\n";
/// RAM of either machine, in MiB.
pub const PC_MEMORY_MIB: u32 = 256;
/// CPUs unless told otherwise.
pub const PC_DEFAULT_CPUS: u32 = 2;
/// The variable through which the boot tests find the ISO `cargo xtask
/// test` built for an x86-pc example config.
const CONFIG_ISO_VAR_PREFIX: &str = "CORDON_ISO_X86_PC_CONFIG_";

/// The variable that names the ISO of the x86-pc example config `name`
/// (its file's name without `.toml`).
pub fn config_iso_var(name: &str) -> String {
    format!(
        "{CONFIG_ISO_VAR_PREFIX}{}",
        crate::config_machine::env_var_suffix(name)
    )
}

/// Which emulator runs the PC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emulator {
    /// QEMU's `pc` machine under TCG: no VMX.
    QemuTcg,
    /// Bochs with VT-x.
    Bochs,
}

/// One boot of a GRUB ISO on a PC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcMachine {
    iso: PathBuf,
    emulator: Emulator,
    cpus: u32,
}

impl PcMachine {
    /// Boots `iso` under `emulator`, its serial port (COM1) on stdout.
    pub fn new(emulator: Emulator, iso: impl Into<PathBuf>) -> Self {
        Self {
            iso: iso.into(),
            emulator,
            cpus: PC_DEFAULT_CPUS,
        }
    }

    /// Boot with `cpus` CPUs.
    pub fn cpus(mut self, cpus: u32) -> Self {
        self.cpus = cpus;
        self
    }

    /// The ISO the machine boots.
    pub fn iso(&self) -> &Path {
        &self.iso
    }

    /// The command that boots the machine. Bochs reads its configuration
    /// from files, which this writes beside the ISO.
    pub fn command(&self) -> io::Result<Command> {
        match self.emulator {
            Emulator::QemuTcg => {
                let mut command = Command::new(QEMU_X86_BINARY);
                command.args(self.qemu_args());
                Ok(command)
            }
            Emulator::Bochs => {
                let config = self.iso.with_extension(format!("{}cpu.bochsrc", self.cpus));
                fs::write(&config, self.bochsrc())?;
                let commands = self.iso.with_extension("bochs-commands");
                fs::write(&commands, BOCHS_CONTINUE)?;
                let mut command = Command::new(BOCHS_BINARY);
                command
                    .arg("-q")
                    .arg("-f")
                    .arg(config)
                    .arg("-rc")
                    .arg(commands);
                Ok(command)
            }
        }
    }

    fn qemu_args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = [
            "-M",
            "pc",
            "-accel",
            "tcg",
            "-m",
            &PC_MEMORY_MIB.to_string(),
            "-smp",
            &self.cpus.to_string(),
            "-display",
            "none",
            "-nic",
            "none",
            "-serial",
            "stdio",
            "-monitor",
            "none",
            "-cdrom",
        ]
        .map(OsString::from)
        .to_vec();
        args.push(self.iso.clone().into_os_string());
        args
    }

    /// The Bochs configuration: headless (VNC display that never waits),
    /// COM1 to stdout, no sound (Debian's Bochs crashes in its mixer
    /// without a sound card), the clock following emulated instructions.
    fn bochsrc(&self) -> String {
        format!(
            "megs: {PC_MEMORY_MIB}\n\
             cpu: model={BOCHS_CPU_MODEL}, count={cpus}, ips={BOCHS_IPS}\n\
             romimage: file={BOCHS_BIOS}\n\
             vgaromimage: file={BOCHS_VGA_BIOS}\n\
             ata0-master: type=cdrom, path=\"{iso}\", status=inserted\n\
             boot: cdrom\n\
             display_library: rfb, options=\"timeout=0\"\n\
             com1: enabled=1, mode=file, dev=/dev/stdout\n\
             clock: sync=none\n\
             sound: driver=dummy\n\
             log: /dev/null\n",
            cpus = self.cpus,
            iso = self.iso.display(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qemu_boots_the_iso_with_serial_on_stdout() {
        let machine = PcMachine::new(Emulator::QemuTcg, "/out/cordon.iso").cpus(4);
        let args: Vec<String> = machine
            .qemu_args()
            .into_iter()
            .map(|arg| arg.into_string().unwrap())
            .collect();
        let line = args.join(" ");
        assert!(line.contains("-smp 4"), "{line}");
        assert!(line.contains("-serial stdio"), "{line}");
        assert!(line.ends_with("-cdrom /out/cordon.iso"), "{line}");
    }

    #[test]
    fn a_config_iso_is_named_by_its_config() {
        assert_eq!(
            config_iso_var("mgmt-and-heartbeat"),
            "CORDON_ISO_X86_PC_CONFIG_MGMT_AND_HEARTBEAT"
        );
    }

    #[test]
    fn bochs_has_vmx_cpus_and_serial_on_stdout() {
        let rc = PcMachine::new(Emulator::Bochs, "/out/cordon.iso").bochsrc();
        assert!(rc.contains("cpu: model=corei7_skylake_x, count=2,"), "{rc}");
        assert!(rc.contains("path=\"/out/cordon.iso\""), "{rc}");
        assert!(
            rc.contains("com1: enabled=1, mode=file, dev=/dev/stdout\n"),
            "{rc}"
        );
        assert!(rc.contains("sound: driver=dummy\n"), "{rc}");
    }
}
