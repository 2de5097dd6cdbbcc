//! What can be wrong with a config. Every error about a VM or a channel
//! names it and the field at fault: `VM "rt": cpus: CPU 2 is also given to
//! VM "mgmt"`.

use alloc::string::String;
use core::fmt;

use crate::size::Bytes;

#[derive(Clone, PartialEq, Eq, Debug)]
pub enum ConfigError {
    /// The TOML text is not a config (syntax, a missing or unknown key, a
    /// value of the wrong type).
    #[cfg(feature = "std")]
    Toml(toml::de::Error),
    /// The binary form could not be read.
    Binary(BinaryError),
    /// No VM has `role = "management"`.
    NoManagementVm,
    Vm {
        vm: String,
        field: VmField,
        problem: Problem,
    },
    Channel {
        channel: String,
        field: ChannelField,
        problem: Problem,
    },
    /// The board's description (device tree, or a PC's facts) lacks what
    /// the checks need.
    Board(BoardError),
}

/// A field of a `[[vm]]` table.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum VmField {
    Name,
    Role,
    Cpus,
    MemorySize,
    MemoryAddress,
    MemoryBelow,
    Devices,
    Console,
    MemoryIdentity,
    TrapWait,
    DmaTrusted,
    ImageKernel,
    ImageInitrd,
    ImageBootargs,
}

/// A field of a `[[channel]]` table.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ChannelField {
    Name,
    Vms,
    Size,
}

/// What is wrong with a field.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Problem {
    /// Not 1 to [`crate::MAX_NAME_LEN`] of `a-z`, `0-9`, `-`.
    BadName,
    /// Another VM (or channel) has the same name.
    NameTaken,
    /// A second management VM.
    SecondManagement {
        first: String,
    },
    NoCpus,
    CpuListedTwice {
        cpu: u32,
    },
    CpuTaken {
        cpu: u32,
        by: String,
    },
    Zero,
    NotMultipleOf {
        value: u64,
        unit: u64,
    },
    NotAligned {
        address: u64,
        alignment: u64,
    },
    /// `address + size` is past the end of the address space.
    Wraps,
    /// Two fixed memory regions overlap.
    Overlaps {
        other: String,
    },
    /// `below` is lower than `size`.
    LimitTooLow {
        below: u64,
        size: u64,
    },
    /// The fixed region ends above `below`.
    AboveLimit {
        end: u64,
        below: u64,
    },
    /// A device path that does not start with `/`.
    NotAPath {
        path: String,
    },
    DeviceListedTwice {
        path: String,
    },
    DeviceTaken {
        path: String,
        by: String,
    },
    /// Some boot modules have an address and others not.
    AddressMissing,
    /// Two boot modules at one address.
    AddressTaken {
        address: u64,
        by: String,
    },
    /// A channel names a VM that does not exist.
    UnknownVm {
        vm: String,
    },
    /// A channel joins other than two VMs.
    VmCount {
        count: usize,
    },
    /// A channel joins a VM to itself.
    SameVm {
        vm: String,
    },
    /// A CPU the board does not have.
    NoSuchCpu {
        cpu: u32,
        count: usize,
    },
    /// More RAM than the board has in one free piece.
    TooLarge {
        size: u64,
        largest: u64,
    },
    /// The VMs and channels up to this one need more RAM than the board has.
    OutOfRam {
        needed: u64,
        available: u64,
    },
    /// A fixed region outside the board's RAM.
    OutsideRam {
        start: u64,
        end: u64,
    },
    /// A boot module's address outside the board's RAM.
    NotInRam {
        address: u64,
    },
    /// A fixed region over RAM the board's firmware keeps.
    Reserved {
        start: u64,
        end: u64,
    },
    /// No free RAM below `below` holds `size`.
    NothingBelow {
        size: u64,
        below: u64,
    },
    /// A VM trusted with DMA has fixed memory its devices' masters do not
    /// reach.
    BeyondDmaReach {
        start: u64,
        end: u64,
        reach: u64,
    },
    /// No free piece where a VM trusted with DMA would have its memory.
    NothingInDmaReach {
        size: u64,
        reach: u64,
    },
    NoSuchDevice {
        path: String,
    },
    /// A device node without a `reg` that maps registers.
    NoRegisters {
        path: String,
    },
    /// A node cordon keeps for itself.
    Owned {
        path: String,
        owner: Owner,
    },
    /// A device below a bus with DMA translation, in a VM not trusted with
    /// DMA.
    DmaNotTrusted {
        path: String,
        bus: String,
    },
    /// Not one of the x86-pc board's devices.
    NoSuchPcDevice {
        path: String,
    },
    /// An I/O port of the device is also another VM's, through one of its
    /// devices.
    PortTaken {
        path: String,
        port: u16,
        by: String,
        through: String,
    },
    /// The device's PIC line would interrupt the VM that owns the PIC, not
    /// this one.
    IrqToOtherVm {
        path: String,
        irq: u8,
        pic_owner: String,
    },
    /// What x86-pc VMs do not have; `why` says so.
    NotOnPc {
        why: &'static str,
    },
}

