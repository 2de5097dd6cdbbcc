//! From the entry points in `entry.S` to the core's boot sequence: per-CPU
//! stacks, the EL check, reading the device tree and turning the MMU on.

use core::fmt::Write;
use core::mem::offset_of;

use fdt::Fdt;

use super::mmu::{self, MmuConfig};
use super::{cpu, exception};
use crate::board::{self, Uart};
use crate::console::{CONSOLE, Console, choose};
use crate::dt::{BootInfo, MAX_CPUS, NopError};
use crate::mm::region::PhysRange;
use cordon_guest_loader::arm64_image as image;

/// Bytes of stack per CPU.
pub const STACK_SIZE: usize = 64 << 10;
/// An unmapped page below each stack: an overflow faults instead of
/// overwriting the next CPU's stack.
const GUARD_SIZE: usize = 4096;
/// `R_AARCH64_RELATIVE`, the only relocation kind the image may contain.
const R_AARCH64_RELATIVE: u64 = 1027;
/// SPSR for entering EL2 on SP_EL2 with D, A, I and F masked.
const SPSR_EL2H_MASKED: u64 = 0x3c9;
/// SCR_EL3 when leaving EL3: non-secure (NS), RES1 bits 4-5, SMC disabled
/// (SMD, so stray SMCs fault at EL2), HVC enabled (HCE), EL2 is AArch64 (RW).
const SCR_EL3_FOR_EL2: u64 = (1 << 0) | (0b11 << 4) | (1 << 7) | (1 << 8) | (1 << 10);

#[repr(C, align(4096))]
pub struct CpuStack {
    guard: [u8; GUARD_SIZE],
    stack: [u8; STACK_SIZE],
}

static mut STACKS: [CpuStack; MAX_CPUS] = [const {
    CpuStack {
        guard: [0; GUARD_SIZE],
        stack: [0; STACK_SIZE],
    }
}; MAX_CPUS];

/// What a starting secondary CPU reads with its MMU off.
#[repr(C)]
pub struct SecondaryBoot {
    cpu: u64,
    stack_top: u64,
}

static mut SECONDARY_BOOT: SecondaryBoot = SecondaryBoot {
    cpu: 0,
    stack_top: 0,
};

static mut MMU_CONFIG: MmuConfig = MmuConfig {
    mair: 0,
    tcr: 0,
    ttbr0: 0,
    sctlr: 0,
};

core::arch::global_asm!(
    include_str!("entry.S"),
    text_offset = const image::TEXT_OFFSET,
    flags = const image::CORDON_FLAGS,
    magic = const image::MAGIC,
    r_aarch64_relative = const R_AARCH64_RELATIVE,
    stacks = sym STACKS,
    stack_stride = const core::mem::size_of::<CpuStack>(),
    primary_main = sym primary_main,
    secondary_main = sym secondary_main,
    mmu_config = sym MMU_CONFIG,
    mailbox = sym SECONDARY_BOOT,
    mailbox_cpu = const offset_of!(SecondaryBoot, cpu),
    mailbox_stack_top = const offset_of!(SecondaryBoot, stack_top),
    mmu_mair = const offset_of!(MmuConfig, mair),
    mmu_ttbr0 = const offset_of!(MmuConfig, ttbr0),
    scr_el3 = const SCR_EL3_FOR_EL2,
    sctlr_el2_reset = const mmu::sctlr::RES1,
    spsr_el2h_masked = const SPSR_EL2H_MASKED,
);

unsafe extern "C" {
    static __image_start: u8;
    static __text_end: u8;
    static __rodata_end: u8;
    static __image_end: u8;
    fn enable_mmu_el2(config: *const MmuConfig);
    fn secondary_entry();
}

/// Where the parts of cordon's image are in physical memory.
pub struct ImageLayout {
    pub text: PhysRange,
    pub read_only: PhysRange,
    /// Data, zeroed data and stacks.
    pub data: PhysRange,
}

impl ImageLayout {
    fn current() -> Self {
        let addr = |symbol: *const u8| symbol as u64;
        let (start, text_end, rodata_end, end) = (
            addr(&raw const __image_start),
            addr(&raw const __text_end),
            addr(&raw const __rodata_end),
            addr(&raw const __image_end),
        );
        Self {
            text: PhysRange {
                start,
                end: text_end,
            },
            read_only: PhysRange {
                start: text_end,
                end: rodata_end,
            },
            data: PhysRange {
                start: rodata_end,
                end,
            },
        }
    }

