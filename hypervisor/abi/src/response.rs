//! Responses: what cordon answers, its encoder and the client's decoder.
//! The decoder checks what it reads as the request decoder does, so a
//! client is not misled by a region something else scribbled on.

use core::fmt;
use core::ops::Range;

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use crate::error::{AbiError, ErrorCode, Field};
use crate::limits::{DATA_SIZE, EXIT_SLOTS};
use crate::region::{
    check_len, data_area, data_area_mut, fixed_name, next_offset, pad_name, put, read_args,
    resolve, span, unused, view, view_mut, write_args, zeros,
};
use crate::request::RequestIds;
use crate::types::{Digest, ExitCounts, ExitReason, Opcode, VmState};
use crate::wire::{
    ARGS_SIZE, InfoArgs, ListArgs, LoadedArgs, MeasuredArgs, RESPONSE_SLOT_OFFSET, ResponseSlot,
    RingArgs, Span, VM_ENTRY_SIZE, VM_FLAG_IMAGES_PENDING, VM_FLAG_INITRD_MEASURED,
    VM_FLAG_KERNEL_MEASURED, VM_FLAG_MANAGEMENT, VmEntry,
};

/// What a request gets: a response, or why it was not carried out.
pub type Reply<'a> = Result<Response<'a>, ErrorCode>;

/// A successful answer; which one depends on the request's opcode.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Response<'a> {
    /// To `Info`.
    Info(Info<'a>),
    /// To `ListVms`.
    Vms(VmList<'a>),
    /// To `Start`, `Stop`, `Restart` and `LoadBegin`.
    Done,
    /// To `ReadConsole` and `ReadLog`.
    Ring(RingChunk<'a>),
    /// To `LoadChunk`: image bytes received so far.
    Loaded { loaded: u64 },
    /// To `LoadEnd`: the image's size and the hash cordon measured, which
    /// matched the expected one.
    Measured { size: u64, sha256: Digest },
}

impl Response<'_> {
    /// Whether this is the kind of answer `opcode` gets.
    pub fn answers(&self, opcode: Opcode) -> bool {
        matches!(
            (self, opcode),
            (Self::Info(_), Opcode::Info)
                | (Self::Vms(_), Opcode::ListVms)
                | (
                    Self::Done,
                    Opcode::Start
                        | Opcode::Stop
                        | Opcode::Restart
                        | Opcode::LoadBegin
                        | Opcode::ResetDevice
                )
                | (Self::Ring(_), Opcode::ReadConsole | Opcode::ReadLog)
                | (Self::Loaded { .. }, Opcode::LoadChunk)
                | (Self::Measured { .. }, Opcode::LoadEnd)
        )
    }
}

/// cordon and the machine.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Info<'a> {
    /// cordon's version.
    pub version: &'a str,
    pub board: &'a str,
    /// CPUs online.
    pub cpus: u32,
    /// VMs cordon built.
    pub vms: u32,
    pub memory_total: u64,
    /// Memory no VM and not cordon uses.
    pub memory_free: u64,
    pub uptime_ns: u64,
}

/// Part of a byte stream cordon keeps the end of (a console, the log).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RingChunk<'a> {
    /// The stream position of `bytes[0]`: later than the position asked
    /// for when older bytes were overwritten.
    pub start: u64,
    /// The position after the last byte written so far; when `next()` is
    /// short of it, read again from there.
    pub end: u64,
    pub bytes: &'a [u8],
}

impl RingChunk<'_> {
    /// Where to read from next.
    pub fn next(&self) -> u64 {
        self.start.saturating_add(self.bytes.len() as u64)
    }
}

/// One VM, as listed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct VmStatus<'a> {
    pub name: &'a str,
    pub state: VmState,
    pub management: bool,
    pub vcpus: u32,
    /// Bit n: physical CPU n runs one of its vCPUs.
    pub cpu_mask: u64,
    /// Bytes of RAM.
    pub memory: u64,
    pub restarts: u32,
    /// Time since it last started; 0 when it is not running.
    pub uptime_ns: u64,
    pub exits: ExitCounts,
    /// The images it was last started from (measured launch).
    pub kernel_sha256: Option<Digest>,
    pub initrd_sha256: Option<Digest>,
    /// Images were loaded and verified; the next start uses them.
    pub images_pending: bool,
}

