//! A virtual CPU: its VMCS (host state, controls, a guest starting in real
//! mode), entering the guest, and coming back on each VM exit. What each
//! exit means is `exits`' business.

use core::arch::global_asm;
use core::mem::offset_of;

use x86_64::instructions::tables::{sgdt, sidt};
use x86_64::registers::control::{Cr0, Cr3, Cr4};
use x86_64::registers::model_specific::{Efer, FsBase, GsBase};

use super::cr_access;
use super::entry_state::{EFER_LMA, EntryState, Segment, UNUSABLE};
use super::exit_reason::ExitReason;
use super::fields::Field;
use super::frames;
use super::instructions::{self, VmFail};
use super::io::IoBitmaps;
use super::msr::MsrBitmap;
use super::operation::{PIN_EXTERNAL_INTERRUPT_EXITING, SECONDARY_VPID, VmxCpu, VmxError};
use crate::arch::x86_64::exception;
use crate::arch::x86_64::gdt::CpuTables;

/// The guest's general-purpose registers (RSP and RIP live in the VMCS),
/// in the order `vmx_run` saves them.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct GuestRegisters {
    pub rax: u64,
    pub rbx: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub rbp: u64,
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
}

// vmx_run(registers, launched) -> 0 after a VM exit, 1 if the entry failed
// (the flags of VMLAUNCH/VMRESUME are then in the returned CF/ZF bits).
// It saves the host's callee-saved registers and the registers pointer on
// its stack, whose top becomes the VMCS's host RSP; the VMCS's host RIP is
// vmx_exit, which saves the guest's registers through that pointer and
// returns as vmx_run.
global_asm!(
    ".global vmx_run",
    "vmx_run:",
    "    push %rbp; push %rbx; push %r12; push %r13; push %r14; push %r15",
    "    push %rdi",
    "    mov ${host_rsp}, %rax",
    "    vmwrite %rsp, %rax",
    "    mov %rsi, %rax",
    "    mov {rbx}(%rdi), %rbx; mov {rcx}(%rdi), %rcx; mov {rdx}(%rdi), %rdx",
    "    mov {rsi}(%rdi), %rsi; mov {rbp}(%rdi), %rbp; mov {r8}(%rdi), %r8",
    "    mov {r9}(%rdi), %r9; mov {r10}(%rdi), %r10; mov {r11}(%rdi), %r11",
    "    mov {r12}(%rdi), %r12; mov {r13}(%rdi), %r13; mov {r14}(%rdi), %r14",
    "    mov {r15}(%rdi), %r15",
    "    test %rax, %rax",
    "    mov {rax}(%rdi), %rax",
    "    mov {rdi}(%rdi), %rdi",
    "    jnz 1f",
    "    vmlaunch",
    "    jmp 2f",
    "1:  vmresume",
    "2:  pushfq",
    "    pop %rax",
    "    pop %rdi",
    "    pop %r15; pop %r14; pop %r13; pop %r12; pop %rbx; pop %rbp",
    "    and ${flags}, %rax",
    "    bts ${entry_failed_bit}, %rax",
    "    ret",
    ".global vmx_exit",
    "vmx_exit:",
    "    push %rdi",
    "    mov 8(%rsp), %rdi",
    "    mov %rax, {rax}(%rdi); mov %rbx, {rbx}(%rdi); mov %rcx, {rcx}(%rdi)",
    "    mov %rdx, {rdx}(%rdi); mov %rsi, {rsi}(%rdi); mov %rbp, {rbp}(%rdi)",
    "    mov %r8, {r8}(%rdi); mov %r9, {r9}(%rdi); mov %r10, {r10}(%rdi)",
    "    mov %r11, {r11}(%rdi); mov %r12, {r12}(%rdi); mov %r13, {r13}(%rdi)",
    "    mov %r14, {r14}(%rdi); mov %r15, {r15}(%rdi)",
    "    pop %rax",
    "    mov %rax, {rdi}(%rdi)",
    "    pop %rdi",
    "    pop %r15; pop %r14; pop %r13; pop %r12; pop %rbx; pop %rbp",
    "    xor %eax, %eax",
    "    ret",
    host_rsp = const Field::HostRsp as u32,
    flags = const RFLAGS_CF | RFLAGS_ZF,
    entry_failed_bit = const ENTRY_FAILED_BIT,
    rax = const offset_of!(GuestRegisters, rax),
    rbx = const offset_of!(GuestRegisters, rbx),
    rcx = const offset_of!(GuestRegisters, rcx),
    rdx = const offset_of!(GuestRegisters, rdx),
    rsi = const offset_of!(GuestRegisters, rsi),
    rdi = const offset_of!(GuestRegisters, rdi),
    rbp = const offset_of!(GuestRegisters, rbp),
    r8 = const offset_of!(GuestRegisters, r8),
    r9 = const offset_of!(GuestRegisters, r9),
    r10 = const offset_of!(GuestRegisters, r10),
    r11 = const offset_of!(GuestRegisters, r11),
    r12 = const offset_of!(GuestRegisters, r12),
    r13 = const offset_of!(GuestRegisters, r13),
    r14 = const offset_of!(GuestRegisters, r14),
    r15 = const offset_of!(GuestRegisters, r15),
    options(att_syntax),
);

