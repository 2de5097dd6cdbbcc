use super::region;
use crate::region::view_mut;
use crate::wire::{RESPONSE_SLOT_OFFSET, ResponseSlot, VM_ENTRY_SIZE};
use crate::{
    AbiError, DATA_OFFSET, DATA_SIZE, Digest, ErrorCode, ExitCounts, ExitReason, Info,
    MAX_LISTED_VMS, Opcode, Reply, RequestIds, Response, RingChunk, VmList, VmState, VmStatus,
    decode_response, encode_response, response_extent,
};

fn ids(opcode: Opcode) -> RequestIds {
    RequestIds {
        sequence: 41,
        opcode: opcode as u32,
    }
}

fn status(name: &str) -> VmStatus<'_> {
    let mut exits = ExitCounts::default();
    exits.set(ExitReason::Hvc, 3);
    exits.set(ExitReason::Other, u64::MAX);
    VmStatus {
        name,
        state: VmState::Running,
        management: false,
        vcpus: 2,
        cpu_mask: 0b1100,
        memory: 256 << 20,
        restarts: 1,
        uptime_ns: 5_000_000_000,
        exits,
        kernel_sha256: Some(Digest([1; 32])),
        initrd_sha256: None,
        images_pending: true,
    }
}

/// Every kind of successful answer, with the opcode it answers.
fn every_response<'a>(statuses: &'a [VmStatus<'a>]) -> [(Opcode, Response<'a>); 11] {
    let info = Info {
        version: "0.1.0",
        board: "qemu-virt",
        cpus: 4,
        vms: 2,
        memory_total: 2 << 30,
        memory_free: 1 << 30,
        uptime_ns: 42,
    };
    let ring = RingChunk {
        start: 100,
        end: 1000,
        bytes: b"[mgmt] hello\n",
    };
    [
        (Opcode::Info, Response::Info(info)),
        (Opcode::ListVms, Response::Vms(VmList::Statuses(statuses))),
        (Opcode::ListVms, Response::Vms(VmList::Statuses(&[]))),
        (Opcode::Start, Response::Done),
        (Opcode::Stop, Response::Done),
        (Opcode::ReadConsole, Response::Ring(ring)),
        (
            Opcode::ReadLog,
            Response::Ring(RingChunk {
                start: 7,
                end: 7,
                bytes: b"",
            }),
        ),
        (Opcode::LoadBegin, Response::Done),
        (Opcode::ResetDevice, Response::Done),
        (Opcode::LoadChunk, Response::Loaded { loaded: 65_536 }),
        (
            Opcode::LoadEnd,
            Response::Measured {
                size: 9,
                sha256: Digest([0xee; 32]),
            },
        ),
    ]
}

#[test]
fn every_response_round_trips() {
    let statuses = [
        VmStatus {
            management: true,
            state: VmState::Stopped,
            kernel_sha256: None,
            initrd_sha256: Some(Digest([2; 32])),
            images_pending: false,
            ..status("mgmt")
        },
        status("rt"),
    ];
    let mut region = region();
    for (opcode, response) in every_response(&statuses) {
        let reply: Reply<'_> = Ok(response);
        encode_response(&mut region, ids(opcode), &reply).unwrap();
        assert_eq!(
            decode_response(&region, ids(opcode)),
            Ok(reply),
            "{opcode:?}"
        );
    }
}

#[test]
fn every_error_round_trips() {
    let mut region = region();
    for code in ErrorCode::ALL {
        encode_response(&mut region, ids(Opcode::Stop), &Err(code)).unwrap();
        assert_eq!(decode_response(&region, ids(Opcode::Stop)), Ok(Err(code)));
    }
    // An error answers any opcode, even one that is not known.
    let unknown = RequestIds {
        sequence: 1,
        opcode: 999,
    };
    encode_response(&mut region, unknown, &Err(ErrorCode::Unsupported)).unwrap();
    assert_eq!(
        decode_response(&region, unknown),
        Ok(Err(ErrorCode::Unsupported))
    );
}

#[test]
fn the_extent_covers_every_payload() {
    let statuses = [status("rt")];
    let mut region = region();
    for (opcode, response) in every_response(&statuses) {
        let used = encode_response(&mut region, ids(opcode), &Ok(response)).unwrap();
        assert_eq!(response_extent(&region), Ok(used), "{opcode:?}");
    }
    slot(&mut region).data.offset.set(u32::MAX);
    slot(&mut region).data.length.set(u32::MAX);
    assert_eq!(response_extent(&region), Ok(DATA_SIZE));
}

