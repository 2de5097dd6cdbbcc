//! A fake cordon behind a [`SharedRegion`] in memory, for tests: it
//! answers each ring as the real one must (ABI.md), with cordon-abi's
//! decoder and encoder, over a few VMs with consoles, a log and image
//! loading with measurement.

use cordon_abi::wire::EVENT_COUNT_OFFSET;
use cordon_abi::{
    Digest, ErrorCode, Event, ExitCounts, ExitReason, ImageHasher, ImageSlot, Info, REGION_SIZE,
    Reply, Request, ResetKind, Response, RingChunk, VmList, VmState, VmStatus, decode_request,
    encode_response, event_offset, event_record, init_region, request_ids,
};

use crate::client::SharedRegion;

/// Most ring bytes one answer carries: small, so that readers loop.
const RING_ANSWER: usize = 16;
/// Nanoseconds the fake's clock advances per request.
const TICK_NS: u64 = 1_000_000;
const IMAGE_SLOTS: usize = 2;

pub struct FakeVm {
    pub name: &'static str,
    pub state: VmState,
    pub management: bool,
    pub memory: u64,
    pub restarts: u32,
    /// Console bytes cordon still has, and how many it no longer has.
    pub console: Vec<u8>,
    pub console_dropped: u64,
    loads: [Option<Load>; IMAGE_SLOTS],
    /// Loaded and verified, for the next start.
    pending: [Option<Digest>; IMAGE_SLOTS],
    /// Loaded but not verified: the VM does not start until a load of the
    /// image succeeds.
    rejected: [bool; IMAGE_SLOTS],
    launched: [Option<Digest>; IMAGE_SLOTS],
}

struct Load {
    size: u64,
    expected: Digest,
    loaded: u64,
    hasher: ImageHasher,
}

impl FakeVm {
    pub fn new(name: &'static str, state: VmState) -> Self {
        Self {
            name,
            state,
            management: false,
            memory: 64 << 20,
            restarts: 0,
            console: Vec::new(),
            console_dropped: 0,
            loads: Default::default(),
            pending: [None; IMAGE_SLOTS],
            rejected: [false; IMAGE_SLOTS],
            launched: [None; IMAGE_SLOTS],
        }
    }

    fn status(&self) -> VmStatus<'_> {
        let mut exits = ExitCounts::default();
        exits.set(ExitReason::Hvc, u64::from(self.restarts) + 1);
        VmStatus {
            name: self.name,
            state: self.state,
            management: self.management,
            vcpus: 1,
            cpu_mask: 0b10,
            memory: self.memory,
            restarts: self.restarts,
            uptime_ns: if self.state == VmState::Running {
                7 * TICK_NS
            } else {
                0
            },
            exits,
            kernel_sha256: self.launched[0],
            initrd_sha256: self.launched[1],
            images_pending: self.pending.iter().any(Option::is_some),
        }
    }
}

pub struct FakeCordon {
    pub memory: Vec<u8>,
    pub vms: Vec<FakeVm>,
    pub log: Vec<u8>,
    /// Rings answered `Busy` before the next is served.
    pub busy_rings: u32,
    /// Never answers.
    pub silent: bool,
    pub rings: u32,
    /// The machine resets asked for, in order.
    pub resets: Vec<ResetKind>,
    events: u32,
    now_ns: u64,
}

/// What a request did, before it is put into words.
enum Outcome {
    Done,
    Info,
    List,
    Console { vm: usize, position: u64 },
    Log { position: u64 },
    Loaded(u64),
    Measured(u64, Digest),
}

impl FakeCordon {
    pub fn new(vms: Vec<FakeVm>) -> Self {
        let mut memory = vec![0; REGION_SIZE];
        init_region(&mut memory).unwrap();
        Self {
            memory,
            vms,
            log: b"[cpu0 INFO ] cordon 0.1.0 on board fake\n".to_vec(),
            busy_rings: 0,
            silent: false,
            rings: 0,
            resets: Vec::new(),
            events: 0,
            now_ns: 0,
        }
    }