/// RFLAGS bits a failed VM entry sets.
const RFLAGS_CF: u64 = 1 << 0;
const RFLAGS_ZF: u64 = 1 << 6;
/// `vmx_run`'s result when the entry failed (ORed with CF/ZF).
const ENTRY_FAILED_BIT: u32 = 32;
const ENTRY_FAILED: u64 = 1 << ENTRY_FAILED_BIT;

unsafe extern "C" {
    fn vmx_run(registers: *mut GuestRegisters, launched: u64) -> u64;
    static vmx_exit: u8;
}

/// CR0.NE: VMX needs it, so cordon keeps it set whatever the guest writes.
const CR0_KEPT: u64 = 1 << 5;
/// CR4.VMXE: VMX requires it in the guest too; the read shadow hides it.
const CR4_VMXE: u64 = 1 << 13;
/// RFLAGS bit 1 is always 1.
const RFLAGS_FIXED: u64 = 1 << 1;
/// DR7's reset value.
const DR7_RESET: u64 = 0x400;
/// RFLAGS.IF: the guest takes interrupts.
const RFLAGS_IF: u64 = 1 << 9;
/// Guest interruptibility: blocking by STI and by MOV SS.
const BLOCKING_BY_STI_OR_MOV_SS: u64 = 0b11;
/// Guest activity state HLT.
const ACTIVITY_HLT: u64 = 1;
/// VM-entry control: the guest runs in IA-32e mode (EFER.LMA).
const ENTRY_IA32E_MODE_GUEST: u64 = 1 << 9;
/// VM-entry interruption information: a hardware exception, with an error
/// code, valid.
const INTERRUPTION_HARDWARE_EXCEPTION: u64 = 3 << 8;
const INTERRUPTION_ERROR_CODE: u64 = 1 << 11;
const INTERRUPTION_VALID: u64 = 1 << 31;
/// CR0.PE: the guest is in protected mode.
const CR0_PE: u64 = 1 << 0;
/// "No shadow VMCS".
const NO_VMCS_LINK: u64 = u64::MAX;

/// Where a VM's first vCPU starts and what it runs on.
#[derive(Clone, Copy)]
pub struct GuestStart {
    /// The EPT pointer of the VM's memory.
    pub ept_pointer: u64,
    /// The VPID (non-zero) to tag its TLB entries with, if the CPU has VPIDs.
    pub vpid: u16,
    /// The registers it starts with.
    pub entry: EntryState,
    /// Whether it owns this CPU's interrupts: they reach it directly,
    /// without a VM exit, and its HLT (with interrupts enabled) waits for
    /// them on the CPU.
    pub owns_interrupts: bool,
    /// The VM's I/O bitmaps, which say which ports it reaches directly.
    pub io_bitmaps: &'static IoBitmaps,
    /// Which MSRs it reaches directly.
    pub msr_bitmap: &'static MsrBitmap,
}

/// A control register whose guest-owned bits the guest may write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestCr {
    Cr0,
    Cr4,
}

impl GuestRegisters {
    /// Register `number` in exit-qualification order; `None` for RSP,
    /// which the VMCS holds.
    fn by_number(&self, number: u8) -> Option<u64> {
        let mut copy = *self;
        copy.by_number_mut(number).map(|register| *register)
    }