impl<'a> VmStatus<'a> {
    fn to_entry(self) -> Result<VmEntry, AbiError> {
        let mut exits = [0.into(); EXIT_SLOTS];
        for reason in ExitReason::ALL {
            exits[reason as usize] = self.exits.get(reason).into();
        }
        let flag = |set: bool, bit: u32| if set { bit } else { 0 };
        let flags = flag(self.management, VM_FLAG_MANAGEMENT)
            | flag(self.kernel_sha256.is_some(), VM_FLAG_KERNEL_MEASURED)
            | flag(self.initrd_sha256.is_some(), VM_FLAG_INITRD_MEASURED)
            | flag(self.images_pending, VM_FLAG_IMAGES_PENDING);
        Ok(VmEntry {
            name: pad_name(self.name)?,
            state: (self.state as u32).into(),
            flags: flags.into(),
            vcpus: self.vcpus.into(),
            restarts: self.restarts.into(),
            cpu_mask: self.cpu_mask.into(),
            memory: self.memory.into(),
            uptime_ns: self.uptime_ns.into(),
            exits,
            kernel_sha256: self.kernel_sha256.unwrap_or_default().0,
            initrd_sha256: self.initrd_sha256.unwrap_or_default().0,
        })
    }

    /// Reads an entry; flag bits and exit slots this version does not know
    /// are ignored (a newer minor version may set them).
    fn from_entry(entry: &'a VmEntry) -> Result<Self, AbiError> {
        let state = entry.state.get();
        let flags = entry.flags.get();
        let measured = |bit: u32, digest: &[u8; 32]| (flags & bit != 0).then_some(Digest(*digest));
        let mut exits = ExitCounts::default();
        for reason in ExitReason::ALL {
            exits.set(reason, entry.exits[reason as usize].get());
        }
        Ok(Self {
            name: fixed_name(&entry.name)?,
            state: VmState::from_wire(state).ok_or(AbiError::UnknownState(state))?,
            management: flags & VM_FLAG_MANAGEMENT != 0,
            vcpus: entry.vcpus.get(),
            cpu_mask: entry.cpu_mask.get(),
            memory: entry.memory.get(),
            restarts: entry.restarts.get(),
            uptime_ns: entry.uptime_ns.get(),
            exits,
            kernel_sha256: measured(VM_FLAG_KERNEL_MEASURED, &entry.kernel_sha256),
            initrd_sha256: measured(VM_FLAG_INITRD_MEASURED, &entry.initrd_sha256),
            images_pending: flags & VM_FLAG_IMAGES_PENDING != 0,
        })
    }
}

/// The VMs of a `ListVms` response: given by cordon to encode, or read
/// from the region (every entry checked) when decoded.
#[derive(Clone, Copy)]
pub enum VmList<'a> {
    Statuses(&'a [VmStatus<'a>]),
    Wire(&'a [VmEntry]),
}

