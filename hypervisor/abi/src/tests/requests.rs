use super::{CHUNK, every_request, region};
use crate::{
    AbiError, DATA_OFFSET, ImageSlot, MAX_CHUNK_SIZE, NameError, Request, RequestIds,
    decode_request, encode_request, request_ids,
};

#[test]
fn every_request_round_trips() {
    let mut region = region();
    for (n, request) in every_request().iter().enumerate() {
        let sequence = 100 + n as u32;
        encode_request(&mut region, sequence, request).unwrap();
        assert_eq!(
            request_ids(&region),
            Ok(RequestIds {
                sequence,
                opcode: request.opcode() as u32
            })
        );
        assert_eq!(decode_request(&region).as_ref(), Ok(request));
    }
}

#[test]
fn reports_the_data_it_used() {
    let mut region = region();
    assert_eq!(encode_request(&mut region, 1, &Request::Info), Ok(0));
    assert_eq!(
        encode_request(&mut region, 2, &Request::Start { vm: "abc" }),
        Ok(3)
    );
    let chunk = Request::LoadChunk {
        vm: "abc",
        image: ImageSlot::Kernel,
        offset: 0,
        data: CHUNK,
    };
    // The chunk starts 8-byte aligned after the name.
    assert_eq!(encode_request(&mut region, 3, &chunk), Ok(8 + CHUNK.len()));
    assert_eq!(&region[DATA_OFFSET + 8..][..CHUNK.len()], CHUNK);
}

#[test]
fn the_encoder_refuses_what_the_decoder_would() {
    let mut region = region();
    let too_big = [0; MAX_CHUNK_SIZE + 1];
    let refused = [
        (
            Request::Start { vm: "" },
            AbiError::BadName(NameError::Empty),
        ),
        (
            Request::Stop { vm: "nul\0" },
            AbiError::BadName(NameError::HasZeroByte),
        ),
        (
            Request::Stop {
                vm: "a-name-that-is-33-bytes-long-yes!",
            },
            AbiError::BadName(NameError::TooLong { len: 33 }),
        ),
        (
            Request::LoadBegin {
                vm: "rt",
                image: ImageSlot::Kernel,
                size: 0,
                sha256: Default::default(),
            },
            AbiError::EmptyImage,
        ),
        (
            Request::LoadChunk {
                vm: "rt",
                image: ImageSlot::Kernel,
                offset: 0,
                data: &too_big,
            },
            AbiError::ChunkSize {
                len: MAX_CHUNK_SIZE + 1,
            },
        ),
        (
            Request::LoadChunk {
                vm: "rt",
                image: ImageSlot::Kernel,
                offset: u64::MAX,
                data: CHUNK,
            },
            AbiError::ChunkEndOverflows,
        ),
    ];
    for (request, error) in refused {
        assert_eq!(
            encode_request(&mut region, 1, &request),
            Err(error),
            "{request:?}"
        );
    }
    assert_eq!(
        encode_request(&mut [0; 16], 1, &Request::Info),
        Err(AbiError::RegionSize { len: 16 })
    );
}

#[test]
fn the_largest_chunk_fits() {
    let mut region = region();
    let data = [0x5a; MAX_CHUNK_SIZE];
    let request = Request::LoadChunk {
        vm: "a-name-of-exactly-32-bytes-long!",
        image: ImageSlot::Kernel,
        offset: 0,
        data: &data,
    };
    encode_request(&mut region, 9, &request).unwrap();
    assert_eq!(decode_request(&region), Ok(request));
}