    fn by_number_mut(&mut self, number: u8) -> Option<&mut u64> {
        Some(match number {
            0 => &mut self.rax,
            1 => &mut self.rcx,
            2 => &mut self.rdx,
            3 => &mut self.rbx,
            5 => &mut self.rbp,
            6 => &mut self.rsi,
            7 => &mut self.rdi,
            8 => &mut self.r8,
            9 => &mut self.r9,
            10 => &mut self.r10,
            11 => &mut self.r11,
            12 => &mut self.r12,
            13 => &mut self.r13,
            14 => &mut self.r14,
            15 => &mut self.r15,
            _ => return None,
        })
    }
}

/// A vCPU on this CPU.
pub struct Vcpu {
    vmcs: u64,
    launched: bool,
    owns_interrupts: bool,
    pub registers: GuestRegisters,
}

impl Vcpu {
    /// A vCPU whose VMCS is set up to start the guest as `start` says;
    /// its VMCS is current on this CPU.
    pub fn new(cpu: &VmxCpu, tables: &CpuTables, start: GuestStart) -> Result<Self, VmxError> {
        let vmcs = frames::allocate_page().ok_or(VmxError::NoMemory)?;
        let mut vcpu = Self {
            vmcs,
            launched: false,
            owns_interrupts: start.owns_interrupts,
            registers: GuestRegisters::default(),
        };
        vcpu.restart(cpu, tables, start)?;
        Ok(vcpu)
    }

    /// Sets this vCPU's VMCS up afresh to start the guest as `start` says
    /// (a VM starting again); its VMCS is current on this CPU.
    pub fn restart(
        &mut self,
        cpu: &VmxCpu,
        tables: &CpuTables,
        start: GuestStart,
    ) -> Result<(), VmxError> {
        // SAFETY (all three): this CPU is in VMX operation (it has a
        // VmxCpu) and the VMCS page is this vCPU's alone, identity-mapped;
        // VMCLEAR makes it inactive and launchable anew, and an inactive
        // VMCS starts with the revision identifier.
        unsafe { instructions::vmclear(self.vmcs).map_err(VmxError::Vmcs)? };
        unsafe { (self.vmcs as *mut u32).write(cpu.revision) };
        unsafe { instructions::vmptrld(self.vmcs).map_err(VmxError::Vmcs)? };
        self.launched = false;
        self.owns_interrupts = start.owns_interrupts;
        self.registers = GuestRegisters {
            rsi: start.entry.rsi,
            ..GuestRegisters::default()
        };
        self.write_controls(cpu, start).map_err(VmxError::Vmcs)?;
        self.write_host_state(tables).map_err(VmxError::Vmcs)?;
        self.write_guest_state(start).map_err(VmxError::Vmcs)
    }

    /// Enters the guest until its next VM exit; the reason it exited.
    pub fn run(&mut self) -> Result<ExitReason, VmxError> {
        // SAFETY: this vCPU's VMCS is current (made so by `new`, and vCPUs
        // do not migrate); its host state returns to `vmx_exit`, which
        // saves the guest's registers into `self.registers`.
        let result = unsafe { vmx_run(&mut self.registers, u64::from(self.launched)) };
        if result & ENTRY_FAILED != 0 {
            let error = if result & RFLAGS_CF != 0 {
                VmFail::Invalid
            } else {
                VmFail::Valid(self.read(Field::InstructionError) as u32)
            };
            return Err(VmxError::Entry(error));
        }
        self.launched = true;
        self.follow_long_mode();
        let (reason, _) = ExitReason::decode(self.read(Field::ExitReason) as u32);
        Ok(reason)
    }

    /// Keeps the "IA-32e mode guest" entry control equal to the EFER.LMA
    /// the guest left with (it may have switched modes since the last
    /// entry), as the next VM entry requires.
    fn follow_long_mode(&mut self) {
        let long = self.read(Field::GuestIa32Efer) & EFER_LMA != 0;
        let controls = self.read(Field::EntryControls);
        let wanted = if long {
            controls | ENTRY_IA32E_MODE_GUEST
        } else {
            controls & !ENTRY_IA32E_MODE_GUEST
        };
        if wanted != controls {
            let _ = self.write(Field::EntryControls, wanted);
        }
    }