impl<'a> VmList<'a> {
    pub fn len(&self) -> usize {
        match self {
            Self::Statuses(statuses) => statuses.len(),
            Self::Wire(entries) => entries.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = VmStatus<'a>> + 'a {
        let (statuses, entries): (&'a [VmStatus<'a>], &'a [VmEntry]) = match *self {
            Self::Statuses(statuses) => (statuses, &[]),
            Self::Wire(entries) => (&[], entries),
        };
        // A decoded list had every entry checked, so none is skipped.
        statuses.iter().copied().chain(
            entries
                .iter()
                .filter_map(|entry| VmStatus::from_entry(entry).ok()),
        )
    }
}

impl PartialEq for VmList<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for VmList<'_> {}

impl fmt::Debug for VmList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// cordon: writes the answer to the request `ids` into `region` (its copy
/// of the shared region): the response slot and the data area, nothing
/// else. Returns how many bytes of the data area the answer uses, from its
/// start; publish those, then the slot, and the slot's `sequence` word
/// ([`crate::wire::RESPONSE_SEQUENCE_OFFSET`]) last. Fails only when the
/// answer does not fit or is not the kind the opcode gets; an error reply
/// always fits.
pub fn encode_response(
    region: &mut [u8],
    ids: RequestIds,
    reply: &Reply<'_>,
) -> Result<usize, AbiError> {
    check_len(region)?;
    let mut fields = [0; ARGS_SIZE];
    let (status, data, used) = match reply {
        Ok(response) => {
            let answers = Opcode::from_wire(ids.opcode).is_some_and(|op| response.answers(op));
            if !answers {
                return Err(AbiError::WrongResponse { opcode: ids.opcode });
            }
            let (data, used) = write_body(data_area_mut(region), &mut fields, response)?;
            (0, data, used)
        }
        Err(code) => (*code as u32, Span::default(), 0),
    };
    let slot = view_mut::<ResponseSlot>(region, RESPONSE_SLOT_OFFSET)?;
    slot.sequence.set(ids.sequence);
    slot.opcode.set(ids.opcode);
    slot.status.set(status);
    slot.reserved.set(0);
    slot.data = data;
    slot.reserved2.set(0);
    slot.args = fields;
    Ok(used)
}

/// Writes the payload and fields of `response`; returns the data span and
/// the data-area bytes used.
fn write_body(
    area: &mut [u8],
    fields: &mut [u8; ARGS_SIZE],
    response: &Response<'_>,
) -> Result<(Span, usize), AbiError> {
    let nothing = (Span::default(), 0);
    Ok(match *response {
        Response::Info(info) => {
            let version = put(area, 0, info.version.as_bytes())?;
            let board_at = next_offset(info.version.len());
            let board = put(area, board_at, info.board.as_bytes())?;
            let args = InfoArgs {
                version,
                board,
                cpus: info.cpus.into(),
                vms: info.vms.into(),
                memory_total: info.memory_total.into(),
                memory_free: info.memory_free.into(),
                uptime_ns: info.uptime_ns.into(),
            };
            write_args(fields, &args);
            (Span::default(), board_at + info.board.len())
        }
        Response::Vms(list) => {
            let used = list.len().saturating_mul(VM_ENTRY_SIZE);
            let entries = area
                .get_mut(..used)
                .ok_or(AbiError::TooLarge { needed: used })?;
            for (status, slot) in list.iter().zip(entries.chunks_exact_mut(VM_ENTRY_SIZE)) {
                status
                    .to_entry()?
                    .write_to(slot)
                    .map_err(|_| AbiError::TooLarge { needed: used })?;
            }
            let args = ListArgs {
                count: (list.len() as u32).into(),
                reserved: 0.into(),
            };
            write_args(fields, &args);
            (span(&(0..used)), used)
        }
        Response::Ring(chunk) => {
            if chunk.next() > chunk.end {
                return Err(AbiError::RingPastEnd);
            }
            let args = RingArgs {
                start: chunk.start.into(),
                end: chunk.end.into(),
            };
            write_args(fields, &args);
            (put(area, 0, chunk.bytes)?, chunk.bytes.len())
        }
        Response::Loaded { loaded } => {
            write_args(
                fields,
                &LoadedArgs {
                    loaded: loaded.into(),
                },
            );
            nothing
        }
        Response::Measured { size, sha256 } => {
            let args = MeasuredArgs {
                size: size.into(),
                sha256: sha256.0,
            };
            write_args(fields, &args);
            nothing
        }
        Response::Done => nothing,
    })
}

/// The client: reads cordon's answer to the request `ids` from `region`
/// (its copy of the shared region, taken once the response slot's
/// sequence matched).
pub fn decode_response(region: &[u8], ids: RequestIds) -> Result<Reply<'_>, AbiError> {
    check_len(region)?;
    let slot = view::<ResponseSlot>(region, RESPONSE_SLOT_OFFSET)?;
    let found = (slot.sequence.get(), slot.opcode.get());
    if found.0 != ids.sequence {
        return Err(AbiError::SequenceMismatch {
            expected: ids.sequence,
            found: found.0,
        });
    }
    if found.1 != ids.opcode {
        return Err(AbiError::OpcodeMismatch {
            expected: ids.opcode,
            found: found.1,
        });
    }
    if slot.reserved.get() != 0 || slot.reserved2.get() != 0 {
        return Err(AbiError::ReservedNotZero(Field::ResponseSlot));
    }
    let status = slot.status.get();
    if status != 0 {
        let code = ErrorCode::from_wire(status).ok_or(AbiError::UnknownStatus(status))?;
        return Ok(Err(code));
    }
    let opcode = Opcode::from_wire(ids.opcode).ok_or(AbiError::UnknownOpcode(ids.opcode))?;
    let body = Body {
        slot,
        data: data_area(region),
    };
    body.decode(opcode).map(Ok)
}

