//! Talking to cordon: one request at a time through a [`SharedRegion`],
//! as `ABI.md` says: write the request, ring with its sequence number,
//! wait for the response slot to carry that number, read the answer.

mod region;

use std::thread;
use std::time::{Duration, Instant};

use cordon_abi::wire::{
    REQUEST_SEQUENCE_OFFSET, REQUEST_SLOT_OFFSET, RESPONSE_SEQUENCE_OFFSET, RESPONSE_SLOT_OFFSET,
    RequestSlot, ResponseSlot,
};
use cordon_abi::{
    DATA_OFFSET, ErrorCode, Events, HEADER_SIZE, HeaderInfo, REGION_SIZE, Request, RequestIds,
    Response, decode_response, encode_request, read_events, read_header, request_ids,
    response_extent,
};

use crate::error::Error;
pub use region::SharedRegion;

/// How long cordon gets to answer one request.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);
/// Times a request is sent while cordon answers `Busy`.
pub const BUSY_ATTEMPTS: u32 = 50;
/// The wait before sending a request again after `Busy`.
const BUSY_BACKOFF: Duration = Duration::from_millis(10);
/// Polls of the response slot without sleeping: cordon answers most
/// requests while the doorbell write traps.
const SPIN_POLLS: u32 = 1000;
/// The sleep between later polls.
const POLL_INTERVAL: Duration = Duration::from_millis(1);

pub struct Client<R> {
    region: R,
    /// This side's copy of the region: requests are written here first,
    /// answers read here after.
    mirror: Box<[u8]>,
    /// A second copy of the header page, to read events.
    events_mirror: Box<[u8]>,
    header: HeaderInfo,
    timeout: Duration,
}

impl<R: SharedRegion> Client<R> {
    /// Checks the region's header: cordon's magic, this ABI's major version.
    pub fn new(region: R, timeout: Duration) -> Result<Self, Error> {
        let mut mirror = vec![0; REGION_SIZE].into_boxed_slice();
        region.read(0, &mut mirror[..HEADER_SIZE]);
        let header = read_header(&mirror)?;
        Ok(Self {
            events_mirror: mirror.clone(),
            region,
            mirror,
            header,
            timeout,
        })
    }

    /// The region, for tests to look at the fake cordon behind it.
    #[cfg(test)]
    pub fn region(&self) -> &R {
        &self.region
    }

    /// The header as it was when the client started.
    pub fn header(&self) -> HeaderInfo {
        self.header
    }

    /// Sends `request` and returns cordon's answer; a refusal is an error.
    /// Sends it again while cordon is busy with another.
    pub fn call(&mut self, request: &Request<'_>) -> Result<Response<'_>, Error> {
        let mut attempts = 1;
        let mut ids = self.exchange(request)?;
        while attempts < BUSY_ATTEMPTS
            && decode_response(&self.mirror, ids)? == Err(ErrorCode::Busy)
        {
            attempts += 1;
            thread::sleep(BUSY_BACKOFF);
            ids = self.exchange(request)?;
        }
        let opcode = request.opcode();
        let response =
            decode_response(&self.mirror, ids)?.map_err(|code| Error::Refused { opcode, code })?;
        if !response.answers(opcode) {
            return Err(Error::UnexpectedResponse { opcode });
        }
        Ok(response)
    }

    /// Writes the request, rings, waits, and copies the answer into the
    /// mirror.
    fn exchange(&mut self, request: &Request<'_>) -> Result<RequestIds, Error> {
        let sequence = self.next_sequence();
        let used = encode_request(&mut self.mirror, sequence, request)?;
        let ids = request_ids(&self.mirror)?;
        self.region
            .write(DATA_OFFSET, &self.mirror[DATA_OFFSET..][..used]);
        self.region.write(
            REQUEST_SLOT_OFFSET,
            &self.mirror[REQUEST_SLOT_OFFSET..][..size_of::<RequestSlot>()],
        );
        self.region.ring(sequence);
        self.wait_for(sequence)?;
        let slot = RESPONSE_SLOT_OFFSET..RESPONSE_SLOT_OFFSET + size_of::<ResponseSlot>();
        self.region.read(slot.start, &mut self.mirror[slot]);
        let extent = response_extent(&self.mirror)?;
        self.region
            .read(DATA_OFFSET, &mut self.mirror[DATA_OFFSET..][..extent]);
        Ok(ids)
    }

    /// A sequence number no request in the region has.
    fn next_sequence(&self) -> u32 {
        let last = self.region.read_word(REQUEST_SEQUENCE_OFFSET);
        match last.wrapping_add(1) {
            0 => 1,
            next => next,
        }
    }

    fn wait_for(&self, sequence: u32) -> Result<(), Error> {
        let start = Instant::now();
        let mut polls = 0;
        while self.region.read_word(RESPONSE_SEQUENCE_OFFSET) != sequence {
            if start.elapsed() > self.timeout {
                return Err(Error::Timeout { sequence });
            }
            polls += 1;
            if polls > SPIN_POLLS {
                thread::sleep(POLL_INTERVAL);
            } else {
                std::hint::spin_loop();
            }
        }
        Ok(())
    }

    /// The events after event `since` (see [`cordon_abi::read_events`]).
    pub fn events(&mut self, since: u32) -> Result<Events<'_>, Error> {
        self.region.read(0, &mut self.mirror[..HEADER_SIZE]);
        self.region.read(0, &mut self.events_mirror[..HEADER_SIZE]);
        Ok(read_events(&self.mirror, &self.events_mirror, since)?)
    }
}