/// Why a device-tree node belongs to cordon and is not passed through.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Owner {
    InterruptController,
    Cpus,
    Memory,
    Chosen,
    Psci,
    Timer,
    Console,
}

/// The board's device tree cannot be checked against.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum BoardError {
    NoRoot,
    NoCpus,
    NoMemory,
    /// A `reg` cordon cannot read (more than two cells, or truncated).
    BadReg {
        node: String,
    },
    /// A PC without CPUs.
    NoPcCpus,
    /// A PC without free RAM.
    NoPcRam,
}

/// Why the binary form could not be read.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum BinaryError {
    /// Shorter than the header, or cut short inside the config.
    Truncated,
    BadMagic {
        found: [u8; 4],
    },
    UnsupportedVersion {
        found: u16,
        supported: u16,
    },
    /// The bytes after the header are not a config.
    Malformed(postcard::Error),
    /// Bytes left over after the config.
    TrailingBytes {
        count: usize,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            #[cfg(feature = "std")]
            Self::Toml(error) => write!(f, "{}", error.to_string().trim_end()),
            Self::Binary(error) => write!(f, "binary config: {error}"),
            Self::NoManagementVm => f.write_str("no VM has role = \"management\""),
            Self::Vm { vm, field, problem } => write!(f, "VM \"{vm}\": {field}: {problem}"),
            Self::Channel {
                channel,
                field,
                problem,
            } => write!(f, "channel \"{channel}\": {field}: {problem}"),
            Self::Board(error) => write!(f, "board: {error}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ConfigError {}

impl fmt::Display for VmField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Name => "name",
            Self::Role => "role",
            Self::Cpus => "cpus",
            Self::MemorySize => "memory.size",
            Self::MemoryAddress => "memory.address",
            Self::MemoryBelow => "memory.below",
            Self::Devices => "devices",
            Self::Console => "console",
            Self::MemoryIdentity => "memory.identity",
            Self::TrapWait => "trap-wait",
            Self::DmaTrusted => "dma-trusted",
            Self::ImageKernel => "image.kernel",
            Self::ImageInitrd => "image.initrd",
            Self::ImageBootargs => "image.bootargs",
        })
    }
}

