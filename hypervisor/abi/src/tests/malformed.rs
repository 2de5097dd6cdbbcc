//! Each kind of malformed request is refused, with the status cordon
//! answers it with.

use super::{CHUNK, region};
use crate::region::view_mut;
use crate::wire::{Header, REQUEST_SLOT_OFFSET, RequestSlot, Span};
use crate::{
    ABI_MAJOR, ABI_MINOR, AbiError, DATA_OFFSET, DATA_SIZE, ErrorCode, Field, ImageSlot, NameError,
    Request, ResetKind, decode_request, encode_request,
};

/// Encodes `request`, lets `corrupt` change the region, and decodes.
fn decode_after(
    request: Request<'_>,
    corrupt: impl FnOnce(&mut [u8]),
) -> Result<(), (AbiError, ErrorCode)> {
    let mut region = region();
    encode_request(&mut region, 7, &request).unwrap();
    corrupt(&mut region);
    decode_request(&region)
        .map(|_| ())
        .map_err(|error| (error, error.code()))
}

fn slot(region: &mut [u8]) -> &mut RequestSlot {
    view_mut(region, REQUEST_SLOT_OFFSET).unwrap()
}

fn span(offset: u32, length: u32) -> Span {
    Span {
        offset: offset.into(),
        length: length.into(),
    }
}

const START: Request<'static> = Request::Start { vm: "rt" };
const CHUNK_REQUEST: Request<'static> = Request::LoadChunk {
    vm: "rt",
    image: ImageSlot::Kernel,
    offset: 0,
    data: CHUNK,
};

#[test]
fn a_region_of_the_wrong_size() {
    let region = region();
    for len in [0, 100, DATA_OFFSET, region.len() - 1] {
        let error = decode_request(&region[..len]).unwrap_err();
        assert_eq!(error, AbiError::RegionSize { len });
        assert_eq!(error.code(), ErrorCode::BadMagic);
    }
}

#[test]
fn a_header_that_is_not_cordons() {
    let bad_magic = decode_after(START, |r| r[0] ^= 1).unwrap_err();
    assert!(matches!(bad_magic.0, AbiError::BadMagic { .. }));
    assert_eq!(bad_magic.1, ErrorCode::BadMagic);

    let size = |r: &mut [u8]| view_mut::<Header>(r, 0).unwrap().region_size.set(4096);
    assert_eq!(
        decode_after(START, size),
        Err((
            AbiError::HeaderRegionSize { found: 4096 },
            ErrorCode::BadMagic
        ))
    );
    let major = |r: &mut [u8]| view_mut::<Header>(r, 0).unwrap().version_major.set(9);
    assert_eq!(
        decode_after(START, major).unwrap_err().1,
        ErrorCode::BadVersion
    );
}

#[test]
fn a_version_cordon_does_not_speak() {
    let versions = [
        (ABI_MAJOR + 1, 0),
        (ABI_MAJOR - 1, ABI_MINOR),
        (ABI_MAJOR, ABI_MINOR + 1),
    ];
    for (major, minor) in versions {
        let result = decode_after(START, |r| {
            slot(r).version_major.set(major);
            slot(r).version_minor.set(minor);
        });
        assert_eq!(
            result,
            Err((AbiError::Version { major, minor }, ErrorCode::BadVersion))
        );
    }
}

#[test]
fn an_unknown_opcode() {
    for opcode in [0, 12, u32::MAX] {
        assert_eq!(
            decode_after(START, |r| slot(r).opcode.set(opcode)),
            Err((AbiError::UnknownOpcode(opcode), ErrorCode::Unsupported))
        );
    }
}

#[test]
fn reserved_fields_that_are_not_zero() {
    let bad = Err((
        AbiError::ReservedNotZero(Field::RequestSlot),
        ErrorCode::BadRequest,
    ));
    assert_eq!(decode_after(START, |r| slot(r).reserved.set(1)), bad);
    // Fields of an opcode that has none, and bytes after an opcode's fields.
    let args = Err((
        AbiError::ReservedNotZero(Field::Args),
        ErrorCode::BadRequest,
    ));
    assert_eq!(decode_after(START, |r| slot(r).args[0] = 1), args);
    let read_log = Request::ReadLog { position: 1 };
    assert_eq!(decode_after(read_log, |r| slot(r).args[8] = 1), args);
    // The reserved word inside `LoadChunk`'s fields.
    assert_eq!(decode_after(CHUNK_REQUEST, |r| slot(r).args[4] = 1), args);
}