#[test]
fn reports_the_data_it_used() {
    let mut region = region();
    let statuses = [status("a"), status("b")];
    let list = Ok(Response::Vms(VmList::Statuses(&statuses)));
    assert_eq!(
        encode_response(&mut region, ids(Opcode::ListVms), &list),
        Ok(2 * VM_ENTRY_SIZE)
    );
    assert_eq!(
        encode_response(&mut region, ids(Opcode::Start), &Ok(Response::Done)),
        Ok(0)
    );
}

#[test]
fn the_encoder_refuses_what_does_not_fit_or_answer() {
    let mut region = region();
    assert_eq!(
        encode_response(
            &mut region,
            ids(Opcode::Start),
            &Ok(Response::Loaded { loaded: 1 })
        ),
        Err(AbiError::WrongResponse {
            opcode: Opcode::Start as u32
        })
    );
    let big = std::vec![b'x'; DATA_SIZE + 1];
    let ring = RingChunk {
        start: 0,
        end: big.len() as u64,
        bytes: &big,
    };
    assert_eq!(
        encode_response(&mut region, ids(Opcode::ReadLog), &Ok(Response::Ring(ring))),
        Err(AbiError::TooLarge {
            needed: DATA_SIZE + 1
        })
    );
    let past_end = RingChunk { end: 3, ..ring };
    assert_eq!(
        encode_response(
            &mut region,
            ids(Opcode::ReadLog),
            &Ok(Response::Ring(past_end))
        ),
        Err(AbiError::RingPastEnd)
    );
    let statuses = std::vec![status("vm"); MAX_LISTED_VMS + 1];
    let list = Ok(Response::Vms(VmList::Statuses(&statuses)));
    assert!(matches!(
        encode_response(&mut region, ids(Opcode::ListVms), &list),
        Err(AbiError::TooLarge { .. })
    ));
    let fits = Ok(Response::Vms(VmList::Statuses(&statuses[1..])));
    assert!(encode_response(&mut region, ids(Opcode::ListVms), &fits).is_ok());
}

fn slot(region: &mut [u8]) -> &mut ResponseSlot {
    view_mut(region, RESPONSE_SLOT_OFFSET).unwrap()
}

#[test]
fn the_client_refuses_answers_that_are_not_for_it() {
    let mut region = region();
    encode_response(&mut region, ids(Opcode::Start), &Ok(Response::Done)).unwrap();
    let other = RequestIds {
        sequence: 40,
        opcode: Opcode::Start as u32,
    };
    assert_eq!(
        decode_response(&region, other),
        Err(AbiError::SequenceMismatch {
            expected: 40,
            found: 41
        })
    );
    assert!(matches!(
        decode_response(&region, ids(Opcode::Stop)),
        Err(AbiError::OpcodeMismatch { .. })
    ));
    slot(&mut region).status.set(77);
    assert_eq!(
        decode_response(&region, ids(Opcode::Start)),
        Err(AbiError::UnknownStatus(77))
    );
}

#[test]
fn the_client_checks_payloads() {
    let mut region = region();
    let statuses = [status("rt")];
    let list = Ok(Response::Vms(VmList::Statuses(&statuses)));
    let list_ids = ids(Opcode::ListVms);
    encode_response(&mut region, list_ids, &list).unwrap();
    // A count that does not match the data.
    slot(&mut region).args[0] = 2;
    assert_eq!(
        decode_response(&region, list_ids),
        Err(AbiError::ListLength {
            count: 2,
            length: VM_ENTRY_SIZE as u32
        })
    );
    slot(&mut region).args[0] = 1;
    // An entry with a bad state, then a bad name.
    let state_at = DATA_OFFSET + 32;
    region[state_at] = 9;
    assert_eq!(
        decode_response(&region, list_ids),
        Err(AbiError::UnknownState(9))
    );
    region[state_at] = VmState::Stopped as u8;
    region[DATA_OFFSET] = 0xff;
    assert!(matches!(
        decode_response(&region, list_ids),
        Err(AbiError::BadName(_))
    ));
    // A data span outside the data area.
    slot(&mut region).data.offset.set(DATA_SIZE as u32);
    assert!(matches!(
        decode_response(&region, list_ids),
        Err(AbiError::SpanOutOfBounds { .. })
    ));
}

#[test]
fn the_client_ignores_what_a_newer_cordon_may_add() {
    let mut region = region();
    let statuses = [status("rt")];
    let list = Ok(Response::Vms(VmList::Statuses(&statuses)));
    encode_response(&mut region, ids(Opcode::ListVms), &list).unwrap();
    let flags_at = DATA_OFFSET + 36;
    region[flags_at + 3] = 0x80;
    let last_exit_slot = DATA_OFFSET + 72 + 15 * 8;
    region[last_exit_slot] = 1;
    let Ok(Ok(Response::Vms(decoded))) = decode_response(&region, ids(Opcode::ListVms)) else {
        panic!("the list did not decode");
    };
    assert_eq!(decoded, VmList::Statuses(&statuses));
}
