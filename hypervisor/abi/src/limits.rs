//! The sizes and versions the ABI fixes. Every offset in a message is
//! checked against these.

/// The first word of the region: `CRDN` in memory order (little-endian).
pub const MAGIC: u32 = u32::from_le_bytes(*b"CRDN");

/// Changes that an older peer cannot understand bump this; peers whose
/// major versions differ do not talk.
pub const ABI_MAJOR: u16 = 1;
/// Additions an older peer can ignore (a new opcode, a new flag bit) bump
/// this.
pub const ABI_MINOR: u16 = 2;

/// The granule of the region and of the doorbell.
pub const PAGE_SIZE: usize = 0x1000;
/// Bytes of the whole shared region: the header page and the data area.
pub const REGION_SIZE: usize = 16 * PAGE_SIZE;
/// The header page: header, request and response slots, event ring.
pub const HEADER_SIZE: usize = PAGE_SIZE;
/// Where the data area starts in the region; payload spans count from here.
pub const DATA_OFFSET: usize = HEADER_SIZE;
/// Bytes of the data area.
pub const DATA_SIZE: usize = REGION_SIZE - DATA_OFFSET;
/// Bytes of the trapped doorbell page, right after the region.
pub const DOORBELL_SIZE: usize = PAGE_SIZE;

/// Longest VM name, in bytes of UTF-8.
pub const MAX_NAME_LEN: usize = 32;
/// Most image bytes one `LoadChunk` carries.
pub const MAX_CHUNK_SIZE: usize = 32 * 1024;
/// Event records the header page keeps; older ones are overwritten.
pub const EVENT_SLOTS: usize = 32;
/// Exit counters a VM entry has room for; [`crate::ExitReason`] names the
/// first ones.
pub const EXIT_SLOTS: usize = 16;