#[test]
fn spans_outside_the_data_area() {
    let size = DATA_SIZE as u32;
    let outside = [
        span(size, 1),
        span(size - 1, 2),
        span(u32::MAX, 1),
        span(1, u32::MAX),
        span(u32::MAX, u32::MAX),
    ];
    for name in outside {
        let result = decode_after(START, |r| slot(r).name = name);
        assert_eq!(
            result,
            Err((
                AbiError::SpanOutOfBounds {
                    field: Field::NameSpan,
                    offset: name.offset.get(),
                    length: name.length.get()
                },
                ErrorCode::BadRequest
            ))
        );
        let data = decode_after(CHUNK_REQUEST, |r| slot(r).data = name);
        assert!(matches!(
            data.unwrap_err().0,
            AbiError::SpanOutOfBounds {
                field: Field::DataSpan,
                ..
            }
        ));
    }
    // The last byte of the data area is inside.
    let last = decode_after(START, |r| {
        r[DATA_OFFSET + DATA_SIZE - 1] = b'x';
        slot(r).name = span(size - 1, 1);
    });
    assert_eq!(last, Ok(()));
}

#[test]
fn spans_an_opcode_does_not_use() {
    let data = Err((AbiError::UnusedSpan(Field::DataSpan), ErrorCode::BadRequest));
    assert_eq!(decode_after(START, |r| slot(r).data = span(0, 1)), data);
    let name = Err((AbiError::UnusedSpan(Field::NameSpan), ErrorCode::BadRequest));
    assert_eq!(
        decode_after(Request::Info, |r| slot(r).name = span(8, 0)),
        name
    );
}

#[test]
fn overlapping_name_and_data() {
    let overlaps = [span(0, 2), span(1, 8), span(0, CHUNK.len() as u32 + 8)];
    for data in overlaps {
        assert_eq!(
            decode_after(CHUNK_REQUEST, |r| slot(r).data = data),
            Err((AbiError::SpansOverlap, ErrorCode::BadRequest))
        );
    }
    // Adjacent is not overlapping.
    assert_eq!(
        decode_after(CHUNK_REQUEST, |r| slot(r).data = span(2, 5)),
        Ok(())
    );
}

#[test]
fn bad_names() {
    let name = |problem| Err((AbiError::BadName(problem), ErrorCode::BadName));
    assert_eq!(
        decode_after(START, |r| r[DATA_OFFSET] = 0xff),
        name(NameError::NotUtf8)
    );
    assert_eq!(
        decode_after(START, |r| r[DATA_OFFSET + 1] = 0),
        name(NameError::HasZeroByte)
    );
    assert_eq!(
        decode_after(START, |r| slot(r).name = span(0, 0)),
        name(NameError::Empty)
    );
    assert_eq!(
        decode_after(START, |r| slot(r).name = span(0, 33)),
        name(NameError::TooLong { len: 33 })
    );
}

#[test]
fn bad_chunks_and_images() {
    let request = |code| Err((code, ErrorCode::BadRequest));
    assert_eq!(
        decode_after(CHUNK_REQUEST, |r| slot(r).data = span(8, 0)),
        request(AbiError::ChunkSize { len: 0 })
    );
    assert_eq!(
        decode_after(CHUNK_REQUEST, |r| slot(r).data = span(8, 32 * 1024 + 1)),
        request(AbiError::ChunkSize { len: 32 * 1024 + 1 })
    );
    assert_eq!(
        decode_after(CHUNK_REQUEST, |r| slot(r).args[8..16].fill(0xff)),
        request(AbiError::ChunkEndOverflows)
    );
    assert_eq!(
        decode_after(CHUNK_REQUEST, |r| slot(r).args[0] = 3),
        request(AbiError::UnknownImage(3))
    );
    let begin = Request::LoadBegin {
        vm: "rt",
        image: ImageSlot::Kernel,
        size: 1,
        sha256: Default::default(),
    };
    assert_eq!(
        decode_after(begin, |r| slot(r).args[8] = 0),
        request(AbiError::EmptyImage)
    );
}

#[test]
fn bad_device_resets() {
    let reset = Request::ResetDevice {
        kind: ResetKind::Reboot,
    };
    let request = |code| Err((code, ErrorCode::BadRequest));
    for kind in [0, 3, u32::MAX] {
        assert_eq!(
            decode_after(reset, |r| slot(r).args[..4]
                .copy_from_slice(&kind.to_le_bytes())),
            request(AbiError::UnknownResetKind(kind))
        );
    }
    assert_eq!(
        decode_after(reset, |r| slot(r).args[4] = 1),
        request(AbiError::ReservedNotZero(Field::Args))
    );
    assert_eq!(
        decode_after(reset, |r| slot(r).name = span(0, 2)),
        request(AbiError::UnusedSpan(Field::NameSpan))
    );
    assert_eq!(
        decode_after(reset, |r| slot(r).data = span(0, 1)),
        request(AbiError::UnusedSpan(Field::DataSpan))
    );
}

#[test]
fn a_client_of_an_older_minor_version_is_understood() {
    for minor in 0..ABI_MINOR {
        assert_eq!(
            decode_after(START, |r| slot(r).version_minor.set(minor)),
            Ok(())
        );
    }
}
