//! The structures as they lie in the shared region: little-endian, packed
//! to byte alignment (so any offset can be read on any host), with sizes
//! checked at compile time. ABI.md has the same tables.

use core::mem::{offset_of, size_of};

use zerocopy::byteorder::little_endian::{U16, U32, U64};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use crate::limits::{EVENT_SLOTS, EXIT_SLOTS, HEADER_SIZE, MAX_NAME_LEN};

/// Bytes of per-opcode fixed fields in a request or response slot.
pub const ARGS_SIZE: usize = 96;
/// Bytes of a SHA-256 digest.
pub const DIGEST_SIZE: usize = 32;

/// Where the header is in the region.
pub const HEADER_OFFSET: usize = 0;
/// Where the request slot is: written by the management VM.
pub const REQUEST_SLOT_OFFSET: usize = 0x40;
/// Where the response slot is: written by cordon.
pub const RESPONSE_SLOT_OFFSET: usize = 0xc0;
/// Where the event ring is: written by cordon.
pub const EVENT_RING_OFFSET: usize = 0x200;

/// The request's sequence number, which the client rings the doorbell with.
pub const REQUEST_SEQUENCE_OFFSET: usize = REQUEST_SLOT_OFFSET + offset_of!(RequestSlot, sequence);
/// The word cordon writes last when it answers: the response's sequence.
pub const RESPONSE_SEQUENCE_OFFSET: usize =
    RESPONSE_SLOT_OFFSET + offset_of!(ResponseSlot, sequence);
/// The word cordon writes last when it records an event: the event count.
pub const EVENT_COUNT_OFFSET: usize = HEADER_OFFSET + offset_of!(Header, event_count);

/// Part of the data area: `offset` counts from the data area's start.
/// A span that is not used is all zero.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Default,
    FromBytes,
    IntoBytes,
    KnownLayout,
    Immutable,
    Unaligned,
)]
#[repr(C)]
pub struct Span {
    pub offset: U32,
    pub length: U32,
}

/// The region's first bytes, written by cordon when it sets the region up.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct Header {
    pub magic: U32,
    pub version_major: U16,
    pub version_minor: U16,
    pub region_size: U32,
    /// Events recorded since boot; the newest has this sequence number.
    pub event_count: U32,
    pub reserved: [u8; 48],
}

/// One request, written by the management VM before it rings.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct RequestSlot {
    /// Chosen by the client, different from the previous request's; the
    /// response carries it back.
    pub sequence: U32,
    pub opcode: U32,
    /// The ABI version the client speaks.
    pub version_major: U16,
    pub version_minor: U16,
    pub reserved: U32,
    /// The VM's name, for the opcodes that take one.
    pub name: Span,
    /// Image bytes, for `LoadChunk`.
    pub data: Span,
    /// The opcode's fixed fields ([`RingArgs`], [`LoadBeginArgs`], ...),
    /// then zeros.
    pub args: [u8; ARGS_SIZE],
}

/// One response, written by cordon; `sequence` last.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct ResponseSlot {
    /// The answered request's sequence number.
    pub sequence: U32,
    /// The answered request's opcode, as it was written.
    pub opcode: U32,
    /// 0 when the request was carried out, else a [`crate::ErrorCode`].
    pub status: U32,
    pub reserved: U32,
    /// The payload (ring bytes, VM entries), for the opcodes that have one.
    pub data: Span,
    pub reserved2: U64,
    /// The opcode's fixed fields ([`InfoArgs`], [`ListArgs`], ...), then
    /// zeros; all zero when `status` is not 0.
    pub args: [u8; ARGS_SIZE],
}

/// Request fields of `ReadConsole` and `ReadLog`.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct ReadArgs {
    /// Where to read from in the stream of everything ever written.
    pub position: U64,
}

/// Request fields of `LoadEnd`.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct ImageArgs {
    /// A [`crate::ImageSlot`].
    pub image: U32,
    pub reserved: U32,
}

/// Request fields of `ResetDevice`.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct ResetArgs {
    /// A [`crate::ResetKind`].
    pub kind: U32,
    pub reserved: U32,
}

/// Request fields of `LoadBegin`.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct LoadBeginArgs {
    pub image: U32,
    pub reserved: U32,
    /// Bytes the image will have.
    pub size: U64,
    /// What the client expects the image to hash to.
    pub sha256: [u8; DIGEST_SIZE],
}

/// Request fields of `LoadChunk`.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct LoadChunkArgs {
    pub image: U32,
    pub reserved: U32,
    /// Where in the image the chunk goes.
    pub offset: U64,
}

