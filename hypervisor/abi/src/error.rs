//! What can be wrong with a message ([`AbiError`], for the code that reads
//! or writes one) and the status codes cordon answers with ([`ErrorCode`],
//! on the wire).

use core::fmt;

use crate::limits::{ABI_MAJOR, ABI_MINOR, DATA_SIZE, MAX_CHUNK_SIZE, MAX_NAME_LEN, REGION_SIZE};

/// Why a request failed: the `status` word of a response (0 is success).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u32)]
pub enum ErrorCode {
    /// The region's header is not cordon's (magic or size overwritten).
    BadMagic = 1,
    /// The request's ABI version is not one cordon speaks.
    BadVersion = 2,
    /// A malformed request: a reserved field not zero, a span outside the
    /// data area, overlapping spans, a chunk too big, an unknown image.
    BadRequest = 3,
    /// An opcode cordon does not know, or a request the VM cannot have (an
    /// initrd for a VM that boots without one).
    Unsupported = 4,
    /// A VM name that is empty, too long, not UTF-8 or holds a zero byte.
    BadName = 5,
    NoSuchVm = 6,
    /// The VM is not in a state the request can be carried out in.
    WrongState = 7,
    /// An image larger than its place in the VM, or an answer larger than
    /// the data area.
    TooLarge = 8,
    /// The loaded image does not hash to what the client expected.
    HashMismatch = 9,
    /// Another request is being carried out; ask again.
    Busy = 10,
    /// Not allowed on this VM (the management VM).
    NotPermitted = 11,
    /// cordon failed to carry out a valid request; its log says why.
    Internal = 12,
    /// A loaded kernel that cordon cannot boot: not an arm64 `Image`, or
    /// one that must go at an offset other than 0 (added in ABI 1.1).
    BadImage = 13,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 13] = [
        Self::BadMagic,
        Self::BadVersion,
        Self::BadRequest,
        Self::Unsupported,
        Self::BadName,
        Self::NoSuchVm,
        Self::WrongState,
        Self::TooLarge,
        Self::HashMismatch,
        Self::Busy,
        Self::NotPermitted,
        Self::Internal,
        Self::BadImage,
    ];

    /// The code numbered `value`, if there is one (0 is success, not a code).
    pub fn from_wire(value: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|code| *code as u32 == value)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BadMagic => "the shared region's header is not cordon's",
            Self::BadVersion => "cordon does not speak this ABI version",
            Self::BadRequest => "malformed request",
            Self::Unsupported => "cordon does not know this request",
            Self::BadName => "bad VM name",
            Self::NoSuchVm => "no such VM",
            Self::WrongState => "the VM is not in a state that allows this",
            Self::TooLarge => "too large",
            Self::HashMismatch => "the image's SHA-256 is not the one expected",
            Self::Busy => "cordon is busy with another request",
            Self::NotPermitted => "not permitted on this VM",
            Self::Internal => "cordon failed (see its log)",
            Self::BadImage => "the loaded kernel is not an image cordon can boot",
        })
    }
}

/// A part of a message, to say where a problem is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Field {
    RequestSlot,
    ResponseSlot,
    /// A slot's per-opcode fields.
    Args,
    NameSpan,
    DataSpan,
    VersionSpan,
    BoardSpan,
    VmEntry,
    EventRecord,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::RequestSlot => "request slot",
            Self::ResponseSlot => "response slot",
            Self::Args => "per-opcode fields",
            Self::NameSpan => "name span",
            Self::DataSpan => "data span",
            Self::VersionSpan => "version span",
            Self::BoardSpan => "board span",
            Self::VmEntry => "VM entry",
            Self::EventRecord => "event record",
        })
    }
}

/// What is wrong with a VM name.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum NameError {
    Empty,
    TooLong {
        len: usize,
    },
    NotUtf8,
    /// A zero byte, which pads names in fixed fields.
    HasZeroByte,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("empty"),
            Self::TooLong { len } => write!(f, "{len} bytes long, over {MAX_NAME_LEN}"),
            Self::NotUtf8 => f.write_str("not UTF-8"),
            Self::HasZeroByte => f.write_str("holds a zero byte"),
        }
    }
}

/// What is wrong with a message, or why one cannot be written.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AbiError {
    /// The region buffer is not [`REGION_SIZE`] bytes.
    RegionSize {
        len: usize,
    },
    BadMagic {
        found: u32,
    },
    /// The header's `region_size` is not [`REGION_SIZE`].
    HeaderRegionSize {
        found: u32,
    },
    /// The peer's ABI version is not one this crate speaks.
    Version {
        major: u16,
        minor: u16,
    },
    UnknownOpcode(u32),
    ReservedNotZero(Field),
    /// A span reaches past the data area.
    SpanOutOfBounds {
        field: Field,
        offset: u32,
        length: u32,
    },
    /// A span the opcode does not use is not all zero.
    UnusedSpan(Field),
    /// The name and the data overlap.
    SpansOverlap,
    BadName(NameError),
    /// A chunk that is empty or over [`MAX_CHUNK_SIZE`].
    ChunkSize {
        len: usize,
    },
    /// A load of zero bytes.
    EmptyImage,
    /// A chunk's offset plus its length does not fit in 64 bits.
    ChunkEndOverflows,
    UnknownImage(u32),
    /// A `ResetDevice` kind that is no [`crate::ResetKind`].
    UnknownResetKind(u32),
    UnknownState(u32),
    UnknownStatus(u32),
    /// The response slot answers another request.
    SequenceMismatch {
        expected: u32,
        found: u32,
    },
    OpcodeMismatch {
        expected: u32,
        found: u32,
    },
    /// A VM list whose data span is not `count` entries.
    ListLength {
        count: u32,
        length: u32,
    },
    /// A payload larger than the data area.
    TooLarge {
        needed: usize,
    },
    /// A response of another kind than the request's opcode gets.
    WrongResponse {
        opcode: u32,
    },
    /// Ring bytes that reach past the end of the stream.
    RingPastEnd,
    /// Text that is not UTF-8.
    NotUtf8(Field),
    /// An event record that cordon overwrote before it could be read.
    EventGone {
        sequence: u32,
    },
}