    /// A field of this vCPU's VMCS.
    pub fn read(&self, field: Field) -> u64 {
        // SAFETY: this vCPU's VMCS is current.
        unsafe { instructions::vmread(field) }
    }

    /// Moves the guest past the instruction that caused this exit.
    pub fn skip_instruction(&mut self) {
        let rip = self.read(Field::GuestRip) + self.read(Field::ExitInstructionLength);
        // SAFETY: this vCPU's VMCS is current; RIP is the guest's own.
        let _ = unsafe { instructions::vmwrite(Field::GuestRip, rip) };
    }

    /// General-purpose register `number` (0 = RAX, 1 = RCX, ... 15 = R15,
    /// as exit qualifications number them).
    pub fn gpr(&self, number: u8) -> u64 {
        match self.registers.by_number(number) {
            Some(value) => value,
            None => self.read(Field::GuestRsp),
        }
    }

    /// Sets general-purpose register `number` (as for [`Vcpu::gpr`]).
    pub fn set_gpr(&mut self, number: u8, value: u64) {
        match self.registers.by_number_mut(number) {
            Some(register) => *register = value,
            // SAFETY: this vCPU's VMCS is current; RSP is the guest's own.
            None => {
                let _ = unsafe { instructions::vmwrite(Field::GuestRsp, value) };
            }
        }
    }

    /// CR0 as the guest sees it (its read shadow for the bits cordon keeps).
    pub fn guest_cr0(&self) -> u64 {
        (self.read(Field::GuestCr0) & !CR0_KEPT) | (self.read(Field::Cr0ReadShadow) & CR0_KEPT)
    }

    /// The guest writes `value` to `cr`: it runs with the bits VMX needs
    /// kept set, and reads back what it wrote.
    pub fn write_guest_cr(&mut self, cr: GuestCr, value: u64) {
        let (real, shadow, kept) = match cr {
            GuestCr::Cr0 => (Field::GuestCr0, Field::Cr0ReadShadow, CR0_KEPT),
            GuestCr::Cr4 => (Field::GuestCr4, Field::Cr4ReadShadow, CR4_VMXE),
        };
        let (running, seen) = cr_access::guest_write(value, kept);
        // SAFETY: this vCPU's VMCS is current; the kept bits keep the guest
        // within what VMX requires.
        unsafe {
            let _ = instructions::vmwrite(real, running);
            let _ = instructions::vmwrite(shadow, seen);
        }
    }

    /// Whether the guest owns this CPU's interrupts (they wake its HLT).
    pub fn owns_interrupts(&self) -> bool {
        self.owns_interrupts
    }

    /// Whether the guest has interrupts enabled (RFLAGS.IF).
    pub fn interrupts_enabled(&self) -> bool {
        self.read(Field::GuestRflags) & RFLAGS_IF != 0
    }

    /// Lets the guest, which just halted with interrupts enabled, wait in
    /// the HLT state for its next interrupt, on the CPU: it resumes past
    /// its HLT, whose STI or MOV-SS shadow has ended (VM entry into HLT
    /// requires none).
    pub fn wait_for_interrupt(&mut self) {
        self.skip_instruction();
        let interruptibility = self.read(Field::GuestInterruptibility) & !BLOCKING_BY_STI_OR_MOV_SS;
        // SAFETY: this vCPU's VMCS is current; HLT is an activity state
        // every VMX CPU supports, entered as the guest's own HLT would.
        let _ = unsafe { instructions::vmwrite(Field::GuestInterruptibility, interruptibility) };
        let _ = unsafe { instructions::vmwrite(Field::GuestActivityState, ACTIVITY_HLT) };
    }