    pub fn whole(&self) -> PhysRange {
        PhysRange {
            start: self.text.start,
            end: self.data.end,
        }
    }
}

/// The guard page below each CPU's stack.
pub fn stack_guards() -> impl Iterator<Item = PhysRange> {
    (0..MAX_CPUS).map(|cpu| {
        // SAFETY: only the address is taken.
        let guard = unsafe { &raw const STACKS[cpu].guard } as u64;
        PhysRange::from_base_size(guard, GUARD_SIZE as u64).unwrap()
    })
}

pub fn stack_top(cpu: usize) -> u64 {
    // SAFETY: only the address is taken.
    let stack = unsafe { &raw const STACKS[cpu].stack } as u64;
    stack + STACK_SIZE as u64
}

/// Physical address of `secondary_entry` in entry.S.
pub fn secondary_entry_point() -> u64 {
    secondary_entry as *const () as u64
}

/// Fills the mailbox a starting secondary reads with its MMU off.
pub fn prepare_secondary_boot(cpu: usize) {
    // SAFETY: only the primary CPU writes the mailbox, one secondary start
    // at a time, and waits for that CPU to come online before the next.
    unsafe {
        let mailbox = &raw mut SECONDARY_BOOT;
        (*mailbox).cpu = cpu as u64;
        (*mailbox).stack_top = stack_top(cpu);
        cpu::clean_dcache_range(mailbox as usize, size_of::<SecondaryBoot>());
    }
}

const NO_EL2_MESSAGE: &str = "\ncordon: entered at EL1: this CPU gives cordon no access to EL2, \
so it cannot run here.\n\
cordon: fix: start cordon at EL2 (or EL3). On QEMU, use -M virt,virtualization=on \
(`cargo xtask run` does). With U-Boot, make sure the firmware leaves the CPU in EL2.\n";

/// Writes `parts` to the console without a lock: only the primary CPU runs.
fn early_print(parts: &[&dyn core::fmt::Display]) {
    // SAFETY: called before any other CPU starts, with the MMU off.
    let console = unsafe { Console::early() };
    for part in parts {
        let _ = write!(console, "{part}");
    }
}

fn fatal_early(parts: &[&dyn core::fmt::Display]) -> ! {
    early_print(&[&"\ncordon: FATAL: "]);
    early_print(parts);
    early_print(&[&"\n"]);
    loop {
        cpu::wait_for_event();
    }
}

/// Largest DTB the arm64 boot protocol allows.
const MAX_DTB_SIZE: usize = 2 << 20;

/// Why the DTB cordon was given can't be read.
enum BootDtbError {
    NullOrMisaligned,
    NoMagic,
    BadSize(usize),
    Malformed(NopError),
    Refused(fdt::FdtError),
}

impl core::fmt::Display for BootDtbError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NullOrMisaligned => write!(f, "the address is null or not 8-byte aligned"),
            Self::NoMagic => write!(f, "no FDT magic there"),
            Self::BadSize(size) => write!(f, "size {size:#x} is not between 40 bytes and 2 MiB"),
            Self::Malformed(err) => write!(f, "{err}"),
            Self::Refused(err) => write!(f, "the parser refused it ({err:?})"),
        }
    }
}

/// The DTB at `dtb`, with NOP tokens removed (cordon owns the boot DTB).
fn boot_device_tree(dtb: usize) -> Result<Fdt<'static>, BootDtbError> {
    const FDT_HEADER_SIZE: usize = 40;
    if dtb == 0 || !dtb.is_multiple_of(8) {
        return Err(BootDtbError::NullOrMisaligned);
    }
    // SAFETY: the boot protocol puts a DTB in RAM at x0; the header is
    // read first, and the size it gives is bounded before use.
    let header = unsafe { core::slice::from_raw_parts(dtb as *const u8, FDT_HEADER_SIZE) };
    let size = crate::dt::total_size(header).ok_or(BootDtbError::NoMagic)?;
    if !(FDT_HEADER_SIZE..=MAX_DTB_SIZE).contains(&size) {
        return Err(BootDtbError::BadSize(size));
    }
    // SAFETY: as above; cordon owns the DTB from now on.
    let blob = unsafe { core::slice::from_raw_parts_mut(dtb as *mut u8, size) };
    crate::dt::remove_nops(blob).map_err(BootDtbError::Malformed)?;
    Fdt::new(blob).map_err(BootDtbError::Refused)
}