/// The client: how many bytes from the data area's start the answer in
/// the response slot refers to, so that it copies those (and not the whole
/// area) before [`decode_response`]. Spans past the data area are clamped;
/// the decoder refuses them.
pub fn response_extent(region: &[u8]) -> Result<usize, AbiError> {
    check_len(region)?;
    let slot = view::<ResponseSlot>(region, RESPONSE_SLOT_OFFSET)?;
    let end = |span: &Span| {
        let end = u64::from(span.offset.get()) + u64::from(span.length.get());
        end.min(DATA_SIZE as u64) as usize
    };
    let mut extent = end(&slot.data);
    if slot.opcode.get() == Opcode::Info as u32 {
        let (info, _) = InfoArgs::ref_from_prefix(&slot.args)
            .map_err(|_| AbiError::ReservedNotZero(Field::Args))?;
        extent = extent.max(end(&info.version)).max(end(&info.board));
    }
    Ok(extent)
}

/// The response slot and the data area it points into.
struct Body<'a> {
    slot: &'a ResponseSlot,
    data: &'a [u8],
}

impl<'a> Body<'a> {
    fn decode(&self, opcode: Opcode) -> Result<Response<'a>, AbiError> {
        Ok(match opcode {
            Opcode::Info => {
                unused(&self.slot.data, Field::DataSpan)?;
                let args = self.args::<InfoArgs>()?;
                Response::Info(Info {
                    version: self.text(&args.version, Field::VersionSpan)?,
                    board: self.text(&args.board, Field::BoardSpan)?,
                    cpus: args.cpus.get(),
                    vms: args.vms.get(),
                    memory_total: args.memory_total.get(),
                    memory_free: args.memory_free.get(),
                    uptime_ns: args.uptime_ns.get(),
                })
            }
            Opcode::ListVms => {
                let count = self.args::<ListArgs>()?.count.get();
                let bytes = self.payload()?;
                let length = bytes.len() as u32;
                let wrong_length = AbiError::ListLength { count, length };
                if (count as usize).checked_mul(VM_ENTRY_SIZE) != Some(bytes.len()) {
                    return Err(wrong_length);
                }
                let entries = <[VmEntry]>::ref_from_bytes(bytes).map_err(|_| wrong_length)?;
                entries
                    .iter()
                    .try_for_each(|entry| VmStatus::from_entry(entry).map(|_| ()))?;
                Response::Vms(VmList::Wire(entries))
            }
            Opcode::Start
            | Opcode::Stop
            | Opcode::Restart
            | Opcode::LoadBegin
            | Opcode::ResetDevice => {
                unused(&self.slot.data, Field::DataSpan)?;
                zeros(&self.slot.args, Field::Args)?;
                Response::Done
            }
            Opcode::ReadConsole | Opcode::ReadLog => {
                let args = self.args::<RingArgs>()?;
                let chunk = RingChunk {
                    start: args.start.get(),
                    end: args.end.get(),
                    bytes: self.payload()?,
                };
                if chunk.next() > chunk.end {
                    return Err(AbiError::RingPastEnd);
                }
                Response::Ring(chunk)
            }
            Opcode::LoadChunk => {
                unused(&self.slot.data, Field::DataSpan)?;
                Response::Loaded {
                    loaded: self.args::<LoadedArgs>()?.loaded.get(),
                }
            }
            Opcode::LoadEnd => {
                unused(&self.slot.data, Field::DataSpan)?;
                let args = self.args::<MeasuredArgs>()?;
                Response::Measured {
                    size: args.size.get(),
                    sha256: Digest(args.sha256),
                }
            }
        })
    }

    fn args<T>(&self) -> Result<&'a T, AbiError>
    where
        T: FromBytes + KnownLayout + Immutable + Unaligned,
    {
        read_args(&self.slot.args)
    }

    fn bytes(&self, range: Range<usize>) -> &'a [u8] {
        // `resolve` checked the range against the data area.
        self.data.get(range).unwrap_or_default()
    }

    fn payload(&self) -> Result<&'a [u8], AbiError> {
        Ok(self.bytes(resolve(&self.slot.data, Field::DataSpan)?))
    }

    fn text(&self, span: &Span, field: Field) -> Result<&'a str, AbiError> {
        let bytes = self.bytes(resolve(span, field)?);
        core::str::from_utf8(bytes).map_err(|_| AbiError::NotUtf8(field))
    }
}

/// Most VMs a `ListVms` answer has room for.
pub const MAX_LISTED_VMS: usize = DATA_SIZE / VM_ENTRY_SIZE;
