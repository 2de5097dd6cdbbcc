//! QEMU machine definitions for cordon's boards: which `qemu-system-aarch64`
//! arguments boot a cordon image on QEMU's `virt` and `raspi4b` machines.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::process::Command;
use std::str::FromStr;

/// The QEMU binary for every board.
pub const QEMU_BINARY: &str = "qemu-system-aarch64";

/// CPUs of a `virt` machine unless told otherwise.
const VIRT_DEFAULT_CPUS: u32 = 4;
/// `virt` with GICv2 supports at most this many CPUs.
const VIRT_GICV2_MAX_CPUS: u32 = 8;
/// RAM of the `virt` machine, in QEMU's `-m` syntax.
const VIRT_MEMORY: &str = "1G";
/// The CPU model of the `virt` machine.
const VIRT_CPU: &str = "cortex-a72";

/// `raspi4b` always has exactly this many CPUs.
const RPI4_CPUS: u32 = 4;
/// RAM of the `raspi4b` machine; QEMU accepts only this size.
const RPI4_MEMORY: &str = "2G";

/// The chardev id that multiplexes the serial ports onto stdio.
const CONSOLE_CHARDEV: &str = "con";

/// A board that cordon supports, named as on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Board {
    /// QEMU's `virt` machine.
    QemuVirt,
    /// Raspberry Pi 4 Model B, as QEMU's `raspi4b` machine.
    Rpi4,
}

impl Board {
    /// Every board, in the order they are built and tested.
    pub const ALL: [Board; 2] = [Board::QemuVirt, Board::Rpi4];

    /// The board's name, as cordon's banner and the command line spell it.
    pub fn name(self) -> &'static str {
        match self {
            Board::QemuVirt => "qemu-virt",
            Board::Rpi4 => "rpi4",
        }
    }
}

impl fmt::Display for Board {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A board name that is not one of [`Board::ALL`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownBoard(pub String);

impl fmt::Display for UnknownBoard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let known: Vec<&str> = Board::ALL.iter().map(|board| board.name()).collect();
        write!(
            f,
            "unknown board `{}` (known boards: {})",
            self.0,
            known.join(", ")
        )
    }
}

impl std::error::Error for UnknownBoard {}

impl FromStr for Board {
    type Err = UnknownBoard;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Board::ALL
            .into_iter()
            .find(|board| board.name() == name)
            .ok_or_else(|| UnknownBoard(name.to_owned()))
    }
}

/// Where the serial console goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Console {
    /// Serial ports and the QEMU monitor share the terminal: Ctrl-A X quits,
    /// Ctrl-A C switches to the monitor.
    Interactive,
    /// Serial output to stdout only, no monitor: for pipes and tests.
    Captured,
}

/// A machine configuration that cannot be booted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MachineError {
    /// `raspi4b` has a fixed number of CPUs.
    Rpi4FixedCpus { requested: u32 },
    /// `virt` needs between one and [`VIRT_GICV2_MAX_CPUS`] CPUs.
    VirtCpuCount { requested: u32 },
    /// `raspi4b` always enters an Image at EL2; it has no switch to turn that off.
    Rpi4AlwaysEl2,
    /// `raspi4b` needs a device tree.
    Rpi4NeedsDtb,
}

impl fmt::Display for MachineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MachineError::Rpi4FixedCpus { requested } => write!(
                f,
                "QEMU's raspi4b always has {RPI4_CPUS} CPUs; --smp {requested} is not possible \
                 (leave --smp out, or pass --smp {RPI4_CPUS})"
            ),
            MachineError::VirtCpuCount { requested } => write!(
                f,
                "--smp {requested} is out of range: QEMU's virt machine with GICv2 takes \
                 1 to {VIRT_GICV2_MAX_CPUS} CPUs"
            ),
            MachineError::Rpi4AlwaysEl2 => f.write_str(
                "QEMU's raspi4b always enters the image at EL2; --no-el2 only applies to qemu-virt",
            ),
            MachineError::Rpi4NeedsDtb => f.write_str("the rpi4 board needs a device tree (DTB)"),
        }
    }
}

impl std::error::Error for MachineError {}

/// One QEMU run of a cordon image on a board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    board: Board,
    image: PathBuf,
    dtb: Option<PathBuf>,
    cpus: Option<u32>,
    el2: bool,
    append: Option<String>,
    console: Console,
}

impl Machine {
    /// QEMU's `virt` machine booting `image` (a raw arm64 Image).
    pub fn qemu_virt(image: impl Into<PathBuf>) -> Self {
        Self::new(Board::QemuVirt, image.into(), None)
    }

    /// QEMU's `raspi4b` machine booting `image` with the device tree `dtb`.
    pub fn rpi4(image: impl Into<PathBuf>, dtb: impl Into<PathBuf>) -> Self {
        Self::new(Board::Rpi4, image.into(), Some(dtb.into()))
    }

