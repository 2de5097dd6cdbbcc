//! Entering VMX operation on a CPU: what its VT-x offers (the control words
//! cordon needs, EPT, VPID), CR0 and CR4 as VMX requires, and VMXON.

use core::fmt;

use x86_64::registers::control::{Cr0, Cr0Flags, Cr4, Cr4Flags};

use super::controls::{self, Control, Unsupported};
use super::ept::{EptError, EptSupport};
use super::frames;
use super::instructions::{self, VmFail};
use crate::arch::x86_64::cpu;

/// Capability MSRs.
const IA32_VMX_BASIC: u32 = 0x480;
const IA32_VMX_CR0_FIXED0: u32 = 0x486;
const IA32_VMX_CR0_FIXED1: u32 = 0x487;
const IA32_VMX_CR4_FIXED0: u32 = 0x488;
const IA32_VMX_CR4_FIXED1: u32 = 0x489;
const IA32_VMX_EPT_VPID_CAP: u32 = 0x48c;
/// IA32_VMX_BASIC: the VMCS revision identifier.
const REVISION_MASK: u64 = 0x7fff_ffff;

/// Pin-based controls: exit on external interrupts and NMIs (they are the
/// host's, or another VM's).
pub const PIN_EXTERNAL_INTERRUPT_EXITING: u32 = 1 << 0;
const PIN_NMI_EXITING: u32 = 1 << 3;
/// Primary processor-based controls: exit on HLT, and on I/O to ports and
/// accesses to MSRs the VM's bitmaps do not let through; use the secondary
/// controls.
const PRIMARY_HLT_EXITING: u32 = 1 << 7;
const PRIMARY_IO_BITMAPS: u32 = 1 << 25;
const PRIMARY_MSR_BITMAPS: u32 = 1 << 28;
const PRIMARY_SECONDARY_CONTROLS: u32 = 1 << 31;
/// Secondary controls: EPT, unrestricted guest (real mode without paging),
/// and if the CPU has them, VPID and RDTSCP and INVPCID for guests (which
/// raise #UD without these, though CPUID reports them).
const SECONDARY_EPT: u32 = 1 << 1;
const SECONDARY_ENABLE_RDTSCP: u32 = 1 << 3;
pub const SECONDARY_VPID: u32 = 1 << 5;
const SECONDARY_UNRESTRICTED_GUEST: u32 = 1 << 7;
const SECONDARY_ENABLE_INVPCID: u32 = 1 << 12;
/// Exit controls: return to 64-bit mode, acknowledge an external interrupt
/// that exits (its vector is then in the exit's interruption information),
/// save the guest's EFER and load the host's.
const EXIT_HOST_ADDRESS_SPACE_SIZE: u32 = 1 << 9;
const EXIT_ACK_INTERRUPT_ON_EXIT: u32 = 1 << 15;
const EXIT_SAVE_EFER: u32 = 1 << 20;
const EXIT_LOAD_EFER: u32 = 1 << 21;
/// Entry controls: load the guest's EFER.
const ENTRY_LOAD_EFER: u32 = 1 << 15;

/// The control words every VMCS on this CPU gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Controls {
    pub pin: u32,
    pub primary: u32,
    pub secondary: u32,
    pub exit: u32,
    pub entry: u32,
}

/// A CPU in VMX operation.
#[derive(Debug, Clone, Copy)]
pub struct VmxCpu {
    /// The VMCS revision identifier.
    pub revision: u32,
    pub controls: Controls,
    pub ept: EptSupport,
}

impl VmxCpu {
    /// Whether VMs on this CPU get a VPID (no TLB flush on every exit).
    pub fn has_vpid(&self) -> bool {
        self.controls.secondary & SECONDARY_VPID != 0
    }
}

/// Why VMX operation could not start, or a VM could not be set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmxError {
    Controls(Unsupported),
    /// No 4-level write-back EPT.
    NoEpt,
    /// No heap left for a VMX structure.
    NoMemory,
    Vmxon(VmFail),
    /// Setting up a VMCS failed.
    Vmcs(VmFail),
    /// VMLAUNCH or VMRESUME failed.
    Entry(VmFail),
    /// A VM's memory could not be mapped.
    Ept(EptError),
    /// The selftest's heartbeat guest stopped beating after `beat`.
    NoHeartbeat {
        beat: u64,
    },
}

