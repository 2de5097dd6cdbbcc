//! The VMX selftest (`cordon.selftest=vmx`): two tiny real-mode guests, one
//! after the other, on this CPU. The first makes hypercalls (a computed
//! value, a value built on the previous call's result, CPUID leaf 1's ECX)
//! and halts; the second reads outside its memory and must be stopped,
//! with cordon running on. The boot test checks the values they log.

use log::info;

use super::ept::{Access, Ept, LARGE_PAGE_SIZE, PAGE_SIZE};
use super::exits::{self, Next, Stopped};
use super::frames::{self, HeapFrames};
use super::operation::{VmxCpu, VmxError};
use super::vcpu::{GuestStart, Vcpu};
use crate::arch::x86_64::gdt::CpuTables;

/// Where each guest's code starts (CS = 0), and its stack.
const GUEST_ENTRY: u64 = 0x1000;
const GUEST_STACK: u64 = 0x8000;

/// 16-bit code: log 0x1234 + 0x0101; log 0x42 plus the previous call's
/// result (0 on success); log CPUID leaf 1's ECX; halt.
const HYPERCALLS: &[u8] = &[
    0xb8, 0x01, 0x00, // mov ax, 1 (log)
    0xbb, 0x34, 0x12, // mov bx, 0x1234
    0x81, 0xc3, 0x01, 0x01, // add bx, 0x0101
    0x0f, 0x01, 0xc1, // vmcall
    0x89, 0xc3, // mov bx, ax
    0x83, 0xc3, 0x42, // add bx, 0x42
    0xb8, 0x01, 0x00, // mov ax, 1
    0x0f, 0x01, 0xc1, // vmcall
    0x66, 0xb8, 0x01, 0x00, 0x00, 0x00, // mov eax, 1
    0x0f, 0xa2, // cpuid
    0x66, 0x89, 0xcb, // mov ebx, ecx
    0x66, 0xb8, 0x01, 0x00, 0x00, 0x00, // mov eax, 1 (log)
    0x0f, 0x01, 0xc1, // vmcall
    0xf4, // hlt
];
/// 16-bit code: read the word at 0x1000:0 (guest-physical 0x10000), just
/// past the probe's memory.
const PROBE: &[u8] = &[
    0xb8, 0x00, 0x10, // mov ax, 0x1000
    0x8e, 0xc0, // mov es, ax
    0x26, 0xa1, 0x00, 0x00, // mov ax, es:[0]
    0xf4, // hlt
];
/// The guests' memory: one large page, and 64 KiB of small ones.
const HYPERCALLS_RAM: u64 = LARGE_PAGE_SIZE;
const PROBE_RAM: u64 = 16 * PAGE_SIZE;

/// Runs both guests; each one's end is logged.
pub fn run(cpu: &VmxCpu, tables: &CpuTables) -> Result<(), VmxError> {
    let guests = [
        ("vm1", HYPERCALLS, HYPERCALLS_RAM),
        ("vm2", PROBE, PROBE_RAM),
    ];
    for (vpid, (name, code, ram)) in (1..).zip(guests) {
        let stopped = run_guest(cpu, tables, name, code, ram, vpid)?;
        info!("{name}: stopped: {stopped}");
    }
    info!("VMX selftest: both VMs ran and were stopped; cordon runs on");
    Ok(())
}

/// Runs `code` in a VM of `ram` bytes until cordon stops it.
fn run_guest(
    cpu: &VmxCpu,
    tables: &CpuTables,
    name: &str,
    code: &[u8],
    ram: u64,
    vpid: u16,
) -> Result<Stopped, VmxError> {
    let host = frames::allocate(ram, ram.min(LARGE_PAGE_SIZE)).ok_or(VmxError::NoMemory)?;
    // SAFETY: `host` is a fresh identity-mapped block of `ram` bytes, and
    // the code fits after GUEST_ENTRY.
    unsafe {
        core::ptr::copy_nonoverlapping(code.as_ptr(), (host + GUEST_ENTRY) as *mut u8, code.len());
    }
    let mut ept = Ept::new(HeapFrames, cpu.ept).map_err(VmxError::Ept)?;
    ept.map(0, host, ram, Access::ALL).map_err(VmxError::Ept)?;
    let page = ept
        .translate(0)
        .map_or(0, |translation| translation.page_size);
    let start = GuestStart {
        ept_pointer: ept.pointer(),
        vpid,
        rip: GUEST_ENTRY,
        rsp: GUEST_STACK,
    };
    let mut vcpu = Vcpu::new(cpu, tables, start)?;
    info!(
        "{name}: {} KiB at {host:#x} in {} KiB EPT pages, VMCS at {:#x}{}",
        ram / 1024,
        page / 1024,
        vcpu.vmcs(),
        if cpu.has_vpid() { ", with a VPID" } else { "" }
    );
    loop {
        let reason = vcpu.run()?;
        if let Next::Stop(stopped) = exits::handle(name, &mut vcpu, reason) {
            return Ok(stopped);
        }
    }
}
