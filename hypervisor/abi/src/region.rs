//! The shared region as a byte buffer: setting up and checking its header,
//! viewing the structures at their offsets, resolving spans into the data
//! area, and the fields every message shares (names, per-opcode fields).
//! Every access is bounds-checked: nothing here can panic.

use core::mem::size_of;
use core::ops::Range;

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use crate::error::{AbiError, Field, NameError};
use crate::limits::{
    ABI_MAJOR, ABI_MINOR, DATA_OFFSET, DATA_SIZE, MAGIC, MAX_NAME_LEN, REGION_SIZE,
};
use crate::wire::{ARGS_SIZE, HEADER_OFFSET, Header, Span};

/// What the header says, once checked.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct HeaderInfo {
    pub version_major: u16,
    pub version_minor: u16,
    pub region_size: u32,
    /// Sequence number of the newest event (0: none yet).
    pub event_count: u32,
}

/// cordon, once at boot: zeroes `region` and writes its header.
pub fn init_region(region: &mut [u8]) -> Result<(), AbiError> {
    check_len(region)?;
    region.fill(0);
    let header = view_mut::<Header>(region, HEADER_OFFSET)?;
    header.magic.set(MAGIC);
    header.version_major.set(ABI_MAJOR);
    header.version_minor.set(ABI_MINOR);
    header.region_size.set(REGION_SIZE as u32);
    Ok(())
}

/// Checks the header's magic, size and major version.
pub fn read_header(region: &[u8]) -> Result<HeaderInfo, AbiError> {
    check_len(region)?;
    let header = view::<Header>(region, HEADER_OFFSET)?;
    if header.magic.get() != MAGIC {
        return Err(AbiError::BadMagic {
            found: header.magic.get(),
        });
    }
    if header.region_size.get() as usize != REGION_SIZE {
        return Err(AbiError::HeaderRegionSize {
            found: header.region_size.get(),
        });
    }
    let (major, minor) = (header.version_major.get(), header.version_minor.get());
    if major != ABI_MAJOR {
        return Err(AbiError::Version { major, minor });
    }
    Ok(HeaderInfo {
        version_major: major,
        version_minor: minor,
        region_size: header.region_size.get(),
        event_count: header.event_count.get(),
    })
}

pub(crate) fn check_len(region: &[u8]) -> Result<(), AbiError> {
    if region.len() == REGION_SIZE {
        Ok(())
    } else {
        Err(AbiError::RegionSize { len: region.len() })
    }
}

/// The `T` at `offset` in `bytes`.
pub(crate) fn view<T>(bytes: &[u8], offset: usize) -> Result<&T, AbiError>
where
    T: FromBytes + KnownLayout + Immutable + Unaligned,
{
    bytes
        .get(offset..)
        .and_then(|rest| T::ref_from_prefix(rest).ok())
        .map(|(value, _)| value)
        .ok_or(AbiError::RegionSize { len: bytes.len() })
}

pub(crate) fn view_mut<T>(bytes: &mut [u8], offset: usize) -> Result<&mut T, AbiError>
where
    T: FromBytes + IntoBytes + KnownLayout + Unaligned,
{
    let len = bytes.len();
    bytes
        .get_mut(offset..)
        .and_then(|rest| T::mut_from_prefix(rest).ok())
        .map(|(value, _)| value)
        .ok_or(AbiError::RegionSize { len })
}

/// The data area of a region whose length was checked.
pub(crate) fn data_area(region: &[u8]) -> &[u8] {
    region.get(DATA_OFFSET..).unwrap_or_default()
}

pub(crate) fn data_area_mut(region: &mut [u8]) -> &mut [u8] {
    region.get_mut(DATA_OFFSET..).unwrap_or_default()
}