impl AbiError {
    /// The status cordon answers a request with when decoding it failed so.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::RegionSize { .. } | Self::BadMagic { .. } | Self::HeaderRegionSize { .. } => {
                ErrorCode::BadMagic
            }
            Self::Version { .. } => ErrorCode::BadVersion,
            Self::UnknownOpcode(_) => ErrorCode::Unsupported,
            Self::BadName(_) => ErrorCode::BadName,
            Self::TooLarge { .. } => ErrorCode::TooLarge,
            // The rest are malformed fields; those only a response can have
            // never come out of a request decoder.
            Self::ReservedNotZero(_)
            | Self::SpanOutOfBounds { .. }
            | Self::UnusedSpan(_)
            | Self::SpansOverlap
            | Self::ChunkSize { .. }
            | Self::EmptyImage
            | Self::ChunkEndOverflows
            | Self::UnknownImage(_)
            | Self::UnknownResetKind(_)
            | Self::UnknownState(_)
            | Self::UnknownStatus(_)
            | Self::SequenceMismatch { .. }
            | Self::OpcodeMismatch { .. }
            | Self::ListLength { .. }
            | Self::WrongResponse { .. }
            | Self::RingPastEnd
            | Self::NotUtf8(_)
            | Self::EventGone { .. } => ErrorCode::BadRequest,
        }
    }
}

impl fmt::Display for AbiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RegionSize { len } => {
                write!(f, "the region is {len} bytes, not {REGION_SIZE}")
            }
            Self::BadMagic { found } => {
                write!(f, "the region's magic is {found:#010x}, not cordon's")
            }
            Self::HeaderRegionSize { found } => write!(
                f,
                "the header gives the region size as {found}, not {REGION_SIZE}"
            ),
            Self::Version { major, minor } => write!(
                f,
                "ABI version {major}.{minor} is not compatible with {ABI_MAJOR}.{ABI_MINOR}"
            ),
            Self::UnknownOpcode(opcode) => write!(f, "unknown opcode {opcode}"),
            Self::ReservedNotZero(field) => write!(f, "{field}: a reserved field is not zero"),
            Self::SpanOutOfBounds {
                field,
                offset,
                length,
            } => write!(
                f,
                "{field}: {length} bytes at {offset:#x} reach past the {DATA_SIZE}-byte data area"
            ),
            Self::UnusedSpan(field) => {
                write!(f, "{field}: not used by this opcode but not zero")
            }
            Self::SpansOverlap => f.write_str("the name and the data overlap"),
            Self::BadName(problem) => write!(f, "VM name: {problem}"),
            Self::ChunkSize { len } => write!(
                f,
                "a chunk of {len} bytes; chunks have 1 to {MAX_CHUNK_SIZE}"
            ),
            Self::EmptyImage => f.write_str("an image of zero bytes"),
            Self::ChunkEndOverflows => f.write_str("the chunk's end does not fit in 64 bits"),
            Self::UnknownImage(image) => write!(f, "unknown image slot {image}"),
            Self::UnknownResetKind(kind) => write!(f, "unknown reset kind {kind}"),
            Self::UnknownState(state) => write!(f, "unknown VM state {state}"),
            Self::UnknownStatus(status) => write!(f, "unknown status {status}"),
            Self::SequenceMismatch { expected, found } => write!(
                f,
                "the response answers request {found}, not request {expected}"
            ),
            Self::OpcodeMismatch { expected, found } => write!(
                f,
                "the response is for opcode {found}, not opcode {expected}"
            ),
            Self::ListLength { count, length } => {
                write!(f, "a list of {count} VMs in {length} bytes of data")
            }
            Self::TooLarge { needed } => write!(
                f,
                "{needed} bytes of payload do not fit the {DATA_SIZE}-byte data area"
            ),
            Self::WrongResponse { opcode } => {
                write!(f, "not the kind of response opcode {opcode} gets")
            }
            Self::RingPastEnd => f.write_str("ring bytes reach past the end of the stream"),
            Self::NotUtf8(field) => write!(f, "{field}: not UTF-8"),
            Self::EventGone { sequence } => {
                write!(f, "event {sequence} was overwritten before it was read")
            }
        }
    }
}

impl core::error::Error for AbiError {}
