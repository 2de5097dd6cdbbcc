//! QEMU machine definitions for cordon's boards: which `qemu-system-aarch64`
//! arguments boot a cordon image on QEMU's `virt` and `raspi4b` machines,
//! with what cordon is to run (a guest's kernel and initramfs, a disk, a
//! network card), or a Linux kernel directly, for comparison.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where [`Machine::at_el3`] puts the image: 2 MiB into `virt`'s RAM.
pub const FIRMWARE_LOAD_ADDR: u64 = 0x4020_0000;

/// The QEMU binary for every board.
pub const QEMU_BINARY: &str = "qemu-system-aarch64";

/// CPUs of a `virt` machine unless told otherwise.
const VIRT_DEFAULT_CPUS: u32 = 4;
/// `virt` with GICv2 supports at most this many CPUs.
pub const VIRT_GICV2_MAX_CPUS: u32 = 8;
/// RAM of the `virt` machine unless told otherwise, in MiB.
const VIRT_DEFAULT_MEMORY_MIB: u32 = 1024;
/// The CPU model of the `virt` machine.
const VIRT_CPU: &str = "cortex-a72";

/// `raspi4b` always has exactly this many CPUs.
const RPI4_CPUS: u32 = 4;
/// RAM of the `raspi4b` machine in MiB; QEMU accepts only this size.
const RPI4_MEMORY_MIB: u32 = 2048;
/// MiB in a GiB, for QEMU's `-m` sizes.
const MIB_PER_GIB: u32 = 1024;

/// Where QEMU's `guest-loader` puts a guest's kernel in a `virt` machine's
/// RAM (0x4000_0000 onwards), clear of cordon, which QEMU loads at the start
/// of RAM, and of the device tree QEMU puts after it.
pub const GUEST_KERNEL_ADDR: u64 = 0x6000_0000;
/// Where the guest's initrd goes: 64 MiB above the kernel, room for its
/// image and the memory it zeroes after the image.
pub const GUEST_INITRD_ADDR: u64 = 0x6400_0000;

/// How QEMU counts instructions with `-icount`: each one takes 2^0 ns of
/// virtual time, and when every CPU idles, virtual time jumps to the next
/// timer instead of following the host clock. The guest's clocks then tell
/// instructions executed, the same from run to run, whatever the host does.
const ICOUNT: &str = "shift=0,sleep=off";
/// Leaves the random seeds (`rng-seed`, `kaslr-seed`) out of the `virt`
/// device tree, so that Linux does not lay itself out differently each boot.
const NO_DTB_RANDOMNESS: &str = ",dtb-randomness=off";

/// The chardev id that multiplexes the serial ports onto stdio.
const CONSOLE_CHARDEV: &str = "con";
/// The id that ties the disk's `-drive` to its `-device`.
const DISK_ID: &str = "disk0";
/// The id that ties the storage disk's `-drive` to its `-device`.
const STORAGE_ID: &str = "storage0";
/// The `virt` virtio-mmio transport the management VM's storage disk is
/// plugged into: transport 29 of 0-31, below the network card's.
const VIRT_STORAGE_BUS: &str = "virtio-mmio-bus.29";
/// That transport's node in `virt`'s device tree, for partition configs
/// that give a VM the storage disk.
pub const VIRT_STORAGE_TRANSPORT: &str = "/virtio_mmio@a003a00";
/// The id that ties the network's `-netdev` to its `-device`.
const NETWORK_ID: &str = "net0";
/// The `virt` virtio-mmio transport the network card is plugged into:
/// transport 30 of 0-31 (QEMU plugs the first `-device virtio-*-device`
/// without a bus, the disk, into the highest).
const VIRT_NIC_BUS: &str = "virtio-mmio-bus.30";
/// That transport's node in `virt`'s device tree, for partition configs
/// that pass the network card through.
pub const VIRT_NIC_TRANSPORT: &str = "/virtio_mmio@a003c00";
/// The ids that tie the TPM's `-chardev`, `-tpmdev` and `-device`.
const TPM_CHARDEV_ID: &str = "chrtpm";
const TPM_ID: &str = "tpm0";
/// Where `virt` describes its TPM (`tpm-tis-device`, the first device on
/// its platform bus at 0xc000000): what configs name to pass it through.
pub const VIRT_TPM_DEVICE: &str = "/platform-bus@c000000/tpm_tis@0";

