//! Every VM exit is handled here: what cordon does for each reason, and
//! when a VM is stopped instead. A guest's fault stops that guest, never
//! cordon.

use core::fmt;

use log::{debug, warn};

use super::cpuid;
use super::cr_access::{self, CR0_TS, CrAccess};
use super::exit_reason::ExitReason;
use super::fields::Field;
use super::hypercall::{self, Hypercall};
use super::io::IoAccess;
use super::msr_emulation::{self, MsrAnswer};
use super::vcpu::{GuestCr, Vcpu};
use crate::arch::x86_64::exception::GENERAL_PROTECTION;
use crate::arch::x86_64::{cpu, lapic};

/// EPT violation exit qualification: the access was a read, a write, an
/// instruction fetch.
const EPT_READ: u64 = 1 << 0;
const EPT_WRITE: u64 = 1 << 1;
const EPT_FETCH: u64 = 1 << 2;

/// The exit interruption information of an acknowledged external
/// interrupt: its vector, and whether the information is valid.
const INTERRUPTION_VECTOR: u64 = 0xff;
const INTERRUPTION_VALID: u64 = 1 << 31;

/// The low 32 bits of RAX and RDX, which RDMSR and WRMSR use.
const LOW_HALF: u64 = 0xffff_ffff;

/// CR0.PG and EFER.LME: both set means entering long mode.
const CR0_PG: u64 = 1 << 31;
const EFER_LME: u64 = 1 << 8;

/// What to do after an exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Resume,
    Stop(Stopped),
}

/// Why a VM was stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// It halted with nothing to wake it: no interrupts of its own, or
    /// interrupts disabled.
    Halted {
        rip: u64,
    },
    /// It touched guest-physical memory it was not given.
    EptViolation {
        address: u64,
        qualification: u64,
    },
    TripleFault,
    /// An exit cordon does not handle (yet).
    Unhandled {
        reason: ExitReason,
        rip: u64,
    },
}

impl fmt::Display for Stopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Halted { rip } => write!(f, "HLT at rip {rip:#x}"),
            Self::EptViolation {
                address,
                qualification,
            } => {
                let access = match qualification {
                    q if q & EPT_FETCH != 0 => "instruction fetch",
                    q if q & EPT_WRITE != 0 => "write",
                    q if q & EPT_READ != 0 => "read",
                    _ => "access",
                };
                write!(
                    f,
                    "EPT violation: {access} at guest-physical {address:#x}, outside its memory"
                )
            }
            Self::TripleFault => f.write_str("triple fault"),
            Self::Unhandled { reason, rip } => {
                write!(f, "{reason} at rip {rip:#x}, which cordon does not handle")
            }
        }
    }
}

/// Handles the exit `reason` of the vCPU of VM `vm`.
pub fn handle(vm: &str, vcpu: &mut Vcpu, reason: ExitReason) -> Next {
    match reason {
        ExitReason::Vmcall => {
            vmcall(vm, vcpu);
            vcpu.skip_instruction();
            Next::Resume
        }
        ExitReason::Cpuid => {
            emulate_cpuid(vcpu);
            vcpu.skip_instruction();
            Next::Resume
        }
        ExitReason::IoInstruction => port_io(vm, vcpu),
        ExitReason::ControlRegisterAccess => control_register(vm, vcpu),
        ExitReason::Rdmsr | ExitReason::Wrmsr => {
            msr_access(vm, vcpu, reason == ExitReason::Wrmsr);
            Next::Resume
        }
        ExitReason::Hlt => halt(vcpu),
        ExitReason::ExternalInterrupt => external_interrupt(vm, vcpu),
        ExitReason::EptViolation => Next::Stop(Stopped::EptViolation {
            address: vcpu.read(Field::GuestPhysicalAddress),
            qualification: vcpu.read(Field::ExitQualification),
        }),
        ExitReason::TripleFault => Next::Stop(Stopped::TripleFault),
        other => Next::Stop(Stopped::Unhandled {
            reason: other,
            rip: vcpu.read(Field::GuestRip),
        }),
    }
}

/// HLT: a VM that owns its CPU's interrupts and has them enabled waits
/// for the next one on the CPU; any other halted VM has nothing to wake it
/// and is stopped.
fn halt(vcpu: &mut Vcpu) -> Next {
    if vcpu.owns_interrupts() && vcpu.interrupts_enabled() {
        vcpu.wait_for_interrupt();
        return Next::Resume;
    }
    Next::Stop(Stopped::Halted {
        rip: vcpu.read(Field::GuestRip),
    })
}

/// An interrupt reached the CPU of a VM that does not own the interrupts
/// of its CPU: no device of that VM's raises one (the config gives device
/// interrupts only to the VM that owns the PIC, whose interrupts reach it
/// without exits), so it is nobody's. The exit acknowledged it; cordon
/// ends it at the local APIC (unless spurious), says so, and the VM goes
/// on.
fn external_interrupt(vm: &str, vcpu: &Vcpu) -> Next {
    let info = vcpu.read(Field::ExitInterruptionInfo);
    let vector = info & INTERRUPTION_VECTOR;
    if info & INTERRUPTION_VALID != 0
        && vector != u64::from(lapic::SPURIOUS_VECTOR)
        && let Some(lapic) = lapic::this_cpu()
    {
        lapic.end_of_interrupt();
    }
    warn!(
        "{vm}: interrupt vector {vector:#x} on cpu{}, which no VM here owns: dropped",
        cpu::index()
    );
    Next::Resume
}

