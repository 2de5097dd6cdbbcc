//! Answering the management VM's requests, and telling it about VM state
//! changes (events).

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

use cordon_abi::{
    DATA_OFFSET, DOORBELL_SIZE, Digest, ErrorCode, Event, ExitCounts, Info, REGION_SIZE, Reply,
    Request, RequestIds, ResetKind, Response, RingChunk, VmList, VmState as AbiState, VmStatus,
    decode_request, encode_response, event_offset, event_record, init_region, request_ids, wire,
};
use log::{info, warn};
use spin::mutex::SpinMutex;

use super::ring::ByteRing;
use crate::arch::aarch64::cpu as arch_cpu;
use crate::mm::PhysRange;
use crate::vm::exits::ExitReason;
use crate::vm::images::Measurement;
use crate::vm::lifecycle::{self, VmState};
use crate::vm::spec::Role;
use crate::vm::{self, Vm};

/// cordon's log, as the management VM can read it.
pub static LOG: SpinMutex<ByteRing> = SpinMutex::new(ByteRing::new());
const NANOS_PER_SECOND: u128 = 1_000_000_000;

/// The management VM's end of the interface.
pub struct ManagementPort {
    /// The shared region (physical), seen by the VM at `region_ipa`.
    pub region: PhysRange,
    pub region_ipa: u64,
    /// The SPI that tells the VM an event was recorded.
    pub spi: u32,
    /// One request at a time (two vCPUs may ring at once).
    busy: SpinMutex<()>,
    /// Sequence number of the newest event.
    events: SpinMutex<u32>,
    /// An event waits to be signalled.
    event_pending: AtomicBool,
}

impl ManagementPort {
    /// Sets up the region at `region` (fresh RAM, mapped at EL2).
    pub fn new(region: PhysRange, region_ipa: u64, spi: u32) -> Self {
        // SAFETY: fresh frames of RAM, mapped read-write at EL2, used by
        // nothing else yet.
        let bytes = unsafe {
            core::slice::from_raw_parts_mut(region.start as *mut u8, region.size() as usize)
        };
        // The region is exactly REGION_SIZE: the caller allocated it so.
        let _ = init_region(bytes);
        flush(region);
        Self {
            region,
            region_ipa,
            spi,
            busy: SpinMutex::new(()),
            events: SpinMutex::new(0),
            event_pending: AtomicBool::new(false),
        }
    }

    /// Guest-physical address of the doorbell page.
    pub fn doorbell_ipa(&self) -> u64 {
        self.region_ipa + REGION_SIZE as u64
    }

    pub fn is_doorbell(&self, ipa: u64) -> bool {
        (self.doorbell_ipa()..self.doorbell_ipa() + DOORBELL_SIZE as u64).contains(&ipa)
    }

    /// Takes a pending event signal, if there is one.
    pub fn take_event(&self) -> bool {
        self.event_pending.swap(false, Ordering::AcqRel)
    }

    fn bytes(&self) -> &'static mut [u8] {
        // SAFETY: the region is RAM mapped at EL2 for good; cordon writes
        // it under `busy` or `events`, the guest may write it any time
        // (cordon only reads a private copy of what the guest wrote).
        unsafe {
            core::slice::from_raw_parts_mut(
                self.region.start as *mut u8,
                self.region.size() as usize,
            )
        }
    }
}

/// The guest maps the region uncached (through /dev/mem): cordon keeps
/// its cached view coherent by cleaning and invalidating around accesses.
fn flush(region: PhysRange) {
    arch_cpu::clean_dcache_range(region.start as usize, region.size() as usize);
}

/// Nanoseconds since reset (the generic timer's count).
pub fn uptime_ns() -> u64 {
    let (count, hz) = arch_cpu::counter();
    (count as u128 * NANOS_PER_SECOND / hz.max(1) as u128) as u64
}

/// The management VM wrote `value` (a request's sequence number) to the
/// doorbell: answers the request in the region.
pub fn doorbell(vm: &'static Vm, port: &ManagementPort, value: u64) {
    let region = port.bytes();
    flush(port.region);
    let mut copy = vec![0u8; region.len()];
    copy.copy_from_slice(region);
    let Ok(ids) = request_ids(&copy) else { return };
    if u64::from(ids.sequence) != value {
        return;
    }
    let answer = match port.busy.try_lock() {
        Some(_serving) => match decode_request(&copy) {
            Ok(request) => carry_out(vm, request),
            Err(err) => Answer::Error(err.code()),
        },
        None => Answer::Error(ErrorCode::Busy),
    };
    respond(port, &mut copy, ids, &answer);
    if let Answer::Reset(kind) = answer {
        lifecycle::reset_machine(kind);
    }
}

/// What a request gets, owned (the request borrows the copy that the
/// response is then encoded into).
enum Answer {
    Info {
        board: &'static str,
        cpus: u32,
        vms: u32,
        total: u64,
        free: u64,
    },
    Vms(Vec<OwnedStatus>),
    Done,
    Loaded(u64),
    Measured {
        size: u64,
        sha256: Digest,
    },
    /// Answered as done; then the machine resets or powers off.
    Reset(ResetKind),
    Ring {
        start: u64,
        end: u64,
        bytes: Vec<u8>,
    },
    Error(ErrorCode),
}