    /// The machine for `board`; `dtb` is needed for [`Board::Rpi4`] only.
    pub fn for_board(board: Board, image: impl Into<PathBuf>, dtb: Option<PathBuf>) -> Self {
        Self::new(board, image.into(), dtb)
    }

    fn new(board: Board, image: PathBuf, dtb: Option<PathBuf>) -> Self {
        Self {
            board,
            image,
            dtb,
            cpus: None,
            el2: true,
            append: None,
            console: Console::Captured,
        }
    }

    /// The board this machine emulates.
    pub fn board(&self) -> Board {
        self.board
    }

    /// The image QEMU loads.
    pub fn image(&self) -> &std::path::Path {
        &self.image
    }

    /// Boot with `cpus` CPUs.
    pub fn cpus(mut self, cpus: u32) -> Self {
        self.cpus = Some(cpus);
        self
    }

    /// Enter the image at EL1 instead of EL2 (`virt` without `virtualization=on`).
    pub fn without_el2(mut self) -> Self {
        self.el2 = false;
        self
    }

    /// Kernel command line; QEMU puts it into the DTB's `/chosen/bootargs`.
    pub fn append(mut self, command_line: impl Into<String>) -> Self {
        self.append = Some(command_line.into());
        self
    }

    /// Where the serial console goes; [`Console::Captured`] unless told otherwise.
    pub fn console(mut self, console: Console) -> Self {
        self.console = console;
        self
    }

    /// The `qemu-system-aarch64` arguments for this machine.
    pub fn args(&self) -> Result<Vec<OsString>, MachineError> {
        let mut args = Args::default();
        match self.board {
            Board::QemuVirt => self.virt_args(&mut args)?,
            Board::Rpi4 => self.rpi4_args(&mut args)?,
        }
        args.push("-display").push("none");
        // No network card: cordon has no driver for one, and QEMU's default
        // card on `virt` needs an option ROM that a minimal install lacks.
        args.push("-nic").push("none");
        args.push("-kernel").push(&self.image);
        if let Some(append) = &self.append {
            args.push("-append").push(append);
        }
        Ok(args.0)
    }

    /// A [`Command`] that runs QEMU with [`Machine::args`].
    pub fn command(&self) -> Result<Command, MachineError> {
        let mut command = Command::new(QEMU_BINARY);
        command.args(self.args()?);
        Ok(command)
    }

    fn virt_args(&self, args: &mut Args) -> Result<(), MachineError> {
        let cpus = self.cpus.unwrap_or(VIRT_DEFAULT_CPUS);
        if !(1..=VIRT_GICV2_MAX_CPUS).contains(&cpus) {
            return Err(MachineError::VirtCpuCount { requested: cpus });
        }
        let virtualization = if self.el2 { ",virtualization=on" } else { "" };
        args.push("-M")
            .push(format!("virt{virtualization},gic-version=2"));
        args.push("-cpu").push(VIRT_CPU);
        args.push("-smp").push(cpus.to_string());
        args.push("-m").push(VIRT_MEMORY);
        match self.console {
            Console::Interactive => args.push("-serial").push("mon:stdio"),
            Console::Captured => args
                .push("-serial")
                .push("stdio")
                .push("-monitor")
                .push("none"),
        };
        Ok(())
    }

    fn rpi4_args(&self, args: &mut Args) -> Result<(), MachineError> {
        if let Some(cpus) = self.cpus.filter(|&cpus| cpus != RPI4_CPUS) {
            return Err(MachineError::Rpi4FixedCpus { requested: cpus });
        }
        if !self.el2 {
            return Err(MachineError::Rpi4AlwaysEl2);
        }
        let dtb = self.dtb.as_ref().ok_or(MachineError::Rpi4NeedsDtb)?;
        args.push("-M").push("raspi4b");
        args.push("-m").push(RPI4_MEMORY);
        args.push("-smp").push(RPI4_CPUS.to_string());
        // Multi-threaded TCG makes CPUs spinning on the spin-table starve the
        // others on small hosts; one thread boots in seconds.
        args.push("-accel").push("tcg,thread=single");
        args.push("-dtb").push(dtb);
        // serial0 is the PL011, serial1 the mini-UART: both go to stdout.
        args.push("-chardev")
            .push(format!("stdio,id={CONSOLE_CHARDEV},mux=on"));
        let serial = format!("chardev:{CONSOLE_CHARDEV}");
        args.push("-serial").push(&serial);
        args.push("-serial").push(&serial);
        match self.console {
            Console::Interactive => args.push("-mon").push(format!("chardev={CONSOLE_CHARDEV}")),
            Console::Captured => args.push("-monitor").push("none"),
        };
        Ok(())
    }
}

/// An argument list under construction.
#[derive(Default)]
struct Args(Vec<OsString>);