/// Response fields of `Info`.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct InfoArgs {
    /// cordon's version, UTF-8, in the data area.
    pub version: Span,
    /// The board's name, UTF-8, in the data area.
    pub board: Span,
    pub cpus: U32,
    pub vms: U32,
    pub memory_total: U64,
    pub memory_free: U64,
    pub uptime_ns: U64,
}

/// Response fields of `ListVms`: the data span holds `count` [`VmEntry`].
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct ListArgs {
    pub count: U32,
    pub reserved: U32,
}

/// Response fields of `ReadConsole` and `ReadLog`: the data span holds the
/// stream's bytes from `start`.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct RingArgs {
    /// The stream position of the first byte returned.
    pub start: U64,
    /// The stream position after the last byte written so far.
    pub end: U64,
}

/// Response fields of `LoadChunk`.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct LoadedArgs {
    /// Image bytes received so far.
    pub loaded: U64,
}

/// Response fields of `LoadEnd`.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct MeasuredArgs {
    pub size: U64,
    /// What cordon hashed the loaded image to.
    pub sha256: [u8; DIGEST_SIZE],
}

/// One VM in a `ListVms` response.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct VmEntry {
    /// UTF-8, padded with zero bytes.
    pub name: [u8; MAX_NAME_LEN],
    /// A [`crate::VmState`].
    pub state: U32,
    /// `VM_FLAG_*` bits.
    pub flags: U32,
    pub vcpus: U32,
    pub restarts: U32,
    /// Bit n: physical CPU n runs one of its vCPUs.
    pub cpu_mask: U64,
    /// Bytes of RAM.
    pub memory: U64,
    /// Time since it last started; 0 when it is not running.
    pub uptime_ns: U64,
    /// Exits by [`crate::ExitReason`]; slots no reason names are 0.
    pub exits: [U64; EXIT_SLOTS],
    /// Valid with [`VM_FLAG_KERNEL_MEASURED`].
    pub kernel_sha256: [u8; DIGEST_SIZE],
    /// Valid with [`VM_FLAG_INITRD_MEASURED`].
    pub initrd_sha256: [u8; DIGEST_SIZE],
}

/// The management VM.
pub const VM_FLAG_MANAGEMENT: u32 = 1 << 0;
/// `kernel_sha256` holds the hash of the kernel the VM was last started from.
pub const VM_FLAG_KERNEL_MEASURED: u32 = 1 << 1;
/// `initrd_sha256` holds the hash of the initrd the VM was last started from.
pub const VM_FLAG_INITRD_MEASURED: u32 = 1 << 2;
/// Images were loaded and verified; the next start uses them.
pub const VM_FLAG_IMAGES_PENDING: u32 = 1 << 3;

/// One event in the header page's ring.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct EventRecord {
    /// The event's number (from 1); 0 while cordon writes the record.
    pub sequence: U32,
    /// The [`crate::VmState`] the VM entered.
    pub state: U32,
    /// cordon's uptime when it happened.
    pub uptime_ns: U64,
    /// The VM, UTF-8, padded with zero bytes.
    pub name: [u8; MAX_NAME_LEN],
    pub restarts: U32,
    pub reserved: [u8; 12],
}

/// Bytes of one [`VmEntry`].
pub const VM_ENTRY_SIZE: usize = size_of::<VmEntry>();
/// Bytes of one [`EventRecord`].
pub const EVENT_RECORD_SIZE: usize = size_of::<EventRecord>();

const _: () = {
    assert!(size_of::<Span>() == 8);
    assert!(size_of::<Header>() == 64);
    assert!(size_of::<RequestSlot>() == 128);
    assert!(size_of::<ResponseSlot>() == 128);
    assert!(VM_ENTRY_SIZE == 264);
    assert!(EVENT_RECORD_SIZE == 64);
    assert!(HEADER_OFFSET + size_of::<Header>() <= REQUEST_SLOT_OFFSET);
    assert!(REQUEST_SLOT_OFFSET + size_of::<RequestSlot>() <= RESPONSE_SLOT_OFFSET);
    assert!(RESPONSE_SLOT_OFFSET + size_of::<ResponseSlot>() <= EVENT_RING_OFFSET);
    assert!(EVENT_RING_OFFSET + EVENT_SLOTS * EVENT_RECORD_SIZE <= HEADER_SIZE);
    assert!(size_of::<LoadBeginArgs>() <= ARGS_SIZE);
    assert!(size_of::<InfoArgs>() <= ARGS_SIZE);
    assert!(size_of::<MeasuredArgs>() <= ARGS_SIZE);
};
