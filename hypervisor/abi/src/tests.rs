//! Host tests: round trips of every message, rejection of each kind of
//! malformed input, events, hashing, and random input that must never
//! make a decoder panic.

mod events;
mod hash;
mod malformed;
mod random;
mod requests;
mod responses;

use std::boxed::Box;

use crate::{Digest, ImageSlot, REGION_SIZE, Request, ResetKind, init_region};

/// A region as cordon sets it up.
fn region() -> Box<[u8]> {
    let mut region = std::vec![0; REGION_SIZE].into_boxed_slice();
    init_region(&mut region).unwrap();
    region
}

const CHUNK: &[u8] = b"\x7fELF and the rest of an image";

/// One request of each opcode.
fn every_request() -> [Request<'static>; 12] {
    [
        Request::Info,
        Request::ListVms,
        Request::Start { vm: "rt" },
        Request::Stop { vm: "linux-2" },
        Request::Restart { vm: "été" },
        Request::ReadConsole {
            vm: "rt",
            position: 12_345,
        },
        Request::ReadLog { position: u64::MAX },
        Request::LoadBegin {
            vm: "rt",
            image: ImageSlot::Kernel,
            size: 30 << 20,
            sha256: Digest([0xab; 32]),
        },
        Request::LoadChunk {
            vm: "a-name-of-exactly-32-bytes-long!",
            image: ImageSlot::Initrd,
            offset: 0x8000,
            data: CHUNK,
        },
        Request::LoadEnd {
            vm: "rt",
            image: ImageSlot::Initrd,
        },
        Request::ResetDevice {
            kind: ResetKind::Reboot,
        },
        Request::ResetDevice {
            kind: ResetKind::PowerOff,
        },
    ]
}