    /// A management VM `mgmt` (running) and a workload `rt` (stopped).
    pub fn standard() -> Self {
        let mut mgmt = FakeVm::new("mgmt", VmState::Running);
        mgmt.management = true;
        mgmt.console = b"[mgmt] Booting Linux\n[mgmt] ready\n".to_vec();
        Self::new(vec![mgmt, FakeVm::new("rt", VmState::Stopped)])
    }

    fn vm(&self, name: &str) -> Result<usize, ErrorCode> {
        self.vms
            .iter()
            .position(|vm| vm.name == name)
            .ok_or(ErrorCode::NoSuchVm)
    }

    /// A VM the request may change: not the management VM.
    fn workload(&self, name: &str) -> Result<usize, ErrorCode> {
        let index = self.vm(name)?;
        if self.vms[index].management {
            Err(ErrorCode::NotPermitted)
        } else {
            Ok(index)
        }
    }

    fn stopped_workload(&self, name: &str) -> Result<usize, ErrorCode> {
        let index = self.workload(name)?;
        match self.vms[index].state {
            VmState::Stopped => Ok(index),
            _ => Err(ErrorCode::WrongState),
        }
    }

    fn carry_out(
        &mut self,
        request: &Request<'_>,
        events: &mut Vec<usize>,
    ) -> Result<Outcome, ErrorCode> {
        Ok(match *request {
            Request::Info => Outcome::Info,
            Request::ListVms => Outcome::List,
            Request::Start { vm } => {
                let index = self.stopped_workload(vm)?;
                let vm = &mut self.vms[index];
                if vm.loads.iter().any(Option::is_some) {
                    return Err(ErrorCode::WrongState);
                }
                if vm.rejected.iter().any(|rejected| *rejected) {
                    return Err(ErrorCode::HashMismatch);
                }
                for slot in 0..IMAGE_SLOTS {
                    if let Some(digest) = vm.pending[slot].take() {
                        vm.launched[slot] = Some(digest);
                    }
                }
                vm.state = VmState::Running;
                events.push(index);
                Outcome::Done
            }
            Request::Stop { vm } | Request::Restart { vm } => {
                let index = self.workload(vm)?;
                let restart = matches!(request, Request::Restart { .. });
                let vm = &mut self.vms[index];
                if vm.state != VmState::Running {
                    return Err(ErrorCode::WrongState);
                }
                vm.state = VmState::Stopped;
                events.push(index);
                if restart {
                    vm.restarts += 1;
                    vm.state = VmState::Running;
                    events.push(index);
                }
                Outcome::Done
            }
            Request::ReadConsole { vm, position } => Outcome::Console {
                vm: self.vm(vm)?,
                position,
            },
            Request::ReadLog { position } => Outcome::Log { position },
            Request::LoadBegin {
                vm,
                image,
                size,
                sha256,
            } => {
                let index = self.stopped_workload(vm)?;
                let vm = &mut self.vms[index];
                if size > vm.memory / 2 {
                    return Err(ErrorCode::TooLarge);
                }
                vm.pending[slot(image)] = None;
                vm.loads[slot(image)] = Some(Load {
                    size,
                    expected: sha256,
                    loaded: 0,
                    hasher: ImageHasher::new(),
                });
                Outcome::Done
            }
            Request::LoadChunk {
                vm,
                image,
                offset,
                data,
            } => {
                let index = self.stopped_workload(vm)?;
                let load = self.vms[index].loads[slot(image)]
                    .as_mut()
                    .ok_or(ErrorCode::WrongState)?;
                if offset != load.loaded {
                    return Err(ErrorCode::WrongState);
                }
                let end = offset + data.len() as u64;
                if end > load.size {
                    return Err(ErrorCode::TooLarge);
                }
                load.hasher.update(data);
                load.loaded = end;
                Outcome::Loaded(end)
            }
            Request::LoadEnd { vm, image } => {
                let index = self.stopped_workload(vm)?;
                let vm = &mut self.vms[index];
                let place = slot(image);
                let load = vm.loads[place].take().ok_or(ErrorCode::WrongState)?;
                if load.loaded != load.size {
                    vm.loads[place] = Some(load);
                    return Err(ErrorCode::WrongState);
                }
                let measured = load.hasher.finish();
                vm.rejected[place] = measured != load.expected;
                if vm.rejected[place] {
                    return Err(ErrorCode::HashMismatch);
                }
                vm.pending[place] = Some(measured);
                Outcome::Measured(load.size, measured)
            }
            Request::ResetDevice { kind } => {
                self.resets.push(kind);
                Outcome::Done
            }
        })
    }

