use super::region;
use crate::wire::{EVENT_COUNT_OFFSET, EVENT_RECORD_SIZE};
use crate::{AbiError, EVENT_SLOTS, Event, VmState, event_offset, event_record, read_events};

fn event(sequence: u32) -> Event<'static> {
    Event {
        sequence,
        vm: "rt",
        state: if sequence.is_multiple_of(2) {
            VmState::Stopped
        } else {
            VmState::Running
        },
        restarts: sequence / 2,
        uptime_ns: u64::from(sequence) * 1000,
    }
}

/// Records event `sequence` as cordon does.
fn record(region: &mut [u8], sequence: u32) {
    let record = event_record(&event(sequence)).unwrap();
    let at = event_offset(sequence);
    region[at..at + EVENT_RECORD_SIZE].copy_from_slice(&record);
    region[EVENT_COUNT_OFFSET..][..4].copy_from_slice(&sequence.to_le_bytes());
}

#[test]
fn reads_the_events_since_the_last_read() {
    let mut region = region();
    assert_eq!(read_events(&region, &region, 0).unwrap().count(), 0);
    for sequence in 1..=3 {
        record(&mut region, sequence);
    }
    let events = read_events(&region, &region, 1).unwrap();
    assert_eq!(events.missed, 0);
    let read: std::vec::Vec<_> = events.collect();
    assert_eq!(read, [Ok(event(2)), Ok(event(3))]);
}

#[test]
fn counts_the_events_that_were_overwritten() {
    let mut region = region();
    let newest = EVENT_SLOTS as u32 + 10;
    for sequence in 1..=newest {
        record(&mut region, sequence);
    }
    let events = read_events(&region, &region, 0).unwrap();
    assert_eq!(events.missed, 10);
    let read: std::vec::Vec<_> = events.map(Result::unwrap).collect();
    assert_eq!(read.len(), EVENT_SLOTS);
    assert_eq!(read[0], event(11));
    assert_eq!(read[EVENT_SLOTS - 1], event(newest));
}

#[test]
fn a_record_rewritten_between_the_copies_is_gone() {
    let mut first = region();
    record(&mut first, 1);
    record(&mut first, 2);
    let mut second = first.clone();
    // cordon starts rewriting event 1's record for event 33.
    second[event_offset(1)] = 0;
    let read: std::vec::Vec<_> = read_events(&first, &second, 0).unwrap().collect();
    assert_eq!(
        read,
        [Err(AbiError::EventGone { sequence: 1 }), Ok(event(2))]
    );
}
