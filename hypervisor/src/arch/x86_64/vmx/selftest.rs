//! The VMX selftest (`cordon.selftest=vmx`): two tiny real-mode guests, one
//! after the other, on this CPU. The first writes a line to COM1, which is
//! assigned to it, and to port 0x80, which is not; makes hypercalls (a
//! computed value, a value built on the previous call's result, CPUID leaf
//! 1's ECX) and halts. The second reads outside its memory and must be
//! stopped; the third triple-faults and must be stopped; the fourth reads
//! an MSR it may not, and its own #GP handler must run; the fifth clears
//! CR0.NE and must read back what it wrote; cordon runs on. Between the two, a third guest starts
//! on the second CPU and beats (a hypercall, then a pause, for ever); it
//! must go on beating after the second and third guests are stopped. (It starts after
//! the first guest, whose COM1 output would otherwise mix with cordon's
//! log lines.) The boot test checks what they print.

use alloc::boxed::Box;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use log::info;

use super::entry_state::EntryState;
use super::ept::{Access, Ept, LARGE_PAGE_SIZE, PAGE_SIZE};
use super::exit_reason::ExitReason;
use super::exits::{self, Next, Stopped};
use super::frames::{self, HeapFrames};
use super::io::IoBitmaps;
use super::msr::MsrBitmap;
use super::operation::{VmxCpu, VmxError};
use super::vcpu::{GuestStart, Vcpu};
use crate::arch::x86_64::gdt::CpuTables;

/// Where each guest's code starts (CS = 0), and its stack.
const GUEST_ENTRY: u64 = 0x1000;
const GUEST_STACK: u64 = 0x8000;

