//! From long mode to the boot report: the boot CPU reads what the loader
//! and the firmware say (memory, ACPI CPUs), starts the other CPUs and
//! checks that each can run VMX, then sets up the VMs of the embedded
//! partition config (or runs the VMX selftest); each application
//! processor, once started, sets itself up, reports in, and runs the VM
//! the config gives it.

use core::fmt;
use core::sync::atomic::{AtomicUsize, Ordering};

use log::{LevelFilter, error, info, warn};
use multiboot2::{BootInformation, BootInformationHeader, LoadError};

use super::acpi::{self, AcpiError, HEADER_LEN};
use super::board::this_board;
use super::entry::IDENTITY_MAP_END;
use super::gdt::{self, CpuTables};
use super::lapic::{self, MAX_XAPIC_ID};
use super::madt::{self, Madt, MadtError};
use super::memory::{self, MemoryError};
use super::partition::{self, PlanError};
use super::smp::{self, SmpError};
use super::vmx::feature::{self, FeatureControl, IA32_FEATURE_CONTROL};
use super::vmx::operation::{self, VmxCpu, VmxError};
use super::vmx::selftest;
use super::{console, cpu, idt, pic};
use crate::cmdline;

/// `cordon.selftest=fault` reads this address, which the boot page tables
/// do not map, to show the exception report.
const UNMAPPED_ADDRESS: u64 = IDENTITY_MAP_END;

/// CPUs on which VMX cannot be used.
static VMX_UNAVAILABLE: AtomicUsize = AtomicUsize::new(0);

/// Why the boot CPU stopped.
#[derive(Debug)]
enum BootError {
    /// Not entered by a multiboot2 loader.
    NotMultiboot2 {
        magic: u32,
    },
    /// The multiboot2 boot information is unreadable.
    BootInformation(LoadError),
    /// The loader passed no ACPI RSDP.
    NoRsdp,
    Memory(MemoryError),
    Acpi(AcpiError),
    Madt(MadtError),
    /// The CPU running this is not in the MADT.
    BootCpuNotListed {
        apic_id: u32,
    },
    /// A CPU has an APIC ID that xAPIC mode cannot address.
    X2ApicOnly {
        apic_id: u32,
    },
    Smp(SmpError),
    /// Some CPUs cannot run VMX; each said why.
    NoVmx {
        cpus: usize,
    },
    /// Running a VM failed (not the VM's fault: cordon's or the CPU's).
    Vmx(VmxError),
    /// The partition config's VMs cannot run on this PC.
    Partition(PlanError),
}

impl fmt::Display for BootError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotMultiboot2 { magic } => write!(
                f,
                "not started by a multiboot2 loader (EAX = {magic:#x}, expected {:#x})",
                multiboot2::MAGIC
            ),
            Self::BootInformation(error) => {
                write!(f, "cannot read the multiboot2 boot information: {error}")
            }
            Self::NoRsdp => f.write_str(
                "the loader passed no ACPI RSDP (multiboot2 tags 14/15): cordon finds CPUs \
                 through ACPI",
            ),
            Self::Memory(error) => error.fmt(f),
            Self::Acpi(error) => error.fmt(f),
            Self::Madt(error) => error.fmt(f),
            Self::BootCpuNotListed { apic_id } => {
                write!(f, "the boot CPU (APIC ID {apic_id}) is not in the MADT")
            }
            Self::X2ApicOnly { apic_id } => write!(
                f,
                "CPU with APIC ID {apic_id} needs x2APIC mode, which cordon does not use yet"
            ),
            Self::Smp(error) => error.fmt(f),
            Self::NoVmx { cpus } => write!(
                f,
                "cannot run VMs: VMX is unavailable on {cpus} CPU(s) (see above)"
            ),
            Self::Vmx(error) => error.fmt(f),
            Self::Partition(error) => error.fmt(f),
        }
    }
}