struct OwnedStatus {
    name: String,
    state: AbiState,
    management: bool,
    vcpus: u32,
    cpu_mask: u64,
    memory: u64,
    restarts: u32,
    uptime_ns: u64,
    exits: ExitCounts,
    last_start: Measurement,
    images_pending: bool,
}

fn carry_out(vm: &'static Vm, request: Request) -> Answer {
    let target = |name: &str| vm::by_name(name).ok_or(ErrorCode::NoSuchVm);
    let result = match request {
        Request::Info => Ok(info()),
        Request::ListVms => Ok(Answer::Vms(
            vm::registered().iter().map(|vm| status(vm)).collect(),
        )),
        Request::Start { vm: name } => target(name).and_then(start),
        Request::Stop { vm: name } => target(name).and_then(|target| stop(target, false)),
        Request::Restart { vm: name } => {
            target(name).and_then(|target| match target.lifecycle.state() {
                VmState::Stopped => start(target),
                _ => stop(target, true),
            })
        }
        Request::ReadConsole { vm: name, position } => {
            target(name).map(|target| ring_answer(&target.console_ring.lock(), position))
        }
        Request::ReadLog { position } => Ok(ring_answer(&LOG.lock(), position)),
        Request::LoadBegin {
            vm: name,
            image,
            size,
            sha256,
        } => target(name).and_then(loadable).and_then(|target| {
            let ram = target.guest_memory();
            let mut images = target.images.lock();
            images.begin_load(&target.name, ram, image, size, sha256)?;
            Ok(Answer::Done)
        }),
        Request::LoadChunk {
            vm: name,
            image,
            offset,
            data,
        } => target(name).and_then(loadable).and_then(|target| {
            let loaded = target.images.lock().load_chunk(image, offset, data)?;
            Ok(Answer::Loaded(loaded))
        }),
        Request::LoadEnd { vm: name, image } => {
            target(name).and_then(loadable).and_then(|target| {
                let ram = target.guest_memory();
                let (size, sha256) = target.images.lock().end_load(&target.name, ram, image)?;
                Ok(Answer::Measured { size, sha256 })
            })
        }
        Request::ResetDevice { kind } => device_reset(vm, kind),
    };
    if let Err(code) = result {
        info!("VM {}: management request refused: {code:?}", vm.name);
    }
    result.unwrap_or_else(Answer::Error)
}

fn info() -> Answer {
    let frames = crate::boot::FRAMES.lock();
    let (total, free) = frames
        .as_ref()
        .map_or((0, 0), |frames| (frames.total_bytes(), frames.free_bytes()));
    Answer::Info {
        board: crate::board::this_board().name,
        cpus: crate::cpu::online_count() as u32,
        vms: vm::registered().len() as u32,
        total,
        free,
    }
}

fn abi_state(state: VmState) -> AbiState {
    match state {
        VmState::Running => AbiState::Running,
        VmState::Stopping => AbiState::Stopping,
        VmState::Stopped => AbiState::Stopped,
    }
}

fn status(vm: &Vm) -> OwnedStatus {
    let mut exits = ExitCounts::default();
    for reason in ExitReason::ALL {
        exits.set(reason, vm.exits.get(reason));
    }
    let state = vm.lifecycle.state();
    let mut images = vm.images.lock();
    OwnedStatus {
        name: vm.name.clone(),
        state: abi_state(state),
        management: vm.spec.role == Role::Management,
        vcpus: vm.vcpus.len() as u32,
        cpu_mask: vm.vcpus.iter().fold(0, |mask, v| mask | (1 << v.pcpu)),
        memory: vm.ram.size(),
        restarts: vm.lifecycle.restarts(),
        uptime_ns: if state == VmState::Running {
            uptime_ns().saturating_sub(vm.lifecycle.started_ns())
        } else {
            0
        },
        exits,
        last_start: images.last_start(),
        images_pending: images.pending(),
    }
}

fn start(target: &'static Vm) -> Result<Answer, ErrorCode> {
    if target.spec.role == Role::Management {
        return Err(ErrorCode::NotPermitted);
    }
    lifecycle::start_stopped(target)?;
    Ok(Answer::Done)
}

/// A reset of the whole machine, asked by `caller`: only the management VM
/// may, and only with firmware PSCI to carry it out.
fn device_reset(caller: &Vm, kind: ResetKind) -> Result<Answer, ErrorCode> {
    if caller.spec.role != Role::Management {
        return Err(ErrorCode::NotPermitted);
    }
    if crate::boot::psci_conduit().is_none() {
        return Err(ErrorCode::Unsupported);
    }
    info!(
        "machine {} requested by VM {} through the management interface",
        kind.name(),
        caller.name
    );
    Ok(Answer::Reset(kind))
}