/// A board that cordon supports, named as on the command line (and so in
/// files: see the `board_names_round_trip` test).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Board {
    /// QEMU's `virt` machine.
    QemuVirt,
    /// Raspberry Pi 4 Model B, as QEMU's `raspi4b` machine.
    Rpi4,
    /// An x86-64 PC with VT-x, booted from a GRUB ISO: Bochs, or QEMU's
    /// `pc` without VMX (see [`crate::pc`]).
    X86Pc,
}

impl Board {
    /// Every board, in the order they are built and tested.
    pub const ALL: [Board; 3] = [Board::QemuVirt, Board::Rpi4, Board::X86Pc];

    /// The board's name, as cordon's banner and the command line spell it.
    pub fn name(self) -> &'static str {
        match self {
            Board::QemuVirt => "qemu-virt",
            Board::Rpi4 => "rpi4",
            Board::X86Pc => "x86-pc",
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
    /// `raspi4b` has a fixed amount of RAM.
    Rpi4FixedMemory { requested_mib: u32 },
    /// This setup (a guest, an initrd, a disk) is only made for `virt`.
    VirtOnly { what: &'static str },
    /// The board boots from an ISO on a PC machine, not from an Image.
    PcBoard,
    /// `virt` has no SD card slot; a card image goes in as a virtio disk.
    VirtHasNoSdSlot,
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
            MachineError::Rpi4FixedMemory { requested_mib } => write!(
                f,
                "QEMU's raspi4b always has {RPI4_MEMORY_MIB} MiB of RAM, not {requested_mib} MiB"
            ),
            MachineError::VirtOnly { what } => {
                write!(f, "{what} is only set up for the qemu-virt board")
            }
            MachineError::PcBoard => f.write_str(
                "the x86-pc board boots from a GRUB ISO on a PC machine (cordon_qemu::pc), \
                 not under qemu-system-aarch64",
            ),
            MachineError::VirtHasNoSdSlot => f.write_str(
                "QEMU's virt machine has no SD card slot; give it the card image as a virtio disk",
            ),
        }
    }
}

impl std::error::Error for MachineError {}

/// A Linux kernel and initramfs that QEMU's `guest-loader` device puts into
/// RAM and describes in the device tree (`/chosen/module@<address>` nodes),
/// for cordon to boot as a VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestLoad {
    /// A raw arm64 Linux `Image`, placed at [`GUEST_KERNEL_ADDR`].
    pub kernel: PathBuf,
    /// The initramfs, placed at [`GUEST_INITRD_ADDR`].
    pub initrd: PathBuf,
    /// The guest kernel's command line.
    pub bootargs: String,
}

impl From<GuestLoad> for PlacedGuest {
    fn from(guest: GuestLoad) -> Self {
        PlacedGuest {
            kernel: PlacedFile {
                file: guest.kernel,
                address: GUEST_KERNEL_ADDR,
            },
            initrd: Some(PlacedFile {
                file: guest.initrd,
                address: GUEST_INITRD_ADDR,
            }),
            bootargs: guest.bootargs,
        }
    }
}

/// A file that QEMU's `guest-loader` puts into RAM at `address`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlacedFile {
    pub file: PathBuf,
    pub address: u64,
}

/// One VM's boot modules at addresses of the caller's choosing (a
/// partition config places them), described in the device tree as
/// `/chosen/module@<address>` nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlacedGuest {
    /// The kernel (or bare-metal image), a `multiboot,kernel` module.
    pub kernel: PlacedFile,
    /// The initrd, a `multiboot,ramdisk` module.
    pub initrd: Option<PlacedFile>,
    /// The kernel module's command line.
    pub bootargs: String,
}