/// The boot CPU's entry from `entry`: multiboot2 `magic` and the boot
/// information's address.
#[unsafe(no_mangle)]
extern "C" fn x86_bsp_main(magic: u32, boot_information: u64) -> ! {
    cpu::set_index(0);
    idt::load();
    pic::mask_all();
    let board = this_board();
    console::init(board.console_port, LevelFilter::Info);
    console::write_fmt(format_args!(
        "\ncordon {} on board {} (x86-64, long mode)\n",
        crate::VERSION,
        board.name
    ));
    if let Err(error) = boot(magic, boot_information) {
        error!("{error}");
        error!("cordon: stopping");
    }
    cpu::park()
}

fn boot(magic: u32, boot_information: u64) -> Result<(), BootError> {
    if magic != multiboot2::MAGIC {
        return Err(BootError::NotMultiboot2 { magic });
    }
    // SAFETY: a multiboot2 loader passed this address (the magic says so);
    // the boot information lies in identity-mapped memory nobody else uses.
    let info = unsafe {
        BootInformation::load(boot_information as *const BootInformationHeader)
            .map_err(BootError::BootInformation)?
    };
    let command_line = info
        .command_line_tag()
        .and_then(|tag| tag.cmdline().ok())
        .unwrap_or_default();
    if let Some(level) = cmdline::option(command_line, "log").and_then(|name| name.parse().ok()) {
        log::set_max_level(level);
    }
    info!("command line: {command_line:?}");
    let mut free = memory::init(&info).map_err(BootError::Memory)?;

    let madt = find_madt(&info)?;
    let lapic_address = madt.local_apic_address();
    // SAFETY: the MADT gives the local APIC's address, below 4 GiB (checked
    // by `physical_table`'s callers' identity map) and mapped.
    unsafe { lapic::set_address(lapic_address) };
    let lapic = lapic::this_cpu().expect("its address was just set");
    lapic.enable();
    // Until a VM that owns the PIC runs here, its interrupts are nobody's.
    lapic.refuse_pic_interrupts();
    let boot_apic_id = lapic.id();
    let cpus = || madt.cpus().filter(|cpu| cpu.enabled);
    info!(
        "ACPI: {} CPUs in the MADT, local APIC at {lapic_address:#x}",
        cpus().count()
    );
    if !cpus().any(|cpu| cpu.apic_id == boot_apic_id) {
        return Err(BootError::BootCpuNotListed {
            apic_id: boot_apic_id,
        });
    }
    let (tables, vmx) = start_vmx();
    info!("cpu0 online (APIC ID {boot_apic_id})");

    let vmx_selftest = cmdline::option(command_line, "selftest") == Some("vmx");
    if vmx_selftest {
        selftest::want_heartbeat();
    }
    let mut online = 1;
    for cpu in cpus().filter(|cpu| cpu.apic_id != boot_apic_id) {
        if cpu.apic_id > MAX_XAPIC_ID {
            return Err(BootError::X2ApicOnly {
                apic_id: cpu.apic_id,
            });
        }
        smp::start(&lapic, online, cpu.apic_id).map_err(BootError::Smp)?;
        online += 1;
    }
    let listed = cpus().count();
    info!("all {online} of {listed} CPUs online");

    if cmdline::option(command_line, "selftest") == Some("fault") {
        info!("selftest: reading unmapped address {UNMAPPED_ADDRESS:#x}");
        // SAFETY: none: this read is meant to fault, to show the report.
        let value = unsafe { (UNMAPPED_ADDRESS as *const u64).read_volatile() };
        warn!("selftest: the read returned {value:#x} instead of faulting");
    }

    let cpus_without_vmx = VMX_UNAVAILABLE.load(Ordering::Acquire);
    if cpus_without_vmx > 0 {
        return Err(BootError::NoVmx {
            cpus: cpus_without_vmx,
        });
    }
    info!("VMX usable on all {online} CPUs");
    let Some(vmx) = vmx else {
        return Ok(());
    };
    if vmx_selftest {
        partition::no_vms();
        let heartbeat = online > selftest::HEARTBEAT_CPU;
        return selftest::run(&vmx, tables, heartbeat).map_err(BootError::Vmx);
    }
    partition::set_up(&info, online, &mut free, &vmx).map_err(BootError::Partition)?;
    partition::run_this_cpu(0, &vmx, tables, &lapic).map_err(BootError::Vmx)
}