impl Args {
    fn push(&mut self, arg: impl Into<OsString>) -> &mut Self {
        self.0.push(arg.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(machine: &Machine) -> Vec<String> {
        machine
            .args()
            .expect("valid machine")
            .into_iter()
            .map(|arg| arg.into_string().expect("UTF-8 argument"))
            .collect()
    }

    /// Whether `flag` is directly followed by `value` in `args`.
    fn has(args: &[String], flag: &str, value: &str) -> bool {
        args.windows(2)
            .any(|pair| pair[0] == flag && pair[1] == value)
    }

    #[test]
    fn virt_defaults_to_four_cpus_at_el2() {
        let args = args(&Machine::qemu_virt("cordon.bin"));
        assert!(has(&args, "-M", "virt,virtualization=on,gic-version=2"));
        assert!(has(&args, "-cpu", "cortex-a72"));
        assert!(has(&args, "-smp", "4"));
        assert!(has(&args, "-m", "1G"));
        assert!(has(&args, "-display", "none"));
        assert!(has(&args, "-nic", "none"));
        assert!(has(&args, "-kernel", "cordon.bin"));
        assert!(!args.iter().any(|arg| arg == "-append"));
    }

    #[test]
    fn virt_captured_console_has_no_monitor() {
        let args = args(&Machine::qemu_virt("cordon.bin"));
        assert!(has(&args, "-serial", "stdio"));
        assert!(has(&args, "-monitor", "none"));
    }

    #[test]
    fn virt_interactive_console_muxes_the_monitor() {
        let args = args(&Machine::qemu_virt("cordon.bin").console(Console::Interactive));
        assert!(has(&args, "-serial", "mon:stdio"));
        assert!(!args.iter().any(|arg| arg == "-monitor"));
    }

    #[test]
    fn virt_without_el2_drops_virtualization() {
        let args = args(&Machine::qemu_virt("cordon.bin").without_el2().cpus(1));
        assert!(has(&args, "-M", "virt,gic-version=2"));
        assert!(has(&args, "-smp", "1"));
    }

    #[test]
    fn append_becomes_the_kernel_command_line() {
        let machine = Machine::qemu_virt("cordon.bin").append("cordon.selftest=fault");
        assert!(has(&args(&machine), "-append", "cordon.selftest=fault"));
    }

    #[test]
    fn virt_rejects_cpu_counts_gicv2_cannot_route() {
        for cpus in [0, VIRT_GICV2_MAX_CPUS + 1] {
            assert_eq!(
                Machine::qemu_virt("cordon.bin").cpus(cpus).args(),
                Err(MachineError::VirtCpuCount { requested: cpus })
            );
        }
    }

    #[test]
    fn rpi4_routes_both_uarts_to_one_console() {
        let args = args(&Machine::rpi4("cordon.bin", "rpi4.dtb"));
        assert!(has(&args, "-M", "raspi4b"));
        assert!(has(&args, "-m", "2G"));
        assert!(has(&args, "-smp", "4"));
        assert!(has(&args, "-accel", "tcg,thread=single"));
        assert!(has(&args, "-dtb", "rpi4.dtb"));
        assert!(has(&args, "-chardev", "stdio,id=con,mux=on"));
        let serials = args
            .windows(2)
            .filter(|pair| pair[0] == "-serial" && pair[1] == "chardev:con")
            .count();
        assert_eq!(serials, 2);
        assert!(has(&args, "-monitor", "none"));
    }

    #[test]
    fn rpi4_interactive_console_adds_the_monitor_to_the_mux() {
        let machine = Machine::rpi4("cordon.bin", "rpi4.dtb").console(Console::Interactive);
        let args = args(&machine);
        assert!(has(&args, "-mon", "chardev=con"));
        assert!(!args.iter().any(|arg| arg == "-monitor"));
    }

    #[test]
    fn rpi4_accepts_only_its_fixed_cpu_count() {
        assert!(
            Machine::rpi4("cordon.bin", "rpi4.dtb")
                .cpus(4)
                .args()
                .is_ok()
        );
        assert_eq!(
            Machine::rpi4("cordon.bin", "rpi4.dtb").cpus(2).args(),
            Err(MachineError::Rpi4FixedCpus { requested: 2 })
        );
    }

    #[test]
    fn rpi4_rejects_no_el2_and_missing_dtb() {
        assert_eq!(
            Machine::rpi4("cordon.bin", "rpi4.dtb").without_el2().args(),
            Err(MachineError::Rpi4AlwaysEl2)
        );
        assert_eq!(
            Machine::for_board(Board::Rpi4, "cordon.bin", None).args(),
            Err(MachineError::Rpi4NeedsDtb)
        );
    }

    #[test]
    fn board_names_round_trip() {
        for board in Board::ALL {
            assert_eq!(board.name().parse(), Ok(board));
        }
        assert_eq!("pi5".parse::<Board>(), Err(UnknownBoard("pi5".to_owned())));
    }
}
