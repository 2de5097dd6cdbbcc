//! Events: cordon records each VM state change in a ring of records in the
//! header page, bumps the header's event count and raises the management
//! VM's interrupt. A reader that copies the header page twice can tell a
//! record cordon was rewriting from a whole one.

use zerocopy::IntoBytes;

use crate::error::{AbiError, Field};
use crate::limits::EVENT_SLOTS;
use crate::region::{fixed_name, pad_name, read_header, view, zeros};
use crate::types::VmState;
use crate::wire::{EVENT_RECORD_SIZE, EVENT_RING_OFFSET, EventRecord};

/// A VM entered `state`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Event<'a> {
    /// Events are numbered from 1, in the order they happened.
    pub sequence: u32,
    pub vm: &'a str,
    pub state: VmState,
    pub restarts: u32,
    /// cordon's uptime when it happened.
    pub uptime_ns: u64,
}

/// Where the record of event `sequence` goes in the region.
pub fn event_offset(sequence: u32) -> usize {
    let slot = (sequence as usize).wrapping_sub(1) % EVENT_SLOTS;
    EVENT_RING_OFFSET + slot * EVENT_RECORD_SIZE
}

/// cordon: the bytes of the record of `event`. To record it, zero the
/// record's first word (its sequence number) at [`event_offset`], write
/// the other bytes, then the first word, then the header's event count
/// ([`crate::wire::EVENT_COUNT_OFFSET`]), then raise the interrupt.
pub fn event_record(event: &Event<'_>) -> Result<[u8; EVENT_RECORD_SIZE], AbiError> {
    let record = EventRecord {
        sequence: event.sequence.into(),
        state: (event.state as u32).into(),
        uptime_ns: event.uptime_ns.into(),
        name: pad_name(event.vm)?,
        restarts: event.restarts.into(),
        reserved: [0; 12],
    };
    let mut bytes = [0; EVENT_RECORD_SIZE];
    bytes.copy_from_slice(record.as_bytes());
    Ok(bytes)
}

/// The client: the events after event `since`, from two copies of the
/// region, `first` and then `second`. A record that changed between the
/// copies is reported as [`AbiError::EventGone`].
pub fn read_events<'a>(
    first: &'a [u8],
    second: &'a [u8],
    since: u32,
) -> Result<Events<'a>, AbiError> {
    let count = read_header(first)?.event_count;
    read_header(second)?;
    let oldest_kept = count.saturating_sub(EVENT_SLOTS as u32 - 1).max(1);
    let from = since.saturating_add(1).max(oldest_kept);
    Ok(Events {
        first,
        second,
        next: from,
        last: count,
        missed: from.saturating_sub(since.saturating_add(1)),
    })
}

/// Events read from the header page, oldest first.
pub struct Events<'a> {
    first: &'a [u8],
    second: &'a [u8],
    next: u32,
    last: u32,
    /// Events after `since` that were overwritten before this read.
    pub missed: u32,
}

impl<'a> Events<'a> {
    fn read(&self, sequence: u32) -> Result<Event<'a>, AbiError> {
        let offset = event_offset(sequence);
        let record = view::<EventRecord>(self.first, offset)?;
        let again = view::<EventRecord>(self.second, offset)?;
        if record.sequence.get() != sequence || again.as_bytes() != record.as_bytes() {
            return Err(AbiError::EventGone { sequence });
        }
        zeros(&record.reserved, Field::EventRecord)?;
        let state = record.state.get();
        Ok(Event {
            sequence,
            vm: fixed_name(&record.name)?,
            state: VmState::from_wire(state).ok_or(AbiError::UnknownState(state))?,
            restarts: record.restarts.get(),
            uptime_ns: record.uptime_ns.get(),
        })
    }
}

impl<'a> Iterator for Events<'a> {
    type Item = Result<Event<'a>, AbiError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next > self.last || self.next == 0 {
            return None;
        }
        let event = self.read(self.next);
        self.next = self.next.checked_add(1).unwrap_or(0);
        Some(event)
    }
}