/// A VM images may be loaded into: a stopped workload VM.
fn loadable(target: &'static Vm) -> Result<&'static Vm, ErrorCode> {
    if target.spec.role == Role::Management {
        Err(ErrorCode::NotPermitted)
    } else if target.lifecycle.state() != VmState::Stopped {
        Err(ErrorCode::WrongState)
    } else {
        Ok(target)
    }
}

fn stop(target: &'static Vm, restart: bool) -> Result<Answer, ErrorCode> {
    if target.spec.role == Role::Management {
        return Err(ErrorCode::NotPermitted);
    }
    lifecycle::request_stop(target, restart).map_err(|_| ErrorCode::WrongState)?;
    Ok(Answer::Done)
}

/// At most this many ring bytes per answer.
const RING_CHUNK: usize = 8 << 10;

fn ring_answer(ring: &ByteRing, position: u64) -> Answer {
    let mut bytes = vec![0; RING_CHUNK];
    let (start, len) = ring.read_from(position, &mut bytes);
    bytes.truncate(len);
    Answer::Ring {
        start,
        end: ring.end(),
        bytes,
    }
}

/// Encodes `answer` into the private copy, then copies the response into
/// the shared region: payload and slot first, the sequence word last.
fn respond(port: &ManagementPort, copy: &mut [u8], ids: RequestIds, answer: &Answer) {
    let statuses: Vec<VmStatus> = match answer {
        Answer::Vms(list) => list
            .iter()
            .map(|s| VmStatus {
                name: &s.name,
                state: s.state,
                management: s.management,
                vcpus: s.vcpus,
                cpu_mask: s.cpu_mask,
                memory: s.memory,
                restarts: s.restarts,
                uptime_ns: s.uptime_ns,
                exits: s.exits,
                kernel_sha256: s.last_start.kernel,
                initrd_sha256: s.last_start.initrd,
                images_pending: s.images_pending,
            })
            .collect(),
        _ => Vec::new(),
    };
    let reply: Reply = match answer {
        Answer::Info {
            board,
            cpus,
            vms,
            total,
            free,
        } => Ok(Response::Info(Info {
            version: crate::VERSION,
            board,
            cpus: *cpus,
            vms: *vms,
            memory_total: *total,
            memory_free: *free,
            uptime_ns: uptime_ns(),
        })),
        Answer::Vms(_) => Ok(Response::Vms(VmList::Statuses(&statuses))),
        Answer::Done | Answer::Reset(_) => Ok(Response::Done),
        Answer::Loaded(loaded) => Ok(Response::Loaded { loaded: *loaded }),
        Answer::Measured { size, sha256 } => Ok(Response::Measured {
            size: *size,
            sha256: *sha256,
        }),
        Answer::Ring { start, end, bytes } => Ok(Response::Ring(RingChunk {
            start: *start,
            end: *end,
            bytes,
        })),
        Answer::Error(code) => Err(*code),
    };
    let used = match encode_response(copy, ids, &reply) {
        Ok(used) => used,
        Err(err) => {
            warn!("management response not encodable: {err}");
            encode_response(copy, ids, &Err(ErrorCode::TooLarge)).unwrap_or(0)
        }
    };
    let region = port.bytes();
    let data_end = (DATA_OFFSET + used).min(region.len());
    region[DATA_OFFSET..data_end].copy_from_slice(&copy[DATA_OFFSET..data_end]);
    let slot =
        wire::RESPONSE_SLOT_OFFSET..wire::RESPONSE_SLOT_OFFSET + size_of::<wire::ResponseSlot>();
    let sequence =
        wire::RESPONSE_SEQUENCE_OFFSET..wire::RESPONSE_SEQUENCE_OFFSET + size_of::<u32>();
    region[sequence.end..slot.end].copy_from_slice(&copy[sequence.end..slot.end]);
    region[slot.start..sequence.start].copy_from_slice(&copy[slot.start..sequence.start]);
    flush(port.region);
    region[sequence.clone()].copy_from_slice(&copy[sequence]);
    flush(port.region);
}

/// Records that `changed` entered `state` and signals the management VM.
pub fn record_event(changed: &Vm, state: VmState) {
    let Some(management) = vm::management() else {
        return;
    };
    let Some(port) = &management.management_port else {
        return;
    };
    let mut count = port.events.lock();
    let sequence = count.wrapping_add(1).max(1);
    let event = Event {
        sequence,
        vm: &changed.name,
        state: abi_state(state),
        restarts: changed.lifecycle.restarts(),
        uptime_ns: uptime_ns(),
    };
    let Ok(record) = event_record(&event) else {
        return;
    };
    let region = port.bytes();
    let at = event_offset(sequence);
    region[at..at + 4].fill(0);
    flush(port.region);
    region[at + 4..at + record.len()].copy_from_slice(&record[4..]);
    flush(port.region);
    region[at..at + 4].copy_from_slice(&record[..4]);
    let count_at = wire::EVENT_COUNT_OFFSET;
    region[count_at..count_at + 4].copy_from_slice(&sequence.to_le_bytes());
    flush(port.region);
    *count = sequence;
    port.event_pending.store(true, Ordering::Release);
    // Whichever vCPU the event interrupt targets takes it at its next exit.
    for vcpu in 0..management.vcpus.len() {
        crate::arch::aarch64::trap::kick_vcpu(management, vcpu);
    }
}