    /// Writes the answer to the request in `copy` into `out`.
    fn answer(&self, outcome: Result<Outcome, ErrorCode>, copy: &[u8], out: &mut [u8]) {
        let ids = request_ids(copy).unwrap();
        let statuses: Vec<VmStatus<'_>> = self.vms.iter().map(FakeVm::status).collect();
        let reply: Reply<'_> = outcome.map(|outcome| match outcome {
            Outcome::Done => Response::Done,
            Outcome::Info => Response::Info(Info {
                version: "0.1.0",
                board: "fake",
                cpus: 4,
                vms: self.vms.len() as u32,
                memory_total: 2 << 30,
                memory_free: 1 << 30,
                uptime_ns: self.now_ns,
            }),
            Outcome::List => Response::Vms(VmList::Statuses(&statuses)),
            Outcome::Console { vm, position } => {
                let vm = &self.vms[vm];
                ring(&vm.console, vm.console_dropped, position)
            }
            Outcome::Log { position } => ring(&self.log, 0, position),
            Outcome::Loaded(loaded) => Response::Loaded { loaded },
            Outcome::Measured(size, sha256) => Response::Measured { size, sha256 },
        });
        encode_response(out, ids, &reply).unwrap();
    }

    fn record_event(&mut self, vm: usize) {
        self.events += 1;
        let vm = &self.vms[vm];
        let event = Event {
            sequence: self.events,
            vm: vm.name,
            state: vm.state,
            restarts: vm.restarts,
            uptime_ns: self.now_ns,
        };
        let record = event_record(&event).unwrap();
        let at = event_offset(self.events);
        self.memory[at..][..record.len()].copy_from_slice(&record);
        self.memory[EVENT_COUNT_OFFSET..][..4].copy_from_slice(&self.events.to_le_bytes());
    }
}

impl SharedRegion for FakeCordon {
    fn read(&self, offset: usize, out: &mut [u8]) {
        out.copy_from_slice(&self.memory[offset..][..out.len()]);
    }

    fn write(&mut self, offset: usize, bytes: &[u8]) {
        self.memory[offset..][..bytes.len()].copy_from_slice(bytes);
    }

    fn read_word(&self, offset: usize) -> u32 {
        u32::from_le_bytes(self.memory[offset..][..4].try_into().unwrap())
    }

    fn ring(&mut self, sequence: u32) {
        if self.silent {
            return;
        }
        self.rings += 1;
        self.now_ns += TICK_NS;
        // cordon works on its own copy, which the VM cannot change.
        let copy = self.memory.clone();
        assert_eq!(request_ids(&copy).unwrap().sequence, sequence);
        let mut changed = Vec::new();
        let outcome = if self.busy_rings > 0 {
            self.busy_rings -= 1;
            Err(ErrorCode::Busy)
        } else {
            match decode_request(&copy) {
                Ok(request) => self.carry_out(&request, &mut changed),
                Err(error) => Err(error.code()),
            }
        };
        let mut out = copy.clone();
        self.answer(outcome, &copy, &mut out);
        self.memory = out;
        changed.into_iter().for_each(|vm| self.record_event(vm));
    }
}

/// What a ring answer to a read from `position` has, of a stream whose
/// first `dropped` bytes are no longer `kept`.
fn ring(kept: &[u8], dropped: u64, position: u64) -> Response<'_> {
    let end = dropped + kept.len() as u64;
    let start = position.clamp(dropped, end);
    let from = (start - dropped) as usize;
    let bytes = &kept[from..kept.len().min(from + RING_ANSWER)];
    Response::Ring(RingChunk { start, end, bytes })
}

/// Where fake images are kept; removed when dropped.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(test: &str) -> Self {
        let path = std::env::temp_dir().join(format!("cordonctl-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The place an image takes in a fake VM's arrays.
fn slot(image: ImageSlot) -> usize {
    image as usize - 1
}