/// Finds the MADT through the RSDP the loader passed.
fn find_madt(info: &BootInformation) -> Result<Madt<'static>, BootError> {
    let root_address = match (info.rsdp_v2_tag(), info.rsdp_v1_tag()) {
        (Some(v2), _) if v2.xsdt_address() != 0 => v2.xsdt_address() as u64,
        (_, Some(v1)) => v1.rsdt_address() as u64,
        (Some(v2), None) => v2.xsdt_address() as u64,
        (None, None) => return Err(BootError::NoRsdp),
    };
    let root = physical_table(root_address);
    let table = acpi::find(root, &madt::SIGNATURE, physical_table).map_err(BootError::Acpi)?;
    Madt::parse(table).map_err(BootError::Madt)
}

/// The ACPI table at physical `address`: its header, and as many bytes as
/// the header claims; nothing if that is not all identity-mapped.
fn physical_table(address: u64) -> &'static [u8] {
    let mapped = |length: usize| address.saturating_add(length as u64) <= IDENTITY_MAP_END;
    if address == 0 || !mapped(HEADER_LEN) {
        return &[];
    }
    // SAFETY: firmware tables lie in identity-mapped memory that cordon
    // never writes; the header fits in the map (checked above).
    let header = unsafe { core::slice::from_raw_parts(address as *const u8, HEADER_LEN) };
    let length = acpi::claimed_length(header)
        .unwrap_or(HEADER_LEN)
        .max(HEADER_LEN);
    if !mapped(length) {
        return header;
    }
    // SAFETY: as above, for the length the header claims, also mapped.
    unsafe { core::slice::from_raw_parts(address as *const u8, length) }
}

/// Gives this CPU its descriptor tables and, if VMX can be used here,
/// enters VMX operation; logs why not otherwise.
fn start_vmx() -> (&'static CpuTables, Option<VmxCpu>) {
    let tables = gdt::load();
    // SAFETY: `check` reads the MSR only if CPUID reports VMX, and then the
    // MSR exists.
    let allowed = feature::check(cpu::cpuid(1, 0).ecx, || unsafe {
        cpu::read_msr(IA32_FEATURE_CONTROL)
    });
    let enabled = match allowed {
        Ok(action) => {
            if let FeatureControl::Write(value) = action {
                // SAFETY: enabling VMX outside SMX and locking, as firmware
                // would.
                unsafe { cpu::write_msr(IA32_FEATURE_CONTROL, value) };
            }
            operation::enable()
        }
        Err(error) => {
            error!("{error}");
            VMX_UNAVAILABLE.fetch_add(1, Ordering::AcqRel);
            return (tables, None);
        }
    };
    match enabled {
        Ok(vmx) => {
            info!(
                "VMX on (VMCS revision {:#x}, EPT with 2 MiB pages: {}, 1 GiB pages: {}, VPID: {})",
                vmx.revision,
                vmx.ept.large_pages,
                vmx.ept.huge_pages,
                vmx.has_vpid()
            );
            (tables, Some(vmx))
        }
        Err(error) => {
            error!("{error}");
            VMX_UNAVAILABLE.fetch_add(1, Ordering::AcqRel);
            (tables, None)
        }
    }
}

/// An application processor's entry from the trampoline, as CPU `index`.
#[unsafe(no_mangle)]
extern "C" fn x86_ap_main(index: u64) -> ! {
    let index = index as usize;
    cpu::set_index(index);
    idt::load();
    let lapic = lapic::this_cpu().expect("the boot CPU read the MADT");
    lapic.enable();
    lapic.refuse_pic_interrupts();
    let (tables, vmx) = start_vmx();
    info!("cpu{index} online (APIC ID {})", lapic.id());
    smp::report_in(index);
    let ran = match vmx {
        Some(vmx) if selftest::runs_heartbeat(index) => selftest::run_heartbeat(&vmx, tables),
        Some(vmx) => partition::run_this_cpu(index, &vmx, tables, &lapic),
        None => Ok(()),
    };
    if let Err(error) = ran {
        error!("{error}");
    }
    cpu::park()
}