/// 16-bit code: write the NUL-terminated line at [`MESSAGE`] to COM1 (each
/// byte once the transmitter is empty) and a
/// byte to port 0x80; log 0x1234 + 0x0101; log 0x42 plus the previous
/// call's result (0 on success); log CPUID leaf 1's ECX; halt.
const HYPERCALLS: &[u8] = &[
    0xba, 0xf8, 0x03, // mov dx, 0x3f8 (COM1)
    0xbe, 0x00, 0x18, // mov si, 0x1800 (MESSAGE)
    0xac, // next: lodsb
    0x84, 0xc0, // test al, al
    0x74, 0x10, // jz done
    0x88, 0xc4, // mov ah, al
    0xb2, 0xfd, // mov dl, 0xfd (line status)
    0xec, // wait: in al, dx
    0xa8, 0x20, // test al, 0x20 (transmitter empty)
    0x74, 0xfb, // jz wait
    0xb2, 0xf8, // mov dl, 0xf8 (transmit)
    0x88, 0xe0, // mov al, ah
    0xee, // out dx, al
    0xeb, 0xeb, // jmp next
    0xb0, 0x55, // done: mov al, 0x55
    0xe6, 0x80, // out 0x80, al
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
/// Where the first guest's line for COM1 is, and the line.
const MESSAGE: u64 = 0x1800;
const MESSAGE_TEXT: &[u8] = b"vm1: this line went straight to COM1\n\0";
/// The ports assigned to the first guest: COM1.
const COM1: core::ops::RangeInclusive<u16> = 0x3f8..=0x3ff;

/// 16-bit code: read the word at 0x1000:0 (guest-physical 0x10000), just
/// past the probe's memory.
const PROBE: &[u8] = &[
    0xb8, 0x00, 0x10, // mov ax, 0x1000
    0x8e, 0xc0, // mov es, ax
    0x26, 0xa1, 0x00, 0x00, // mov ax, es:[0]
    0xf4, // hlt
];
/// 16-bit code: load an empty IDT (the zeroed descriptor at 0x1800), then
/// INT3: #GP, #DF, triple fault.
const TRIPLE_FAULT: &[u8] = &[
    0x0f, 0x01, 0x1e, 0x00, 0x18, // lidt [0x1800]
    0xcc, // int3
    0xf4, // hlt
];
/// 16-bit code: point the #GP vector at [`MSR_HANDLER`], then read
/// IA32_FEATURE_CONTROL, which the guest may not.
const MSR_READ: &[u8] = &[
    0xc7, 0x06, 0x34, 0x00, 0x00, 0x11, // mov word [13 * 4], 0x1100
    0xc7, 0x06, 0x36, 0x00, 0x00, 0x00, // mov word [13 * 4 + 2], 0
    0x66, 0xb9, 0x3a, 0x00, 0x00, 0x00, // mov ecx, 0x3a
    0x0f, 0x32, // rdmsr
    0xf4, // hlt (not reached)
];
/// Where the #GP handler is, and the handler: log 13, halt.
const MSR_HANDLER: u64 = 0x1100;
const MSR_HANDLER_CODE: &[u8] = &[
    0xb8, 0x01, 0x00, // mov ax, 1 (log)
    0xbb, 0x0d, 0x00, // mov bx, 13
    0x0f, 0x01, 0xc1, // vmcall
    0xf4, // hlt
];
/// 16-bit code: clear CR0.NE, which VMX keeps set underneath, read CR0
/// back and log it: the guest must see what it wrote.
const CR0_WRITE: &[u8] = &[
    0x0f, 0x20, 0xc0, // mov eax, cr0
    0x66, 0x83, 0xe0, 0xdf, // and eax, ~0x20 (NE)
    0x0f, 0x22, 0xc0, // mov cr0, eax
    0x0f, 0x20, 0xc0, // mov eax, cr0
    0x66, 0x89, 0xc3, // mov ebx, eax
    0x66, 0xb8, 0x01, 0x00, 0x00, 0x00, // mov eax, 1 (log)
    0x0f, 0x01, 0xc1, // vmcall
    0xf4, // hlt
];
/// 16-bit code: log 1, 2, 3... with a pause between two.
const HEARTBEAT: &[u8] = &[
    0x66, 0x31, 0xdb, // xor ebx, ebx
    0x66, 0x43, // beat: inc ebx
    0x66, 0xb8, 0x01, 0x00, 0x00, 0x00, // mov eax, 1 (log)
    0x0f, 0x01, 0xc1, // vmcall
    0x66, 0xb9, 0x00, 0x00, 0x40, 0x00, // mov ecx, 0x400000
    0x66, 0x49, // pause: dec ecx
    0x75, 0xfc, // jnz pause
    0xeb, 0xe9, // jmp beat
];
/// The guests' memory: one large page, and 64 KiB of small ones (the
/// probe, the triple fault, the heartbeat).
const HYPERCALLS_RAM: u64 = LARGE_PAGE_SIZE;
const PROBE_RAM: u64 = 16 * PAGE_SIZE;
const HEARTBEAT_RAM: u64 = 16 * PAGE_SIZE;
/// The CPU the heartbeat guest runs on.
pub const HEARTBEAT_CPU: usize = 1;
/// How many times the boot CPU looks for a new beat before it gives up.
const BEAT_WAIT_POLLS: u64 = 1 << 32;

/// Whether the heartbeat CPU is to run the heartbeat guest, and when.
static HEARTBEAT_WANTED: AtomicBool = AtomicBool::new(false);
static HEARTBEAT_GO: AtomicBool = AtomicBool::new(false);
/// The heartbeat guest's last beat, once it is logged.
static BEATS: AtomicU64 = AtomicU64::new(0);

/// One selftest guest.
struct TestGuest {
    name: &'static str,
    code: &'static [u8],
    /// Data at a guest-physical address, if any.
    data: Option<(u64, &'static [u8])>,
    ram: u64,
    /// Ports it reaches directly.
    ports: Option<core::ops::RangeInclusive<u16>>,
}

/// Asks the heartbeat CPU, before it starts, to run the heartbeat guest.
pub fn want_heartbeat() {
    HEARTBEAT_WANTED.store(true, Ordering::Release);
}

/// Whether CPU `index` is to run the heartbeat guest.
pub fn runs_heartbeat(index: usize) -> bool {
    index == HEARTBEAT_CPU && HEARTBEAT_WANTED.load(Ordering::Acquire)
}

/// Runs the heartbeat guest on this CPU (the heartbeat CPU), once the boot
/// CPU says so, until cordon stops it.
pub fn run_heartbeat(cpu: &VmxCpu, tables: &CpuTables) -> Result<(), VmxError> {
    while !HEARTBEAT_GO.load(Ordering::Acquire) {
        core::hint::spin_loop();
    }
    let guest = TestGuest {
        name: "heartbeat",
        code: HEARTBEAT,
        data: None,
        ram: HEARTBEAT_RAM,
        ports: None,
    };
    let stopped = run_guest(cpu, tables, &guest, HEARTBEAT_VPID, |vcpu, reason| {
        if reason == ExitReason::Vmcall {
            BEATS.store(vcpu.registers.rbx, Ordering::Release);
        }
    })?;
    info!("heartbeat: stopped: {stopped}");
    Ok(())
}

/// Each guest's VPID.
const VM1_VPID: u16 = 1;
const VM2_VPID: u16 = 2;
const VM3_VPID: u16 = 3;
const VM4_VPID: u16 = 4;
const VM5_VPID: u16 = 5;
const HEARTBEAT_VPID: u16 = 6;

/// Runs the other guests on this CPU, one after the other; each one's
/// end is logged. With `heartbeat`, starts the heartbeat guest after the
/// first and waits for its first beat, and at the end for a beat after the
/// others stopped.
pub fn run(cpu: &VmxCpu, tables: &CpuTables, heartbeat: bool) -> Result<(), VmxError> {
    let vm1 = TestGuest {
        name: "vm1",
        code: HYPERCALLS,
        data: Some((MESSAGE, MESSAGE_TEXT)),
        ram: HYPERCALLS_RAM,
        ports: Some(COM1),
    };
    let vm2 = TestGuest {
        name: "vm2",
        code: PROBE,
        data: None,
        ram: PROBE_RAM,
        ports: None,
    };
    let stopped = run_guest(cpu, tables, &vm1, VM1_VPID, |_, _| {})?;
    info!("vm1: stopped: {stopped}");
    if heartbeat {
        start_heartbeat()?;
    }
    let vm3 = TestGuest {
        name: "vm3",
        code: TRIPLE_FAULT,
        data: None,
        ram: PROBE_RAM,
        ports: None,
    };
    let vm4 = TestGuest {
        name: "vm4",
        code: MSR_READ,
        data: Some((MSR_HANDLER, MSR_HANDLER_CODE)),
        ram: PROBE_RAM,
        ports: None,
    };
    let vm5 = TestGuest {
        name: "vm5",
        code: CR0_WRITE,
        data: None,
        ram: PROBE_RAM,
        ports: None,
    };
    let others = [
        (vm2, VM2_VPID),
        (vm3, VM3_VPID),
        (vm4, VM4_VPID),
        (vm5, VM5_VPID),
    ];
    for (guest, vpid) in others {
        let stopped = run_guest(cpu, tables, &guest, vpid, |_, _| {})?;
        info!("{}: stopped: {stopped}", guest.name);
    }
    if heartbeat {
        let beat = next_beat()?;
        info!(
            "heartbeat: still beating on cpu{HEARTBEAT_CPU} after the others were stopped \
             (beat {beat})"
        );
    }
    info!("VMX selftest: the VMs ran and were stopped; cordon runs on");
    Ok(())
}

/// Lets the heartbeat CPU start the heartbeat guest, and waits for its
/// first beat; the beat.
fn start_heartbeat() -> Result<u64, VmxError> {
    HEARTBEAT_GO.store(true, Ordering::Release);
    wait_for_beat_after(0)
}

/// Waits for the heartbeat guest's next beat; the beat.
fn next_beat() -> Result<u64, VmxError> {
    wait_for_beat_after(BEATS.load(Ordering::Acquire))
}

/// Waits until the heartbeat guest logs a beat after `beat`; the new beat.
fn wait_for_beat_after(beat: u64) -> Result<u64, VmxError> {
    for _ in 0..BEAT_WAIT_POLLS {
        let now = BEATS.load(Ordering::Acquire);
        if now > beat {
            return Ok(now);
        }
        core::hint::spin_loop();
    }
    Err(VmxError::NoHeartbeat { beat })
}

/// Runs `guest` until cordon stops it.
fn run_guest(
    cpu: &VmxCpu,
    tables: &CpuTables,
    guest: &TestGuest,
    vpid: u16,
    mut on_exit: impl FnMut(&Vcpu, ExitReason),
) -> Result<Stopped, VmxError> {
    let (name, ram) = (guest.name, guest.ram);
    let host = frames::allocate(ram, ram.min(LARGE_PAGE_SIZE)).ok_or(VmxError::NoMemory)?;
    let loads = [(GUEST_ENTRY, guest.code)].into_iter().chain(guest.data);
    for (address, bytes) in loads {
        // SAFETY: `host` is a fresh identity-mapped block of `ram` bytes,
        // and each piece fits in it where it goes.
        unsafe {
            core::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                (host + address) as *mut u8,
                bytes.len(),
            );
        }
    }
    let msr_bitmap: &'static MsrBitmap = Box::leak(Box::new(MsrBitmap::new()));
    let io_bitmaps: &'static mut IoBitmaps = Box::leak(Box::new(IoBitmaps::deny_all()));
    if let Some(ports) = guest.ports.clone() {
        io_bitmaps.allow(ports);
    }
    let mut ept = Ept::new(HeapFrames, cpu.ept).map_err(VmxError::Ept)?;
    ept.map(0, host, ram, Access::ALL).map_err(VmxError::Ept)?;
    let page = ept
        .translate(0)
        .map_or(0, |translation| translation.page_size);
    let start = GuestStart {
        ept_pointer: ept.pointer(),
        vpid,
        entry: EntryState::real_mode(GUEST_ENTRY, GUEST_STACK),
        owns_interrupts: false,
        io_bitmaps,
        msr_bitmap,
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
        let next = exits::handle(name, &mut vcpu, reason);
        on_exit(&vcpu, reason);
        if let Next::Stop(stopped) = next {
            return Ok(stopped);
        }
    }
}
