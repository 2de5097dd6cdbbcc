//! A VM, the state of its vCPUs, and which physical CPU runs which vCPU
//! (each vCPU is pinned to one CPU for good).

use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU8, AtomicU16, AtomicU64, Ordering};

use spin::mutex::SpinMutex;

use super::exits::ExitCounters;
use crate::arch::aarch64::vgic::distributor::{MAX_VCPUS, VirtualDistributor};
use crate::dt::MAX_CPUS;
use crate::mm::PhysRange;
use crate::vdev::VirtualUart;

use super::channel::ChannelEnd;
use super::images::VmImages;
use super::lifecycle::Lifecycle;
use super::spec::VmSpec;
use crate::management::ManagementPort;
use crate::management::ring::ByteRing;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum VcpuState {
    Off = 0,
    /// Asked to start (PSCI CPU_ON or VM start); its CPU picks it up.
    Starting = 1,
    On = 2,
}

pub struct Vcpu {
    /// The physical CPU that runs this vCPU.
    pub pcpu: usize,
    state: AtomicU8,
    entry: AtomicU64,
    context: AtomicU64,
    /// SGIs raised by other vCPUs, not yet listed: bit n of entry s = SGI n
    /// from vCPU s.
    pub pending_sgis: [AtomicU16; MAX_VCPUS],
}

impl Vcpu {
    pub fn new(pcpu: usize) -> Self {
        Self {
            pcpu,
            state: AtomicU8::new(VcpuState::Off as u8),
            entry: AtomicU64::new(0),
            context: AtomicU64::new(0),
            pending_sgis: [const { AtomicU16::new(0) }; MAX_VCPUS],
        }
    }

    pub fn state(&self) -> VcpuState {
        match self.state.load(Ordering::Acquire) {
            0 => VcpuState::Off,
            1 => VcpuState::Starting,
            _ => VcpuState::On,
        }
    }

    /// Asks the vCPU to start at `entry` with `context` in x0; `false` if
    /// it is not off.
    pub fn start(&self, entry: u64, context: u64) -> bool {
        self.entry.store(entry, Ordering::Relaxed);
        self.context.store(context, Ordering::Relaxed);
        let started = self
            .state
            .compare_exchange(
                VcpuState::Off as u8,
                VcpuState::Starting as u8,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok();
        crate::arch::aarch64::cpu::send_event();
        started
    }

    pub fn stop(&self) {
        self.state.store(VcpuState::Off as u8, Ordering::Release);
    }
}

/// A UART cordon emulates for a VM: its console.
pub struct EmulatedUart {
    /// Guest-physical address of its registers.
    pub ipa: u64,
    /// The SPI it raises.
    pub spi: u32,
    pub model: SpinMutex<VirtualUart>,
    /// Output not yet on the console: VMs write whole lines, so VMs
    /// printing at once do not chop each other's lines. The VM with the
    /// input focus has a line left unfinished (a prompt) go out after
    /// [`CONSOLE_LINE_DELAY_MS`].
    pub pending_line: SpinMutex<heapless::Vec<u8, CONSOLE_LINE_MAX>>,
    /// When the pending line's first byte came (counter ticks).
    pub pending_since: AtomicU64,
}

/// Longest line kept back before it is written anyway.
pub const CONSOLE_LINE_MAX: usize = 160;
/// How long an unfinished line of the focused VM waits for the rest
/// (long enough that a vCPU the host descheduled mid-line rarely splits it).
pub const CONSOLE_LINE_DELAY_MS: u64 = 100;

impl EmulatedUart {
    /// The guest sent `byte`; `write` gets a finished (or full) line.
    pub fn transmit(&self, byte: u8, write: impl FnOnce(&[u8])) {
        let mut line = self.pending_line.lock();
        if line.is_empty() {
            self.pending_since
                .store(crate::arch::aarch64::cpu::counter().0, Ordering::Relaxed);
        }
        let full = line.push(byte).is_err();
        if byte == b'\n' || full {
            write(&line);
            line.clear();
            if full {
                // Cannot fail: just cleared.
                let _ = line.push(byte);
            }
        }
    }

    /// Writes an unfinished line that waited long enough (at VM exits).
    pub fn flush_stale(&self, write: impl FnOnce(&[u8])) {
        let mut line = self.pending_line.lock();
        if line.is_empty() {
            return;
        }
        let (now, hz) = crate::arch::aarch64::cpu::counter();
        let waited = now.saturating_sub(self.pending_since.load(Ordering::Relaxed));
        if waited > hz * CONSOLE_LINE_DELAY_MS / 1000 {
            write(&line);
            line.clear();
        }
    }
}

pub struct Vm {
    pub name: String,
    pub spec: VmSpec,
    /// Physical RAM of the VM, seen by the guest at `ipa_base`.
    pub ram: PhysRange,
    pub ipa_base: u64,
    /// What it starts from (kept to restart it; replaced by loads).
    pub images: SpinMutex<VmImages>,
    pub lifecycle: Lifecycle,
    /// What the VM's console lines start with on cordon's console.
    pub console_prefix: String,
    pub uart: Option<EmulatedUart>,
    /// This VM's ends of inter-VM channels.
    pub channels: Vec<ChannelEnd>,
    /// The management interface, for the management VM.
    pub management_port: Option<ManagementPort>,
    /// The end of what its console printed, for the management interface.
    pub console_ring: SpinMutex<ByteRing>,
    /// Refused accesses so far (see [`Vm::log_fault`]).
    pub faults_seen: AtomicU64,
    pub vmid: u16,
    /// VTTBR_EL2 and VTCR_EL2 values: the VM's stage-2 address space.
    pub vttbr: u64,
    pub vtcr: u64,
    pub vcpus: Vec<Vcpu>,
    pub distributor: SpinMutex<VirtualDistributor>,
    /// Guest-physical address of the emulated distributor.
    pub gicd_ipa: u64,
    pub exits: ExitCounters,
}

/// A VM's first this many refused accesses are logged, then only every
/// power of two: a guest must not be able to flood the shared console.
const FAULT_LOG_BURST: u64 = 16;

impl Vm {
    /// Whether to log the VM's latest refused access (counts them all).
    pub fn log_fault(&self) -> bool {
        let n = self.faults_seen.fetch_add(1, Ordering::Relaxed) + 1;
        n <= FAULT_LOG_BURST || n.is_power_of_two()
    }