/// cordon's hypercalls.
fn vmcall(vm: &str, vcpu: &mut Vcpu) {
    let registers = &mut vcpu.registers;
    registers.rax = match Hypercall::decode(registers.rax, registers.rbx) {
        Hypercall::Log(value) => {
            debug!("{vm}: hypercall log {value:#x}");
            hypercall::SUCCESS
        }
        Hypercall::Unknown(number) => {
            warn!("{vm}: unknown hypercall {number:#x}");
            hypercall::UNKNOWN
        }
    };
}

/// I/O to a port not assigned to the VM: writes are dropped, reads see
/// all ones, as from a port nothing answers. String I/O stops the VM.
fn port_io(vm: &str, vcpu: &mut Vcpu) -> Next {
    let access = IoAccess::decode(vcpu.read(Field::ExitQualification));
    if access.string {
        return Next::Stop(Stopped::Unhandled {
            reason: ExitReason::IoInstruction,
            rip: vcpu.read(Field::GuestRip),
        });
    }
    let direction = if access.input { "read" } else { "write" };
    debug!(
        "{vm}: I/O port {:#x} {direction} ignored: the port is not assigned to it",
        access.port
    );
    if access.input {
        vcpu.registers.rax = access.floating_input(vcpu.registers.rax);
    }
    vcpu.skip_instruction();
    Next::Resume
}

/// A guest access to CR0, CR3 or CR4 that exited. Turning paging on with
/// EFER.LME set (entering long mode) is not emulated yet: the VM stops.
fn control_register(vm: &str, vcpu: &mut Vcpu) -> Next {
    let unhandled = |vcpu: &Vcpu| {
        Next::Stop(Stopped::Unhandled {
            reason: ExitReason::ControlRegisterAccess,
            rip: vcpu.read(Field::GuestRip),
        })
    };
    match CrAccess::decode(vcpu.read(Field::ExitQualification)) {
        CrAccess::MoveTo { cr: 0, gpr } => {
            let value = vcpu.gpr(gpr);
            if value & CR0_PG != 0 && vcpu.read(Field::GuestIa32Efer) & EFER_LME != 0 {
                return unhandled(vcpu);
            }
            debug!("{vm}: CR0 write {value:#x}");
            vcpu.write_guest_cr(GuestCr::Cr0, value);
        }
        CrAccess::MoveTo { cr: 4, gpr } => {
            let value = vcpu.gpr(gpr);
            debug!("{vm}: CR4 write {value:#x}");
            vcpu.write_guest_cr(GuestCr::Cr4, value);
        }
        CrAccess::Clts => vcpu.write_guest_cr(GuestCr::Cr0, vcpu.guest_cr0() & !CR0_TS),
        CrAccess::Lmsw { source } => {
            vcpu.write_guest_cr(GuestCr::Cr0, cr_access::lmsw(vcpu.guest_cr0(), source));
        }
        CrAccess::MoveTo { .. } | CrAccess::MoveFrom { .. } => return unhandled(vcpu),
    }
    vcpu.skip_instruction();
    Next::Resume
}

/// An MSR the VM's bitmap does not pass through: the few cordon answers
/// (`msr_emulation`), else #GP, as for an MSR the CPU does not have.
fn msr_access(vm: &str, vcpu: &mut Vcpu, write: bool) {
    let registers = &mut vcpu.registers;
    let msr = registers.rcx as u32;
    let value = write.then_some((registers.rdx << 32) | (registers.rax & LOW_HALF));
    match msr_emulation::answer(msr, value) {
        MsrAnswer::Read(value) => {
            registers.rax = value & LOW_HALF;
            registers.rdx = value >> 32;
        }
        MsrAnswer::Ignored => {}
        MsrAnswer::Refused => {
            let access = if write { "WRMSR" } else { "RDMSR" };
            debug!("{vm}: {access} {msr:#x} refused: #GP");
            vcpu.inject_exception(GENERAL_PROTECTION, 0);
            return;
        }
    }
    vcpu.skip_instruction();
}

/// CPUID as the host answers it, with VMX hidden and cordon's leaf added.
fn emulate_cpuid(vcpu: &mut Vcpu) {
    let registers = &mut vcpu.registers;
    let (leaf, subleaf) = (registers.rax as u32, registers.rcx as u32);
    let host = cpu::cpuid(leaf, subleaf);
    let [eax, ebx, ecx, edx] = cpuid::for_guest(leaf, [host.eax, host.ebx, host.ecx, host.edx]);
    registers.rax = eax.into();
    registers.rbx = ebx.into();
    registers.rcx = ecx.into();
    registers.rdx = edx.into();
}
