//! cordon's request decoder on untrusted bytes: the input is tried as a
//! whole region, then written over the request slot and the start of the
//! data area of a region cordon set up (where most inputs get past the
//! header checks). The decoder must never panic, and a request it accepts
//! must encode back to the same request.

#![no_main]

use cordon_abi::wire::{REQUEST_SLOT_OFFSET, RequestSlot};
use cordon_abi::{DATA_OFFSET, REGION_SIZE, decode_request, encode_request, init_region};
use libfuzzer_sys::fuzz_target;

/// The sequence number re-encoded requests get.
const SEQUENCE: u32 = 1;

fn region() -> Vec<u8> {
    let mut region = vec![0; REGION_SIZE];
    init_region(&mut region).expect("a region of REGION_SIZE bytes");
    region
}

fn check(region: &[u8]) {
    if let Ok(request) = decode_request(region) {
        let mut again = self::region();
        encode_request(&mut again, SEQUENCE, &request).expect("an accepted request encodes");
        assert_eq!(decode_request(&again), Ok(request));
    }
}

fuzz_target!(|input: &[u8]| {
    check(input);

    let mut region = region();
    let (slot, data) = input.split_at(input.len().min(size_of::<RequestSlot>()));
    region[REQUEST_SLOT_OFFSET..][..slot.len()].copy_from_slice(slot);
    let data = &data[..data.len().min(REGION_SIZE - DATA_OFFSET)];
    region[DATA_OFFSET..][..data.len()].copy_from_slice(data);
    check(&region);
});