/// One QEMU run of a cordon image (or of a Linux kernel) on a board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    board: Board,
    image: PathBuf,
    dtb: Option<PathBuf>,
    cpus: Option<u32>,
    memory_mib: Option<u32>,
    el2: bool,
    /// Start the image as firmware at EL3 (`virt`'s `secure=on`).
    el3: bool,
    append: Option<String>,
    initrd: Option<PathBuf>,
    guests: Vec<PlacedGuest>,
    disk: Option<PathBuf>,
    /// A raw image kept from boot to boot: the management VM's storage.
    storage: Option<PathBuf>,
    /// A virtio-net card on QEMU's user networking.
    network: bool,
    /// A TPM 2.0 (TIS over MMIO), emulated by the swtpm whose control
    /// socket this is.
    tpm: Option<PathBuf>,
    /// A raw SD card image in the SoC's SD card slot (`raspi4b` only).
    sd_card: Option<PathBuf>,
    /// Start the image as `virt`'s boot firmware (`-bios`), as U-Boot.
    bios: bool,
    deterministic: bool,
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
            memory_mib: None,
            el2: true,
            el3: false,
            append: None,
            initrd: None,
            guests: Vec::new(),
            disk: None,
            storage: None,
            network: false,
            tpm: None,
            sd_card: None,
            bios: false,
            deterministic: false,
            console: Console::Captured,
        }
    }

    /// The board this machine emulates.
    pub fn board(&self) -> Board {
        self.board
    }

    /// The image QEMU loads.
    pub fn image(&self) -> &Path {
        &self.image
    }

    /// Every file QEMU is to read: the image, and any device tree, guest,
    /// initrd and disk.
    pub fn files(&self) -> Vec<&Path> {
        let mut files = vec![self.image.as_path()];
        files.extend(self.dtb.as_deref());
        for guest in &self.guests {
            files.push(&guest.kernel.file);
            files.extend(guest.initrd.as_ref().map(|initrd| initrd.file.as_path()));
        }
        files.extend(self.initrd.as_deref());
        files.extend(self.disk.as_deref());
        files.extend(self.storage.as_deref());
        files.extend(self.sd_card.as_deref());
        files
    }

    /// Boot with `cpus` CPUs.
    pub fn cpus(mut self, cpus: u32) -> Self {
        self.cpus = Some(cpus);
        self
    }

    /// Give the machine `mib` MiB of RAM.
    pub fn memory_mib(mut self, mib: u32) -> Self {
        self.memory_mib = Some(mib);
        self
    }

    /// Enter the image at EL1 instead of EL2 (`virt` without `virtualization=on`).
    pub fn without_el2(mut self) -> Self {
        self.el2 = false;
        self
    }

    /// Start the image at EL3, as firmware (`virt` with `secure=on`, the
    /// image placed by QEMU's generic loader at [`FIRMWARE_LOAD_ADDR`]).
    /// QEMU then passes no device tree in x0.
    pub fn at_el3(mut self) -> Self {
        self.el3 = true;
        self
    }

    /// Kernel command line; QEMU puts it into the DTB's `/chosen/bootargs`.
    pub fn append(mut self, command_line: impl Into<String>) -> Self {
        self.append = Some(command_line.into());
        self
    }

    /// Load `initrd` for the image, a Linux kernel (QEMU's `-initrd`).
    pub fn initrd(mut self, initrd: impl Into<PathBuf>) -> Self {
        self.initrd = Some(initrd.into());
        self
    }

    /// Put `guest` into RAM with QEMU's `guest-loader`, for cordon to boot.
    pub fn guest(self, guest: GuestLoad) -> Self {
        self.placed_guest(guest.into())
    }

    /// Put one more VM's boot modules into RAM where `guest` says.
    pub fn placed_guest(mut self, guest: PlacedGuest) -> Self {
        self.guests.push(guest);
        self
    }

    /// Attach the raw image `disk` as a virtio-blk device (on virtio-mmio).
    pub fn disk(mut self, disk: impl Into<PathBuf>) -> Self {
        self.disk = Some(disk.into());
        self
    }

    /// Attach the raw image `storage` as a second virtio-blk device, at
    /// [`VIRT_STORAGE_TRANSPORT`]: storage that outlives a boot.
    pub fn storage(mut self, storage: impl Into<PathBuf>) -> Self {
        self.storage = Some(storage.into());
        self
    }

    /// Attach a virtio-net card (on virtio-mmio, at [`VIRT_NIC_TRANSPORT`])
    /// on QEMU's user networking: the guest gets its address by DHCP and
    /// reaches the host's loopback at 10.0.2.2; nothing outside reaches in.
    pub fn user_network(mut self) -> Self {
        self.network = true;
        self
    }

    /// Attach a TPM 2.0 (`tpm-tis-device`, at [`VIRT_TPM_DEVICE`]) emulated
    /// by the swtpm listening on the control socket `socket` (see
    /// [`crate::swtpm`]); QEMU starts and stops it as the machine's power.
    pub fn tpm(mut self, socket: impl Into<PathBuf>) -> Self {
        self.tpm = Some(socket.into());
        self
    }

    /// Put the raw SD card image `image` into the SoC's SD card slot
    /// (`raspi4b` only: on `virt`, a card image goes in as a [`Machine::disk`]).
    pub fn sd_card(mut self, image: impl Into<PathBuf>) -> Self {
        self.sd_card = Some(image.into());
        self
    }

    /// Start the image as boot firmware from `virt`'s flash (`-bios`), as
    /// U-Boot is, at EL2 (the CPU's highest EL without `secure=on`).
    pub fn bios(mut self) -> Self {
        self.bios = true;
        self
    }

    /// Boot the same way each time, for measuring: count instructions for
    /// time (`-icount`), and no random seeds in `virt`'s device tree.
    pub fn deterministic(mut self) -> Self {
        self.deterministic = true;
        self
    }

    /// Where the serial console goes; [`Console::Captured`] unless told otherwise.
    pub fn console(mut self, console: Console) -> Self {
        self.console = console;
        self
    }

    /// The `qemu-system-aarch64` arguments for this machine.
    pub fn args(&self) -> Result<Vec<OsString>, MachineError> {
        self.args_for(None)
    }

    /// A [`Command`] that makes QEMU write the device tree this machine
    /// would boot with to `output`, then exit. The image is not loaded (it
    /// need not exist yet), so neither are `-append` and `-initrd`, which
    /// QEMU takes only with it; guest modules are, as `/chosen/module@...`.
    pub fn dump_dtb_command(&self, output: &Path) -> Result<Command, MachineError> {
        let mut command = Command::new(QEMU_BINARY);
        command.args(self.args_for(Some(output))?);
        Ok(command)
    }

    /// The arguments that boot the image, or with `dump_dtb`, that dump the
    /// device tree there instead.
    fn args_for(&self, dump_dtb: Option<&Path>) -> Result<Vec<OsString>, MachineError> {
        let mut args = Args::default();
        let dump = dump_dtb.map(|path| {
            let mut option = OsString::from(",dumpdtb=");
            option.push(option_value(path.as_os_str()));
            option
        });
        let suffix = dump.as_deref().unwrap_or_default();
        match self.board {
            Board::QemuVirt => self.virt_args(&mut args, suffix)?,
            Board::Rpi4 => self.rpi4_args(&mut args, suffix)?,
            Board::X86Pc => return Err(MachineError::PcBoard),
        }
        args.push("-display").push("none");
        // No default network card: cordon has no driver for one, and QEMU's
        // default card on `virt` needs an option ROM that a minimal install
        // lacks. A VM's card is a virtio-mmio device (`user_network`).
        args.push("-nic").push("none");
        if self.deterministic {
            args.push("-icount").push(ICOUNT);
        }
        for guest in &self.guests {
            match self.board {
                Board::QemuVirt => guest_loader_args(&mut args, guest),
                Board::Rpi4 => generic_loader_args(&mut args, guest),
                Board::X86Pc => return Err(MachineError::PcBoard),
            }
        }
        if let Some(disk) = &self.disk {
            disk_args(&mut args, disk);
        }
        if let Some(storage) = &self.storage {
            storage_args(&mut args, storage);
        }
        if self.network {
            network_args(&mut args);
        }
        if let Some(socket) = &self.tpm {
            tpm_args(&mut args, socket);
        }
        if dump_dtb.is_some() {
            return Ok(args.0);
        }
        if self.bios {
            args.push("-bios").push(&self.image);
        } else if self.el3 {
            args.push("-device").push(format!(
                "loader,file={},addr={FIRMWARE_LOAD_ADDR:#x},cpu-num=0",
                self.image.display()
            ));
        } else {
            args.push("-kernel").push(&self.image);
        }
        if let Some(append) = &self.append {
            args.push("-append").push(append);
        }
        if let Some(initrd) = &self.initrd {
            args.push("-initrd").push(initrd);
        }
        Ok(args.0)
    }

    /// A [`Command`] that runs QEMU with [`Machine::args`].
    pub fn command(&self) -> Result<Command, MachineError> {
        let mut command = Command::new(QEMU_BINARY);
        command.args(self.args()?);
        Ok(command)
    }

    /// `machine_suffix` goes at the end of the `-M` value.
    fn virt_args(&self, args: &mut Args, machine_suffix: &OsStr) -> Result<(), MachineError> {
        let cpus = self.cpus.unwrap_or(VIRT_DEFAULT_CPUS);
        if !(1..=VIRT_GICV2_MAX_CPUS).contains(&cpus) {
            return Err(MachineError::VirtCpuCount { requested: cpus });
        }
        if self.sd_card.is_some() {
            return Err(MachineError::VirtHasNoSdSlot);
        }
        let virtualization = match (self.el2, self.el3) {
            (_, true) => ",secure=on,virtualization=on",
            (true, false) => ",virtualization=on",
            (false, false) => "",
        };
        let randomness = if self.deterministic {
            NO_DTB_RANDOMNESS
        } else {
            ""
        };
        let mut machine = OsString::from(format!("virt{virtualization},gic-version=2{randomness}"));
        machine.push(machine_suffix);
        args.push("-M").push(machine);
        let memory_mib = self.memory_mib.unwrap_or(VIRT_DEFAULT_MEMORY_MIB);
        args.push("-cpu").push(VIRT_CPU);
        args.push("-smp").push(cpus.to_string());
        args.push("-m").push(memory_size(memory_mib));
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

    /// `machine_suffix` goes at the end of the `-M` value.
    fn rpi4_args(&self, args: &mut Args, machine_suffix: &OsStr) -> Result<(), MachineError> {
        if let Some(cpus) = self.cpus.filter(|&cpus| cpus != RPI4_CPUS) {
            return Err(MachineError::Rpi4FixedCpus { requested: cpus });
        }
        if !self.el2 || self.el3 {
            return Err(MachineError::Rpi4AlwaysEl2);
        }
        if let Some(requested_mib) = self.memory_mib.filter(|&mib| mib != RPI4_MEMORY_MIB) {
            return Err(MachineError::Rpi4FixedMemory { requested_mib });
        }
        // Guests for cordon load with the generic loader; the device tree
        // must describe them (`raspi4b` loads it from its file at reset, so
        // `guest-loader` nodes would not survive).
        let virt_only = [
            (self.initrd.is_some(), "an initrd"),
            (self.disk.is_some(), "a virtio disk"),
            (self.storage.is_some(), "a virtio storage disk"),
            (self.network, "a virtio network card"),
            (self.tpm.is_some(), "a TPM"),
            (self.bios, "booting from firmware (-bios)"),
        ];
        if let Some((_, what)) = virt_only.into_iter().find(|(asked, _)| *asked) {
            return Err(MachineError::VirtOnly { what });
        }
        let dtb = self.dtb.as_ref().ok_or(MachineError::Rpi4NeedsDtb)?;
        let mut machine = OsString::from("raspi4b");
        machine.push(machine_suffix);
        args.push("-M").push(machine);
        if let Some(card) = &self.sd_card {
            let mut drive = OsString::from("file=");
            drive.push(option_value(card.as_os_str()));
            drive.push(",format=raw,if=sd");
            args.push("-drive").push(drive);
        }
        args.push("-m").push(memory_size(RPI4_MEMORY_MIB));
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

/// `mib` MiB as QEMU's `-m` takes it: in GiB where whole.
fn memory_size(mib: u32) -> String {
    if mib.is_multiple_of(MIB_PER_GIB) {
        format!("{}G", mib / MIB_PER_GIB)
    } else {
        format!("{mib}M")
    }
}

/// The `guest-loader` devices that put `guest` into RAM.
fn guest_loader_args(args: &mut Args, guest: &PlacedGuest) {
    // QEMU 10 creates the device tree node of only one of two guest-loader
    // devices unless the initrd's comes first.
    if let Some(initrd) = &guest.initrd {
        args.push("-device").push(guest_loader(initrd, "initrd"));
    }
    let mut kernel = guest_loader(&guest.kernel, "kernel");
    kernel.push(",bootargs=");
    kernel.push(option_value(guest.bootargs.as_ref()));
    args.push("-device").push(kernel);
}

/// Generic `loader` devices that put `guest`'s files in RAM as they are,
/// for a device tree that describes them already.
fn generic_loader_args(args: &mut Args, guest: &PlacedGuest) {
    for placed in std::iter::once(&guest.kernel).chain(&guest.initrd) {
        let mut device = OsString::from("loader,file=");
        device.push(option_value(placed.file.as_os_str()));
        device.push(format!(",addr={:#x},force-raw=on", placed.address));
        args.push("-device").push(device);
    }
}

/// A `guest-loader` device that loads `placed` as `what` (`kernel` or `initrd`).
fn guest_loader(placed: &PlacedFile, what: &str) -> OsString {
    let mut device = OsString::from(format!("guest-loader,addr={:#x},{what}=", placed.address));
    device.push(option_value(placed.file.as_os_str()));
    device
}

/// A raw `disk` image as a virtio-blk device on one of `virt`'s virtio-mmio
/// transports.
fn disk_args(args: &mut Args, disk: &Path) {
    let mut drive = OsString::from("file=");
    drive.push(option_value(disk.as_os_str()));
    drive.push(format!(",if=none,format=raw,id={DISK_ID}"));
    args.push("-drive").push(drive);
    args.push("-device")
        .push(format!("virtio-blk-device,drive={DISK_ID}"));
}

/// A raw `storage` image as a virtio-blk device on the transport
/// [`VIRT_STORAGE_BUS`].
fn storage_args(args: &mut Args, storage: &Path) {
    let mut drive = OsString::from("file=");
    drive.push(option_value(storage.as_os_str()));
    drive.push(format!(",if=none,format=raw,id={STORAGE_ID}"));
    args.push("-drive").push(drive);
    args.push("-device").push(format!(
        "virtio-blk-device,drive={STORAGE_ID},bus={VIRT_STORAGE_BUS}"
    ));
}

/// A virtio-net card on user networking, on the transport [`VIRT_NIC_BUS`].
fn network_args(args: &mut Args) {
    args.push("-netdev").push(format!("user,id={NETWORK_ID}"));
    args.push("-device").push(format!(
        "virtio-net-device,netdev={NETWORK_ID},bus={VIRT_NIC_BUS}"
    ));
}

fn tpm_args(args: &mut Args, socket: &Path) {
    let mut chardev = OsString::from(format!("socket,id={TPM_CHARDEV_ID},path="));
    chardev.push(option_value(socket.as_os_str()));
    args.push("-chardev").push(chardev);
    args.push("-tpmdev")
        .push(format!("emulator,id={TPM_ID},chardev={TPM_CHARDEV_ID}"));
    args.push("-device")
        .push(format!("tpm-tis-device,tpmdev={TPM_ID}"));
}

/// `value` for a QEMU `key=value,...` option list, where a comma inside a
/// value is written twice.
fn option_value(value: &OsStr) -> OsString {
    let mut escaped = Vec::with_capacity(value.len());
    for &byte in value.as_bytes() {
        escaped.push(byte);
        if byte == b',' {
            escaped.push(b',');
        }
    }
    OsString::from_vec(escaped)
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
    fn virt_at_el3_loads_the_image_as_firmware() {
        let args = args(&Machine::qemu_virt("cordon.bin").at_el3().cpus(1));
        assert!(has(
            &args,
            "-M",
            "virt,secure=on,virtualization=on,gic-version=2"
        ));
        assert!(has(
            &args,
            "-device",
            "loader,file=cordon.bin,addr=0x40200000,cpu-num=0"
        ));
        assert!(!args.iter().any(|a| a == "-kernel"));
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
    fn rpi4_takes_an_sd_card_and_virt_a_bios() {
        let rpi4 = Machine::rpi4("u-boot.bin", "rpi4.dtb").sd_card("sd,1.img");
        let rpi4_args = args(&rpi4);
        assert!(has(&rpi4_args, "-drive", "file=sd,,1.img,format=raw,if=sd"));
        assert!(has(&rpi4_args, "-kernel", "u-boot.bin"));
        assert_eq!(rpi4.files().last(), Some(&Path::new("sd,1.img")));

        let virt = args(&Machine::qemu_virt("u-boot.bin").bios().disk("sd.img"));
        assert!(has(&virt, "-bios", "u-boot.bin"));
        assert!(!virt.iter().any(|arg| arg == "-kernel"));
        assert!(has(&virt, "-M", "virt,virtualization=on,gic-version=2"));

        assert_eq!(
            Machine::qemu_virt("u-boot.bin").sd_card("sd.img").args(),
            Err(MachineError::VirtHasNoSdSlot)
        );
        assert!(matches!(
            Machine::rpi4("u-boot.bin", "rpi4.dtb").bios().args(),
            Err(MachineError::VirtOnly { .. })
        ));
    }

    fn guest() -> GuestLoad {
        GuestLoad {
            kernel: "vmlinuz".into(),
            initrd: "initramfs.cpio.gz".into(),
            bootargs: "console=ttyAMA0 earlycon=pl011,0x9000000".to_owned(),
        }
    }

    #[test]
    fn guest_loader_puts_the_initrd_first_and_escapes_commas() {
        let args = args(&Machine::qemu_virt("cordon.bin").guest(guest()));
        let devices: Vec<&String> = args
            .windows(2)
            .filter(|pair| pair[0] == "-device")
            .map(|pair| &pair[1])
            .collect();
        assert_eq!(
            devices,
            [
                "guest-loader,addr=0x64000000,initrd=initramfs.cpio.gz",
                "guest-loader,addr=0x60000000,kernel=vmlinuz,\
                 bootargs=console=ttyAMA0 earlycon=pl011,,0x9000000",
            ]
        );
        assert!(has(&args, "-kernel", "cordon.bin"));
    }

    #[test]
    fn placed_guests_load_each_initrd_before_its_kernel() {
        let placed = |file: &str, address| PlacedFile {
            file: file.into(),
            address,
        };
        let machine = Machine::qemu_virt("cordon.bin")
            .placed_guest(PlacedGuest {
                kernel: placed("vmlinuz", 0x6000_0000),
                initrd: Some(placed("initrd", 0x6200_0000)),
                bootargs: "quiet".to_owned(),
            })
            .placed_guest(PlacedGuest {
                kernel: placed("rt.bin", 0x6400_0000),
                initrd: None,
                bootargs: String::new(),
            });
        let args = args(&machine);
        let devices: Vec<&String> = args
            .windows(2)
            .filter(|pair| pair[0] == "-device")
            .map(|pair| &pair[1])
            .collect();
        assert_eq!(
            devices,
            [
                "guest-loader,addr=0x62000000,initrd=initrd",
                "guest-loader,addr=0x60000000,kernel=vmlinuz,bootargs=quiet",
                "guest-loader,addr=0x64000000,kernel=rt.bin,bootargs=",
            ]
        );
        assert_eq!(
            machine.files(),
            [
                Path::new("cordon.bin"),
                Path::new("vmlinuz"),
                Path::new("initrd"),
                Path::new("rt.bin")
            ]
        );
    }

    fn dump_args(machine: &Machine) -> Vec<String> {
        let command = machine.dump_dtb_command(Path::new("out,1.dtb")).unwrap();
        assert_eq!(command.get_program(), QEMU_BINARY);
        command
            .get_args()
            .map(|arg| arg.to_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn dumping_the_dtb_keeps_the_machine_but_not_the_image() {
        let machine = Machine::qemu_virt("cordon.bin")
            .cpus(3)
            .memory_mib(2048)
            .append("cordon.log=debug")
            .guest(guest())
            .disk("disk.img");
        let args = dump_args(&machine);
        assert!(has(
            &args,
            "-M",
            "virt,virtualization=on,gic-version=2,dumpdtb=out,,1.dtb"
        ));
        assert!(has(&args, "-smp", "3"));
        assert!(has(&args, "-m", "2G"));
        assert!(has(&args, "-cpu", "cortex-a72"));
        assert!(args.iter().any(|arg| arg.starts_with("guest-loader")));
        for absent in ["-kernel", "-append", "-initrd"] {
            assert!(!args.iter().any(|arg| arg == absent), "{absent}: {args:?}");
        }
    }

    #[test]
    fn dumping_the_rpi4_dtb_takes_the_board_dtb() {
        let args = dump_args(&Machine::rpi4("cordon.bin", "rpi4.dtb"));
        assert!(has(&args, "-M", "raspi4b,dumpdtb=out,,1.dtb"));
        assert!(has(&args, "-dtb", "rpi4.dtb"));
        assert!(!args.iter().any(|arg| arg == "-kernel"));
    }

    #[test]
    fn a_disk_is_a_virtio_blk_device() {
        let args = args(&Machine::qemu_virt("cordon.bin").disk("a,b.img"));
        assert!(has(
            &args,
            "-drive",
            "file=a,,b.img,if=none,format=raw,id=disk0"
        ));
        assert!(has(&args, "-device", "virtio-blk-device,drive=disk0"));
    }

    #[test]
    fn storage_is_a_second_virtio_blk_device_on_its_transport() {
        let args = args(
            &Machine::qemu_virt("cordon.bin")
                .disk("d.img")
                .storage("s,1.img"),
        );
        assert!(has(
            &args,
            "-drive",
            "file=s,,1.img,if=none,format=raw,id=storage0"
        ));
        assert!(has(
            &args,
            "-device",
            "virtio-blk-device,drive=storage0,bus=virtio-mmio-bus.29"
        ));
        assert!(has(&args, "-device", "virtio-blk-device,drive=disk0"));
        assert!(matches!(
            Machine::rpi4("cordon.bin", "rpi4.dtb")
                .storage("s.img")
                .args(),
            Err(MachineError::VirtOnly { .. })
        ));
    }

    #[test]
    fn a_user_network_is_a_virtio_net_device_on_its_transport() {
        let args = args(
            &Machine::qemu_virt("cordon.bin")
                .disk("d.img")
                .user_network(),
        );
        assert!(has(&args, "-netdev", "user,id=net0"));
        assert!(has(
            &args,
            "-device",
            "virtio-net-device,netdev=net0,bus=virtio-mmio-bus.30"
        ));
        assert!(has(&args, "-nic", "none"), "no default card besides");
        assert!(matches!(
            Machine::rpi4("cordon.bin", "rpi4.dtb")
                .user_network()
                .args(),
            Err(MachineError::VirtOnly { .. })
        ));
    }

    #[test]
    fn tpm_is_swtpm_behind_a_tis_device() {
        let args = args(&Machine::qemu_virt("cordon.bin").tpm("/t/swtpm,1.sock"));
        assert!(has(
            &args,
            "-chardev",
            "socket,id=chrtpm,path=/t/swtpm,,1.sock"
        ));
        assert!(has(&args, "-tpmdev", "emulator,id=tpm0,chardev=chrtpm"));
        assert!(has(&args, "-device", "tpm-tis-device,tpmdev=tpm0"));
        assert!(matches!(
            Machine::rpi4("cordon.bin", "rpi4.dtb").tpm("s").args(),
            Err(MachineError::VirtOnly { .. })
        ));
    }

    #[test]
    fn linux_boots_directly_with_an_initrd() {
        let machine = Machine::qemu_virt("vmlinuz")
            .without_el2()
            .initrd("initramfs.cpio.gz")
            .append("console=ttyAMA0")
            .memory_mib(512)
            .deterministic();
        let args = args(&machine);
        assert!(has(&args, "-M", "virt,gic-version=2,dtb-randomness=off"));
        assert!(has(&args, "-kernel", "vmlinuz"));
        assert!(has(&args, "-initrd", "initramfs.cpio.gz"));
        assert!(has(&args, "-m", "512M"));
        assert!(has(&args, "-icount", "shift=0,sleep=off"));
        assert!(!args.iter().any(|arg| arg.starts_with("guest-loader")));
    }

    #[test]
    fn files_lists_everything_qemu_reads() {
        let machine = Machine::qemu_virt("cordon.bin")
            .guest(guest())
            .disk("disk.img");
        assert_eq!(
            machine.files(),
            [
                Path::new("cordon.bin"),
                Path::new("vmlinuz"),
                Path::new("initramfs.cpio.gz"),
                Path::new("disk.img")
            ]
        );
    }

    #[test]
    fn rpi4_refuses_what_only_virt_has() {
        let rpi4 = || Machine::rpi4("cordon.bin", "rpi4.dtb");
        assert_eq!(
            rpi4().memory_mib(1024).args(),
            Err(MachineError::Rpi4FixedMemory {
                requested_mib: 1024
            })
        );
        assert!(rpi4().memory_mib(2048).args().is_ok());
        let with_guest = rpi4().guest(guest()).args().unwrap();
        let loaders: Vec<_> = with_guest
            .iter()
            .map(|arg| arg.to_string_lossy())
            .filter(|arg| arg.starts_with("loader,"))
            .collect();
        assert_eq!(loaders.len(), 2, "kernel and initrd: {with_guest:?}");
        assert!(loaders.iter().all(|arg| arg.ends_with(",force-raw=on")));
        assert!(matches!(
            rpi4().disk("disk.img").args(),
            Err(MachineError::VirtOnly { .. })
        ));
    }

    #[test]
    fn board_names_round_trip() {
        for board in Board::ALL {
            assert_eq!(board.name().parse(), Ok(board));
            let value = toml::Value::try_from(board).unwrap();
            assert_eq!(value, toml::Value::String(board.name().to_owned()));
            assert_eq!(value.try_into::<Board>().unwrap(), board);
        }
        assert_eq!("pi5".parse::<Board>(), Err(UnknownBoard("pi5".to_owned())));
    }
}
