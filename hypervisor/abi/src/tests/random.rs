//! Random input, from a fixed seed: the decoders must never panic, and a
//! request they accept must encode back to the same request.

use std::vec::Vec;

use super::{every_request, region};
use crate::wire::{ARGS_SIZE, REQUEST_SLOT_OFFSET, RESPONSE_SLOT_OFFSET, RequestSlot};
use crate::{
    ABI_MAJOR, ABI_MINOR, DATA_OFFSET, HEADER_SIZE, Opcode, REGION_SIZE, RequestIds,
    decode_request, decode_response, encode_request, read_events, read_header, request_ids,
};

/// SplitMix64: small, fast, and the same sequence on every host.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    fn fill(&mut self, bytes: &mut [u8]) {
        bytes.iter_mut().for_each(|b| *b = self.next() as u8);
    }

    /// Offset and length of a span: none half of the time, else mostly
    /// small ones, sometimes anything.
    fn span(&mut self, offsets: usize, lengths: usize) -> (u32, u32) {
        match self.below(8) {
            0..4 => (0, 0),
            4 => (self.next() as u32, self.next() as u32),
            _ => (self.below(offsets) as u32, self.below(lengths) as u32),
        }
    }
}

const SEED: u64 = 0x636f_7264_6f6e;
/// Regions each structured test decodes.
const ROUNDS: usize = 50_000;

/// Decodes `region` every way there is; checks a decoded request round
/// trips. Returns whether a request decoded.
fn decode_all(region: &[u8]) -> bool {
    let _ = read_header(region);
    let request = decode_request(region);
    if let Ok(request) = request {
        let mut again = super::region();
        encode_request(&mut again, 1, &request).unwrap();
        assert_eq!(decode_request(&again), Ok(request));
    }
    if let Ok(ids) = request_ids(region) {
        let _ = decode_response(region, ids);
    }
    let response = &region.get(RESPONSE_SLOT_OFFSET..RESPONSE_SLOT_OFFSET + 8);
    if let Some(words) = response {
        let word = |at: usize| u32::from_le_bytes(words[at..at + 4].try_into().unwrap());
        let ids = RequestIds {
            sequence: word(0),
            opcode: word(4),
        };
        let _ = decode_response(region, ids).map(|reply| reply.map(count_vms));
    }
    if let Ok(events) = read_events(region, region, 0) {
        events.for_each(drop);
    }
    request.is_ok()
}

fn count_vms(response: crate::Response<'_>) -> usize {
    match response {
        crate::Response::Vms(list) => list.iter().count(),
        _ => 0,
    }
}

#[test]
fn random_bytes_of_any_length() {
    let mut rng = Rng(SEED);
    let mut bytes = Vec::new();
    for _ in 0..300 {
        let len = match rng.below(3) {
            0 => rng.below(HEADER_SIZE),
            1 => REGION_SIZE,
            _ => rng.below(2 * REGION_SIZE),
        };
        bytes.resize(len, 0);
        rng.fill(&mut bytes);
        assert!(!decode_all(&bytes), "random bytes made a valid header");
    }
}

#[test]
fn random_request_slots_in_a_valid_region() {
    let mut rng = Rng(SEED + 1);
    let mut region = region();
    // Mostly letters, so that names decode and later checks run.
    for byte in &mut region[DATA_OFFSET..DATA_OFFSET + 256] {
        *byte = match rng.below(16) {
            0 => rng.next() as u8,
            _ => b'a' + rng.below(26) as u8,
        };
    }
    let mut decoded = 0;
    for _ in 0..ROUNDS {
        let mut slot = [0u8; size_of::<RequestSlot>()];
        rng.fill(&mut slot);
        let (name, data) = (rng.span(64, 40), rng.span(128, 64));
        let fields = [
            rng.below(1 << 20) as u32,
            1 + rng.below(Opcode::ALL.len() + 1) as u32,
            u32::from(ABI_MAJOR) | u32::from(ABI_MINOR) << 16,
            0,
            name.0,
            name.1,
            data.0,
            data.1,
        ];
        for (n, value) in fields.iter().enumerate() {
            if rng.below(32) != 0 {
                slot[n * 4..n * 4 + 4].copy_from_slice(&value.to_le_bytes());
            }
        }
        // Opcodes use the first 0, 8, 16 or 48 bytes of their fields.
        let used = [0, 8, 16, 48, rng.below(ARGS_SIZE), ARGS_SIZE][rng.below(6)];
        slot[32 + used..].fill(0);
        region[REQUEST_SLOT_OFFSET..][..slot.len()].copy_from_slice(&slot);
        decoded += usize::from(decode_all(&region));
    }
    // Some made it past every check: the checks after the first ran too.
    assert!(decoded > ROUNDS / 1000, "only {decoded} decoded");
}

#[test]
fn valid_requests_with_random_bytes_changed() {
    let mut rng = Rng(SEED + 2);
    let mut region = region();
    let requests = every_request();
    let mut decoded = 0;
    for _ in 0..ROUNDS {
        let request = &requests[rng.below(requests.len())];
        encode_request(&mut region, 5, request).unwrap();
        for _ in 0..1 + rng.below(3) {
            let at = match rng.below(3) {
                0 => rng.below(HEADER_SIZE),
                1 => REQUEST_SLOT_OFFSET + rng.below(size_of::<RequestSlot>()),
                _ => DATA_OFFSET + rng.below(64),
            };
            region[at] = rng.next() as u8;
        }
        decoded += usize::from(decode_all(&region));
        region[..HEADER_SIZE].copy_from_slice(&super::region()[..HEADER_SIZE]);
    }
    assert!(decoded > ROUNDS / 100, "only {decoded} decoded");
}