impl fmt::Display for ChannelField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Name => "name",
            Self::Vms => "vms",
            Self::Size => "size",
        })
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadName => write!(
                f,
                "must be 1 to {} characters of a-z, 0-9 and -",
                crate::MAX_NAME_LEN
            ),
            Self::NameTaken => f.write_str("the name is used twice"),
            Self::SecondManagement { first } => {
                write!(f, "VM \"{first}\" is already the management VM")
            }
            Self::NoCpus => f.write_str("no CPU given"),
            Self::CpuListedTwice { cpu } => write!(f, "CPU {cpu} is listed twice"),
            Self::CpuTaken { cpu, by } => write!(f, "CPU {cpu} is also given to VM \"{by}\""),
            Self::Zero => f.write_str("must not be 0"),
            Self::NotMultipleOf { value, unit } => {
                write!(f, "{} is not a multiple of {}", Bytes(*value), Bytes(*unit))
            }
            Self::NotAligned { address, alignment } => {
                write!(f, "{address:#x} is not {} aligned", Bytes(*alignment))
            }
            Self::Wraps => f.write_str("the region runs past the end of the address space"),
            Self::Overlaps { other } => write!(f, "overlaps the memory of VM \"{other}\""),
            Self::LimitTooLow { below, size } => {
                write!(f, "{below:#x} is lower than the size, {}", Bytes(*size))
            }
            Self::AboveLimit { end, below } => {
                write!(f, "the fixed region ends at {end:#x}, above {below:#x}")
            }
            Self::NotAPath { path } => {
                write!(
                    f,
                    "{path:?} is not a full device-tree path (starting with /)"
                )
            }
            Self::DeviceListedTwice { path } => write!(f, "{path} is listed twice"),
            Self::DeviceTaken { path, by } => write!(f, "{path} is also given to VM \"{by}\""),
            Self::AddressMissing => {
                f.write_str("has no address, but other boot modules have one: give all or none")
            }
            Self::AddressTaken { address, by } => {
                write!(
                    f,
                    "{address:#x} is also where a boot module of VM \"{by}\" goes"
                )
            }
            Self::UnknownVm { vm } => write!(f, "there is no VM \"{vm}\""),
            Self::VmCount { count } => write!(f, "names {count} VMs; a channel joins 2"),
            Self::SameVm { vm } => write!(f, "joins VM \"{vm}\" to itself"),
            Self::NoSuchCpu { cpu, count } => {
                write!(
                    f,
                    "CPU {cpu} does not exist: the board has {count} (0 to {})",
                    count - 1
                )
            }
            Self::TooLarge { size, largest } => write!(
                f,
                "{} does not fit: the largest free piece of the board's RAM is {}",
                Bytes(*size),
                Bytes(*largest)
            ),
            Self::OutOfRam { needed, available } => write!(
                f,
                "the VMs and channels up to here need {}, the board has {} of free RAM",
                Bytes(*needed),
                Bytes(*available)
            ),
            Self::OutsideRam { start, end } => write!(
                f,
                "{start:#x}-{:#x} is not inside one of the board's RAM banks",
                end - 1
            ),
            Self::NotInRam { address } => write!(f, "{address:#x} is not in the board's RAM"),
            Self::Reserved { start, end } => write!(
                f,
                "{start:#x}-{:#x} overlaps RAM the board keeps reserved",
                end - 1
            ),
            Self::NothingBelow { size, below } => write!(
                f,
                "the board has no {} of free RAM below {below:#x}",
                Bytes(*size)
            ),
            Self::BeyondDmaReach { start, end, reach } => write!(
                f,
                "{start:#x}-{:#x} is not all below {reach:#x}, where the DMA masters of the \
                 VM's devices reach",
                end - 1
            ),
            Self::NothingInDmaReach { size, reach } => write!(
                f,
                "the board has no {} of free RAM below {reach:#x}, where the DMA masters of \
                 the VM's devices reach",
                Bytes(*size)
            ),
            Self::NoSuchDevice { path } => write!(f, "{path} is not in the board's device tree"),
            Self::NoRegisters { path } => write!(f, "{path} has no reg with registers to map"),
            Self::Owned { path, owner } => write!(f, "{path} is {owner}, which cordon keeps"),
            Self::NoSuchPcDevice { path } => {
                write!(f, "{path} is not a device of x86-pc; it has ")?;
                for (index, known) in crate::board::pc_device_paths().enumerate() {
                    let separator = if index == 0 { "" } else { ", " };
                    write!(f, "{separator}{known}")?;
                }
                Ok(())
            }
            Self::PortTaken {
                path,
                port,
                by,
                through,
            } => write!(
                f,
                "I/O port {port:#x} of {path} is also given to VM \"{by}\" (through {through})"
            ),
            Self::IrqToOtherVm {
                path,
                irq,
                pic_owner,
            } => write!(
                f,
                "{path} interrupts on IRQ {irq} of the PIC ({}), which VM \"{pic_owner}\" owns: \
                 its interrupts would go there; give both to one VM",
                crate::board::PIC
            ),
            Self::NotOnPc { why } => f.write_str(why),
            Self::DmaNotTrusted { path, bus } => write!(
                f,
                "{path} may master DMA (its bus {bus} has dma-ranges) and there is no IOMMU: \
                 set dma-trusted = true to trust the VM with all memory the bus reaches"
            ),
        }
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::InterruptController => "the interrupt controller",
            Self::Cpus => "the CPUs",
            Self::Memory => "RAM",
            Self::Chosen => "the boot loader's /chosen",
            Self::Psci => "the PSCI firmware interface",
            Self::Timer => "the architected timer",
            Self::Console => "the console UART (stdout-path)",
        })
    }
}

impl fmt::Display for BoardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoRoot => f.write_str("device tree: no root node"),
            Self::NoCpus => f.write_str("device tree: no /cpus node with cpu nodes"),
            Self::NoMemory => f.write_str("device tree: no memory node with RAM in its reg"),
            Self::BadReg { node } => write!(f, "device tree: {node}: a reg cordon cannot read"),
            Self::NoPcCpus => f.write_str("the PC has no CPUs"),
            Self::NoPcRam => f.write_str("the PC has no free RAM for VMs"),
        }
    }
}

impl fmt::Display for BinaryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("cut short"),
            Self::BadMagic { found } => write!(
                f,
                "starts with {found:02x?}, not {:?}",
                core::str::from_utf8(&crate::binary::MAGIC).unwrap_or_default()
            ),
            Self::UnsupportedVersion { found, supported } => write!(
                f,
                "format version {found}, but this build reads version {supported}"
            ),
            Self::Malformed(error) => write!(f, "not a valid config ({error})"),
            Self::TrailingBytes { count } => write!(f, "{count} bytes after the config"),
        }
    }
}