/// Rust entry of the boot CPU (from entry.S, MMU off, image relocated).
extern "C" fn primary_main(dtb: usize, entry_el: u64) -> ! {
    let board = board::this_board();
    // SAFETY: only this CPU runs; with the MMU off the UART's physical
    // address reaches the device.
    unsafe { Console::early().attach(board.early_console) };
    if entry_el < 2 {
        early_print(&[&NO_EL2_MESSAGE]);
        loop {
            cpu::wait_for_event();
        }
    }
    if entry_el == 3 {
        early_print(&[&format_args!(
            "cordon: entered at EL3; continuing at EL{} (non-secure)\n",
            cpu::current_el()
        )]);
    }
    cpu::set_id(0);
    exception::install();

    let fdt = match boot_device_tree(dtb) {
        Ok(fdt) => fdt,
        Err(err) => fatal_early(&[
            &format_args!("no usable device tree at {dtb:#x} (x0 at entry): {err}. "),
            &"The loader must pass a DTB's address in x0 (booti, QEMU -kernel).",
        ]),
    };
    let info =
        BootInfo::parse(&fdt).unwrap_or_else(|err| fatal_early(&[&"boot device tree: ", &err]));
    let console_choice = choose(&fdt, &info, board);
    let console = console_choice
        .map(|(uart, _)| uart)
        .unwrap_or(board.early_console);

    // An unusable mailbox is reported once logging is up.
    let mailbox = crate::firmware::mailbox_address(&fdt, board);
    let image = ImageLayout::current();
    let mailbox_base = mailbox.and_then(|at| at.base.ok());
    let config = mmu::build(&info, &image, console, board, mailbox_base)
        .unwrap_or_else(|err| fatal_early(&[&format_args!("EL2 page tables: {err:?}")]));
    // SAFETY: MMU_CONFIG is written once, here, before secondaries exist;
    // they read it with their MMU off, hence the clean to memory.
    let config = unsafe {
        let slot = &raw mut MMU_CONFIG;
        slot.write(config);
        cpu::clean_dcache_range(slot as usize, size_of::<MmuConfig>());
        slot
    };
    // Everything so far was written with the caches off: drop any stale
    // lines covering the image before memory becomes cacheable.
    let whole = image.whole();
    // SAFETY: with the MMU off no line of the image can be dirty.
    unsafe { cpu::invalidate_dcache_range(whole.start as usize, whole.size() as usize) };
    // SAFETY: the tables map all of the image and this stack identically.
    unsafe { enable_mmu_el2(config) };

    // SAFETY: the UART page is mapped as device memory by `mmu::build`.
    unsafe { CONSOLE.lock().attach(console) };
    crate::logger::init(&info);
    let dtb_range = PhysRange::from_base_size(dtb as u64, fdt.total_size() as u64)
        .unwrap_or_else(|| fatal_early(&[&"device tree size wraps around"]));
    crate::boot::primary(crate::boot::BootContext {
        board,
        fdt: &fdt,
        info: &info,
        entry_el: entry_el as u8,
        image: whole,
        dtb: dtb_range,
        console: console_choice,
        firmware_mailbox: mailbox,
    })
}

/// Rust entry of a secondary CPU (from entry.S, MMU on, own stack).
extern "C" fn secondary_main(cpu_id: usize) -> ! {
    cpu::set_id(cpu_id);
    exception::install();
    crate::boot::secondary(cpu_id)
}

/// The console cordon settled on, for the boot report.
pub type ConsoleChoice<'a> = Result<(Uart, &'a str), crate::console::ConsoleChoiceError<'a>>;

/// An address inside CPU 0's stack guard page (for the fault self-test).
pub fn stack_guard_of_boot_cpu() -> u64 {
    stack_guards().next().map(|g| g.start).unwrap_or_default()
}