/// The data-area range `span` covers, if it lies inside the data area.
pub(crate) fn resolve(span: &Span, field: Field) -> Result<Range<usize>, AbiError> {
    let (offset, length) = (span.offset.get(), span.length.get());
    let out_of_bounds = AbiError::SpanOutOfBounds {
        field,
        offset,
        length,
    };
    let start = offset as usize;
    let end = start.checked_add(length as usize).ok_or(out_of_bounds)?;
    if end > DATA_SIZE {
        return Err(out_of_bounds);
    }
    Ok(start..end)
}

/// Checks that a span the opcode does not use is all zero.
pub(crate) fn unused(span: &Span, field: Field) -> Result<(), AbiError> {
    if *span == Span::default() {
        Ok(())
    } else {
        Err(AbiError::UnusedSpan(field))
    }
}

pub(crate) fn span(range: &Range<usize>) -> Span {
    Span {
        offset: (range.start as u32).into(),
        length: (range.len() as u32).into(),
    }
}

/// Copies `bytes` into the data area at `offset`; returns its span.
pub(crate) fn put(data: &mut [u8], offset: usize, bytes: &[u8]) -> Result<Span, AbiError> {
    let range = offset..offset.saturating_add(bytes.len());
    let needed = range.end;
    data.get_mut(range.clone())
        .ok_or(AbiError::TooLarge { needed })?
        .copy_from_slice(bytes);
    Ok(span(&range))
}

/// Where the next payload goes after `end`: payloads start 8-byte aligned.
pub(crate) fn next_offset(end: usize) -> usize {
    const PAYLOAD_ALIGN: usize = 8;
    end.next_multiple_of(PAYLOAD_ALIGN)
}

/// Checks a VM name: 1 to [`MAX_NAME_LEN`] bytes of UTF-8, no zero byte.
pub fn check_name(bytes: &[u8]) -> Result<&str, AbiError> {
    let problem = if bytes.is_empty() {
        Some(NameError::Empty)
    } else if bytes.len() > MAX_NAME_LEN {
        Some(NameError::TooLong { len: bytes.len() })
    } else if bytes.contains(&0) {
        Some(NameError::HasZeroByte)
    } else {
        None
    };
    if let Some(problem) = problem {
        return Err(AbiError::BadName(problem));
    }
    core::str::from_utf8(bytes).map_err(|_| AbiError::BadName(NameError::NotUtf8))
}

/// The name in a zero-padded fixed field.
pub(crate) fn fixed_name(field: &[u8; MAX_NAME_LEN]) -> Result<&str, AbiError> {
    let len = field
        .iter()
        .rposition(|&b| b != 0)
        .map_or(0, |last| last + 1);
    check_name(&field[..len])
}

/// `name`, checked and zero-padded for a fixed field.
pub(crate) fn pad_name(name: &str) -> Result<[u8; MAX_NAME_LEN], AbiError> {
    let name = check_name(name.as_bytes())?;
    let mut field = [0; MAX_NAME_LEN];
    field[..name.len()].copy_from_slice(name.as_bytes());
    Ok(field)
}

/// The opcode's fields at the start of `args`; the rest must be zero.
pub(crate) fn read_args<T>(args: &[u8; ARGS_SIZE]) -> Result<&T, AbiError>
where
    T: FromBytes + KnownLayout + Immutable + Unaligned,
{
    let (fields, rest) =
        T::ref_from_prefix(args).map_err(|_| AbiError::ReservedNotZero(Field::Args))?;
    zeros(rest, Field::Args)?;
    Ok(fields)
}

/// Writes `fields` at the start of `args` and zeroes the rest.
pub(crate) fn write_args<T: IntoBytes + Immutable>(args: &mut [u8; ARGS_SIZE], fields: &T) {
    const { assert!(size_of::<T>() <= ARGS_SIZE) };
    args.fill(0);
    args[..size_of::<T>()].copy_from_slice(fields.as_bytes());
}

/// Checks that reserved bytes are zero.
pub(crate) fn zeros(bytes: &[u8], field: Field) -> Result<(), AbiError> {
    if bytes.iter().all(|&b| b == 0) {
        Ok(())
    } else {
        Err(AbiError::ReservedNotZero(field))
    }
}
