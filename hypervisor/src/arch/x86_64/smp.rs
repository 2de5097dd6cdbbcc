//! Starting the application processors: the trampoline (see `entry`)
//! copied below 1 MiB with the new CPU's stack and index, INIT-SIPI-SIPI as
//! the SDM's MP initialization protocol says, and a wait for the CPU to
//! report in.

use core::fmt;
use core::sync::atomic::{AtomicUsize, Ordering};

use x86_64::registers::control::Cr3;

use super::cpu;
use super::lapic::Lapic;

/// Where the trampoline runs: page-aligned, below 1 MiB, in conventional
/// memory that PC firmware leaves free.
pub const TRAMPOLINE_BASE: u64 = 0x8000;
/// The start-up IPI's vector: the trampoline's page number.
const STARTUP_PAGE: u8 = (TRAMPOLINE_BASE >> 12) as u8;
/// CPUs cordon can start, the boot CPU included.
pub const MAX_CPUS: usize = 16;
/// Each application processor's stack.
const STACK_SIZE: usize = 64 * 1024;
/// Waits of the MP initialization protocol: after INIT, between SIPIs.
const INIT_WAIT_US: u32 = 10_000;
const STARTUP_WAIT_US: u32 = 200;
/// How long a started CPU gets to report in (generous: emulators are slow).
const ONLINE_WAIT_US: u32 = 10_000_000;

#[repr(C, align(16))]
struct Stack([u8; STACK_SIZE]);

/// The application processors' stacks, by CPU index - 1.
static mut AP_STACKS: [Stack; MAX_CPUS - 1] = [const { Stack([0; STACK_SIZE]) }; MAX_CPUS - 1];

/// The index of the last application processor that reported in.
static REPORTED: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" {
    static ap_trampoline_start: u8;
    static ap_trampoline_end: u8;
    static ap_cr3: u64;
    static ap_stack: u64;
    static ap_cpu: u64;
}

/// Why a CPU did not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmpError {
    /// More CPUs than cordon has stacks for.
    TooManyCpus { apic_id: u32 },
    /// The CPU did not report in after INIT-SIPI-SIPI.
    NoResponse { apic_id: u32 },
}

impl fmt::Display for SmpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooManyCpus { apic_id } => write!(
                f,
                "CPU with APIC ID {apic_id} not started: cordon starts at most {MAX_CPUS} CPUs"
            ),
            Self::NoResponse { apic_id } => write!(
                f,
                "CPU with APIC ID {apic_id} did not come online after INIT-SIPI-SIPI"
            ),
        }
    }
}

/// Called by a started CPU once it runs cordon's code.
pub fn report_in(index: usize) {
    REPORTED.store(index, Ordering::Release);
}

/// Starts the CPU with `apic_id` as CPU `index` and waits until it reports in.
pub fn start(lapic: &Lapic, index: usize, apic_id: u32) -> Result<(), SmpError> {
    if index == 0 || index >= MAX_CPUS {
        return Err(SmpError::TooManyCpus { apic_id });
    }
    // SAFETY: AP_STACKS[index - 1] is used by CPU `index` alone, which is
    // not running yet; only its address is taken here.
    let stack = unsafe { &raw mut AP_STACKS[index - 1] };
    let stack_top = stack as u64 + STACK_SIZE as u64;
    install_trampoline(stack_top, index);
    lapic.send_init(apic_id);
    cpu::delay_us(INIT_WAIT_US);
    for _ in 0..2 {
        lapic.send_startup(apic_id, STARTUP_PAGE);
        cpu::delay_us(STARTUP_WAIT_US);
    }
    for _ in 0..ONLINE_WAIT_US {
        if REPORTED.load(Ordering::Acquire) == index {
            return Ok(());
        }
        cpu::delay_us(1);
    }
    Err(SmpError::NoResponse { apic_id })
}

/// Copies the trampoline to [`TRAMPOLINE_BASE`] with the parameters of the
/// next CPU: the boot page tables, its stack and its index.
fn install_trampoline(stack_top: u64, index: usize) {
    let start = &raw const ap_trampoline_start;
    let length = &raw const ap_trampoline_end as usize - start as usize;
    let parameter = |symbol: *const u64| {
        (TRAMPOLINE_BASE as usize + (symbol as usize - start as usize)) as *mut u64
    };
    let (frame, _) = Cr3::read_raw();
    // SAFETY: the trampoline page is identity-mapped conventional memory
    // that nothing else uses; no started CPU runs from it any more (each
    // reports in before the next is started).
    unsafe {
        core::ptr::copy_nonoverlapping(start, TRAMPOLINE_BASE as *mut u8, length);
        parameter(&raw const ap_cr3).write_volatile(frame.start_address().as_u64());
        parameter(&raw const ap_stack).write_volatile(stack_top);
        parameter(&raw const ap_cpu).write_volatile(index as u64);
    }
}