    /// How many refused accesses the VM made.
    pub fn faults(&self) -> u64 {
        self.faults_seen.load(Ordering::Relaxed)
    }

    /// A number telling this VM's console output from others'.
    pub fn console_source(&self) -> usize {
        self.vmid as usize
    }

    /// Its RAM as the guest sees it.
    pub fn guest_memory(&self) -> cordon_guest_loader::GuestMemory {
        cordon_guest_loader::GuestMemory {
            ipa: self.ipa_base,
            size: self.ram.size(),
        }
    }

    /// The vCPU whose MPIDR affinity is `mpidr` (vCPU n has Aff0 = n).
    pub fn vcpu_by_mpidr(&self, mpidr: u64) -> Option<usize> {
        let index = (mpidr & crate::dt::MPIDR_AFFINITY_MASK) as usize;
        (index < self.vcpus.len()).then_some(index)
    }
}

/// Every VM, in the order they were built.
static VMS: SpinMutex<Vec<&'static Vm>> = SpinMutex::new(Vec::new());
/// Index in [`VMS`] of the VM that console input goes to.
static INPUT_FOCUS: SpinMutex<Option<usize>> = SpinMutex::new(None);

/// Adds a built VM to the list; the first with a console gets the input.
pub fn register(vm: &'static Vm) {
    let mut vms = VMS.lock();
    vms.push(vm);
    let mut focus = INPUT_FOCUS.lock();
    if focus.is_none() && vm.uart.is_some() {
        *focus = Some(vms.len() - 1);
    }
}

/// Every VM built, in order.
pub fn registered() -> Vec<&'static Vm> {
    VMS.lock().clone()
}

/// The management VM, once built.
pub fn management() -> Option<&'static Vm> {
    VMS.lock()
        .iter()
        .copied()
        .find(|vm| vm.spec.role == super::spec::Role::Management)
}

/// The VM called `name`, if it was built.
pub fn by_name(name: &str) -> Option<&'static Vm> {
    VMS.lock().iter().copied().find(|vm| vm.name == name)
}

pub fn input_focus() -> Option<&'static Vm> {
    let index = (*INPUT_FOCUS.lock())?;
    VMS.lock().get(index).copied()
}

/// Moves console input to the next VM that has a console; returns it.
pub fn next_input_focus() -> Option<&'static Vm> {
    let vms = VMS.lock();
    let mut focus = INPUT_FOCUS.lock();
    let start = focus.map_or(0, |i| i + 1);
    let next = (0..vms.len())
        .map(|n| (start + n) % vms.len())
        .find(|&i| vms[i].uart.is_some())?;
    *focus = Some(next);
    Some(vms[next])
}

/// Which vCPU each physical CPU runs.
static ASSIGNMENTS: [SpinMutex<Option<(&'static Vm, usize)>>; MAX_CPUS] =
    [const { SpinMutex::new(None) }; MAX_CPUS];

/// Gives vCPU `vcpu` of `vm` to its physical CPU.
pub fn assign(vm: &'static Vm, vcpu: usize) {
    *ASSIGNMENTS[vm.vcpus[vcpu].pcpu].lock() = Some((vm, vcpu));
    crate::arch::aarch64::cpu::send_event();
}

/// The vCPU physical CPU `pcpu` runs, if any.
pub fn assignment(pcpu: usize) -> Option<(&'static Vm, usize)> {
    *ASSIGNMENTS[pcpu].lock()
}

/// The VM and vCPU running on this physical CPU (only called on VM exits).
pub fn current() -> (&'static Vm, usize) {
    assignment(crate::arch::aarch64::cpu::id()).expect("VM exit on a CPU without a vCPU")
}

/// Runs this CPU's vCPU whenever it is started; never returns.
pub fn run_assigned(vm: &'static Vm, vcpu: usize) -> ! {
    let this = &vm.vcpus[vcpu];
    loop {
        if this
            .state
            .compare_exchange(
                VcpuState::Starting as u8,
                VcpuState::On as u8,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
        {
            let entry = this.entry.load(Ordering::Relaxed);
            let context = this.context.load(Ordering::Relaxed);
            crate::arch::aarch64::vcpu::run(vm, vcpu, entry, context);
        }
        if crate::cpu::stop_requested() {
            crate::cpu::park();
        }
        crate::arch::aarch64::cpu::wait_for_event();
    }
}