impl fmt::Display for VmxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Controls(error) => error.fmt(f),
            Self::NoEpt => f.write_str("this CPU's VT-x lacks 4-level write-back EPT"),
            Self::NoMemory => f.write_str("no heap left for a VMX structure"),
            Self::Vmxon(error) => write!(f, "VMXON failed: {error}"),
            Self::Vmcs(error) => write!(f, "setting up a VMCS failed: {error}"),
            Self::Entry(error) => write!(f, "VM entry failed: {error}"),
            Self::Ept(error) => error.fmt(f),
            Self::NoHeartbeat { beat } => {
                write!(f, "the heartbeat guest stopped beating after beat {beat}")
            }
        }
    }
}

impl From<Unsupported> for VmxError {
    fn from(error: Unsupported) -> Self {
        Self::Controls(error)
    }
}

/// Reads what this CPU's VT-x offers and enters VMX operation. Call once
/// per CPU, after `feature::check` allowed it.
pub fn enable() -> Result<VmxCpu, VmxError> {
    // SAFETY (for every read_msr below): the VMX capability MSRs exist on
    // a CPU whose CPUID reports VMX, which `feature::check` made sure of.
    let msr = |index| unsafe { cpu::read_msr(index) };
    let basic = msr(IA32_VMX_BASIC);
    let capability = |control: Control| msr(control.capability_msr(basic));
    let controls = Controls {
        pin: controls::adjust(
            Control::PinBased,
            PIN_EXTERNAL_INTERRUPT_EXITING | PIN_NMI_EXITING,
            0,
            capability(Control::PinBased),
        )?,
        primary: controls::adjust(
            Control::PrimaryProcessorBased,
            PRIMARY_HLT_EXITING
                | PRIMARY_IO_BITMAPS
                | PRIMARY_MSR_BITMAPS
                | PRIMARY_SECONDARY_CONTROLS,
            0,
            capability(Control::PrimaryProcessorBased),
        )?,
        secondary: controls::adjust(
            Control::SecondaryProcessorBased,
            SECONDARY_EPT | SECONDARY_UNRESTRICTED_GUEST,
            SECONDARY_VPID | SECONDARY_ENABLE_RDTSCP | SECONDARY_ENABLE_INVPCID,
            capability(Control::SecondaryProcessorBased),
        )?,
        exit: controls::adjust(
            Control::Exit,
            EXIT_HOST_ADDRESS_SPACE_SIZE
                | EXIT_ACK_INTERRUPT_ON_EXIT
                | EXIT_SAVE_EFER
                | EXIT_LOAD_EFER,
            0,
            capability(Control::Exit),
        )?,
        entry: controls::adjust(
            Control::Entry,
            ENTRY_LOAD_EFER,
            0,
            capability(Control::Entry),
        )?,
    };
    let ept = EptSupport::from_capability(msr(IA32_VMX_EPT_VPID_CAP)).ok_or(VmxError::NoEpt)?;
    let revision = (basic & REVISION_MASK) as u32;

    let cr0 = controls::fixed_cr(
        Cr0::read_raw(),
        msr(IA32_VMX_CR0_FIXED0),
        msr(IA32_VMX_CR0_FIXED1),
    );
    let cr4 = controls::fixed_cr(
        Cr4::read_raw() | Cr4Flags::VIRTUAL_MACHINE_EXTENSIONS.bits(),
        msr(IA32_VMX_CR4_FIXED0),
        msr(IA32_VMX_CR4_FIXED1),
    );
    // SAFETY: the fixed bits only force on what VMX needs (CR0.NE, PE,
    // PG; CR4.VMXE), which cordon's long mode has or tolerates.
    unsafe {
        Cr0::write(Cr0Flags::from_bits_retain(cr0));
        Cr4::write(Cr4Flags::from_bits_retain(cr4));
    }
    let region = frames::allocate_page().ok_or(VmxError::NoMemory)?;
    // SAFETY: a fresh, identity-mapped page; the VMXON region starts with
    // the revision identifier.
    unsafe { (region as *mut u32).write(revision) };
    // SAFETY: CR0 and CR4 are adjusted, VMXE is set, and the region is this
    // CPU's alone, for good.
    unsafe { instructions::vmxon(region) }.map_err(VmxError::Vmxon)?;
    Ok(VmxCpu {
        revision,
        controls,
        ept,
    })
}
