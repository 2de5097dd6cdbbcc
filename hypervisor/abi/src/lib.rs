//! cordon's management interface: how the Linux management VM asks cordon
//! for information and actions, with no kernel module. Both sides link this
//! crate: cordon (`no_std`) and `cordonctl` in the management VM.
//!
//! The interface is a 64 KiB shared region that the management VM finds in
//! its device tree and maps through `/dev/mem`, a doorbell page right after
//! it whose writes trap to cordon, and a virtual interrupt for events. One
//! request is outstanding at a time:
//!
//! - the client writes a request with [`encode_request`] (the request slot
//!   and the data area) and rings the doorbell with its sequence number;
//! - cordon copies the region, takes [`request_ids`] and decodes the copy
//!   with [`decode_request`], which checks everything and never panics;
//!   it carries the request out and answers with [`encode_response`]
//!   (an [`ErrorCode`] when decoding failed: [`AbiError::code`]);
//! - the client sees the response slot's sequence number match its own and
//!   reads the answer with [`decode_response`].
//!
//! cordon records VM state changes as events ([`event_record`],
//! [`event_offset`]); the client reads them with [`read_events`].
//! [`ImageHasher`] hashes boot images for measured launch.
//!
//! The rest of this page is the ABI itself, as in `ABI.md` beside this
//! crate.
//!
#![doc = include_str!("../ABI.md")]
#![no_std]

#[cfg(test)]
extern crate std;

mod error;
mod event;
mod hash;
mod limits;
mod region;
mod request;
mod response;
mod types;
pub mod wire;

pub use error::{AbiError, ErrorCode, Field, NameError};
pub use event::{Event, Events, event_offset, event_record, read_events};
pub use hash::ImageHasher;
pub use limits::*;
pub use region::{HeaderInfo, check_name, init_region, read_header};
pub use request::{Request, RequestIds, decode_request, encode_request, request_ids};
pub use response::{
    Info, MAX_LISTED_VMS, Reply, Response, RingChunk, VmList, VmStatus, decode_response,
    encode_response, response_extent,
};
pub use types::{Digest, ExitCounts, ExitReason, ImageSlot, Opcode, ResetKind, VmState};

#[cfg(test)]
mod tests;