    /// Makes the guest take exception `vector` at the next entry, instead
    /// of running on. The error code goes with it if the CPU pushes one for
    /// that vector, which it does only in protected mode.
    pub fn inject_exception(&mut self, vector: u8, error_code: u32) {
        let protected = self.read(Field::GuestCr0) & CR0_PE != 0;
        let with_code = protected && exception::has_error_code(vector);
        let info = u64::from(vector)
            | INTERRUPTION_HARDWARE_EXCEPTION
            | if with_code {
                INTERRUPTION_ERROR_CODE
            } else {
                0
            }
            | INTERRUPTION_VALID;
        // SAFETY (both): this vCPU's VMCS is current; an exception is what
        // the guest's own instruction would have raised on hardware.
        let _ = unsafe { instructions::vmwrite(Field::EntryInterruptionInfo, info) };
        if with_code {
            let _ =
                unsafe { instructions::vmwrite(Field::EntryExceptionErrorCode, error_code.into()) };
        }
    }

    /// The VMCS's physical address.
    pub fn vmcs(&self) -> u64 {
        self.vmcs
    }

    fn write(&self, field: Field, value: u64) -> Result<(), VmFail> {
        // SAFETY: this vCPU's VMCS is current; callers write only values
        // that keep the guest inside what it was given.
        unsafe { instructions::vmwrite(field, value) }
    }

    fn write_controls(&self, cpu: &VmxCpu, start: GuestStart) -> Result<(), VmFail> {
        let controls = cpu.controls;
        let mut pin = controls.pin;
        if start.owns_interrupts {
            pin &= !PIN_EXTERNAL_INTERRUPT_EXITING;
        }
        let mut entry = u64::from(controls.entry);
        if start.entry.long() {
            entry |= ENTRY_IA32E_MODE_GUEST;
        }
        self.write(Field::PinBasedControls, pin.into())?;
        self.write(Field::PrimaryProcessorControls, controls.primary.into())?;
        self.write(Field::SecondaryProcessorControls, controls.secondary.into())?;
        self.write(Field::ExitControls, controls.exit.into())?;
        self.write(Field::EntryControls, entry)?;
        self.write(Field::ExceptionBitmap, 0)?;
        self.write(Field::EptPointer, start.ept_pointer)?;
        let [bitmap_a, bitmap_b] = &start.io_bitmaps.bitmaps;
        self.write(Field::IoBitmapA, bitmap_a.as_ptr() as u64)?;
        self.write(Field::IoBitmapB, bitmap_b.as_ptr() as u64)?;
        self.write(Field::MsrBitmap, start.msr_bitmap.bits.as_ptr() as u64)?;
        if controls.secondary & SECONDARY_VPID != 0 {
            self.write(Field::Vpid, start.vpid.into())?;
        }
        // The guest owns no CR0/CR4 bit that VMX fixes: changing NE or
        // VMXE exits; reads see the shadow (VMXE clear).
        self.write(Field::Cr0GuestHostMask, CR0_KEPT)?;
        self.write(Field::Cr0ReadShadow, start.entry.cr0)?;
        self.write(Field::Cr4GuestHostMask, CR4_VMXE)?;
        self.write(Field::Cr4ReadShadow, start.entry.cr4)?;
        self.write(Field::VmcsLinkPointer, NO_VMCS_LINK)
    }

    fn write_host_state(&self, tables: &CpuTables) -> Result<(), VmFail> {
        self.write(Field::HostCr0, Cr0::read_raw())?;
        self.write(Field::HostCr3, Cr3::read_raw().0.start_address().as_u64())?;
        self.write(Field::HostCr4, Cr4::read_raw())?;
        self.write(Field::HostCsSelector, tables.code.0.into())?;
        for field in [
            Field::HostSsSelector,
            Field::HostDsSelector,
            Field::HostEsSelector,
            Field::HostFsSelector,
            Field::HostGsSelector,
        ] {
            self.write(field, tables.data.0.into())?;
        }
        self.write(Field::HostTrSelector, tables.task.0.into())?;
        self.write(Field::HostTrBase, tables.tss_base())?;
        self.write(Field::HostGdtrBase, sgdt().base.as_u64())?;
        self.write(Field::HostIdtrBase, sidt().base.as_u64())?;
        self.write(Field::HostFsBase, FsBase::read().as_u64())?;
        self.write(Field::HostGsBase, GsBase::read().as_u64())?;
        self.write(Field::HostIa32Efer, Efer::read_raw())?;
        self.write(Field::HostSysenterCs, 0)?;
        self.write(Field::HostSysenterEsp, 0)?;
        self.write(Field::HostSysenterEip, 0)?;
        self.write(Field::HostRip, &raw const vmx_exit as u64)
    }

    fn write_guest_state(&self, start: GuestStart) -> Result<(), VmFail> {
        let state = start.entry;
        let unusable = Segment {
            selector: 0,
            base: 0,
            limit: 0,
            access: UNUSABLE,
        };
        let segments = [
            (SegmentFields::CS, state.code),
            (SegmentFields::SS, state.data),
            (SegmentFields::DS, state.data),
            (SegmentFields::ES, state.data),
            (SegmentFields::FS, state.data),
            (SegmentFields::GS, state.data),
            (SegmentFields::TR, state.task),
            (SegmentFields::LDTR, unusable),
        ];
        for (fields, segment) in segments {
            self.write(fields.selector, segment.selector.into())?;
            self.write(fields.base, segment.base)?;
            self.write(fields.limit, segment.limit.into())?;
            self.write(fields.access, segment.access.into())?;
        }
        let (gdt_base, gdt_limit) = state.gdtr;
        self.write(Field::GuestGdtrBase, gdt_base)?;
        self.write(Field::GuestGdtrLimit, gdt_limit.into())?;
        let (idt_base, idt_limit) = state.idtr;
        self.write(Field::GuestIdtrBase, idt_base)?;
        self.write(Field::GuestIdtrLimit, idt_limit.into())?;
        self.write(Field::GuestCr0, state.cr0 | CR0_KEPT)?;
        self.write(Field::GuestCr3, state.cr3)?;
        self.write(Field::GuestCr4, state.cr4 | CR4_VMXE)?;
        self.write(Field::GuestDr7, DR7_RESET)?;
        self.write(Field::GuestRflags, RFLAGS_FIXED)?;
        self.write(Field::GuestRip, state.rip)?;
        self.write(Field::GuestRsp, state.rsp)?;
        self.write(Field::GuestIa32Efer, state.efer)?;
        self.write(Field::GuestSysenterCs, 0)?;
        self.write(Field::GuestSysenterEsp, 0)?;
        self.write(Field::GuestSysenterEip, 0)?;
        self.write(Field::GuestInterruptibility, 0)?;
        self.write(Field::GuestActivityState, 0)?;
        self.write(Field::GuestPendingDebugExceptions, 0)
    }
}

/// The four VMCS fields of one guest segment register.
struct SegmentFields {
    selector: Field,
    base: Field,
    limit: Field,
    access: Field,
}

impl SegmentFields {
    const CS: Self = Self {
        selector: Field::GuestCsSelector,
        base: Field::GuestCsBase,
        limit: Field::GuestCsLimit,
        access: Field::GuestCsAccessRights,
    };
    const SS: Self = Self {
        selector: Field::GuestSsSelector,
        base: Field::GuestSsBase,
        limit: Field::GuestSsLimit,
        access: Field::GuestSsAccessRights,
    };
    const DS: Self = Self {
        selector: Field::GuestDsSelector,
        base: Field::GuestDsBase,
        limit: Field::GuestDsLimit,
        access: Field::GuestDsAccessRights,
    };
    const ES: Self = Self {
        selector: Field::GuestEsSelector,
        base: Field::GuestEsBase,
        limit: Field::GuestEsLimit,
        access: Field::GuestEsAccessRights,
    };
    const FS: Self = Self {
        selector: Field::GuestFsSelector,
        base: Field::GuestFsBase,
        limit: Field::GuestFsLimit,
        access: Field::GuestFsAccessRights,
    };
    const GS: Self = Self {
        selector: Field::GuestGsSelector,
        base: Field::GuestGsBase,
        limit: Field::GuestGsLimit,
        access: Field::GuestGsAccessRights,
    };
    const TR: Self = Self {
        selector: Field::GuestTrSelector,
        base: Field::GuestTrBase,
        limit: Field::GuestTrLimit,
        access: Field::GuestTrAccessRights,
    };
    const LDTR: Self = Self {
        selector: Field::GuestLdtrSelector,
        base: Field::GuestLdtrBase,
        limit: Field::GuestLdtrLimit,
        access: Field::GuestLdtrAccessRights,
    };
}
