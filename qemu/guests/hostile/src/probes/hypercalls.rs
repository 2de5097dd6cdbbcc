//! cordon's own hypercall range, every function of it, with garbage
//! arguments: each must return NOT_SUPPORTED except the ABI version call,
//! none may fault, and none may change x4-x17 (checked on every call).

use core::fmt;

use crate::counter;
use crate::fault::Fault;
use crate::report::Report;
use crate::smccc::{self, Conduit, FIRST_PRESERVED, NOT_SUPPORTED, REGISTERS};

/// cordon's hypercalls: SMCCC vendor-specific hypervisor service (owning
/// entity 6), fast, SMC64.
const FIRST: u32 = 0xc600_0000;
const LAST: u32 = 0xc600_ffff;
/// The one it documents: its hypercall ABI version (not negative).
const ABI_VERSION: u32 = FIRST;
/// x1-x7: the arguments an SMCCC v1.1 call may take.
const LAST_ARGUMENT: usize = 7;
/// Seed of the garbage (any non-zero value): the same every run.
const GARBAGE_SEED: u64 = 0x9e37_79b9_7f4a_7c15;

/// Deterministic garbage: xorshift64.
struct Garbage(u64);

impl Garbage {
    fn next(&mut self) -> u64 {
        const SHIFTS: (u32, u32, u32) = (13, 7, 17);
        let mut x = self.0;
        x ^= x << SHIFTS.0;
        x ^= x >> SHIFTS.1;
        x ^= x << SHIFTS.2;
        self.0 = x;
        x
    }
}

/// The first call that went wrong, and how.
#[derive(Clone, Copy)]
enum Wrong {
    Returned(i64),
    Clobbered(usize, u64),
    Faulted(Fault),
}

impl fmt::Display for Wrong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Returned(x0) => write!(f, "returned {x0}"),
            Self::Clobbered(n, value) => write!(f, "x{n} came back as {value:#x}"),
            Self::Faulted(fault) => write!(f, "took {fault}"),
        }
    }
}

pub fn run(report: &mut Report) {
    report.probe("hvc-cordon-range-garbage", |judge| {
        let mut garbage = Garbage(GARBAGE_SEED);
        let (mut wrong, mut first_wrong) = (0u32, None);
        let mut version = None;
        let start = counter::now();
        for function in FIRST..=LAST {
            let mut sent = smccc::registers(function, [0; 3]);
            sent[1..=LAST_ARGUMENT].fill_with(|| garbage.next());
            let outcome = smccc::call_registers(Conduit::Hvc, sent)
                .map(|back| smccc::Returned::of(&sent, &back));
            let problem = match outcome {
                Err(fault) => Some(Wrong::Faulted(fault)),
                Ok(returned) => match returned.clobbered {
                    Some((n, value)) => Some(Wrong::Clobbered(n, value)),
                    None if function == ABI_VERSION && returned.x0 >= 0 => {
                        version = Some(returned.x0);
                        None
                    }
                    None if function != ABI_VERSION && returned.x0 == NOT_SUPPORTED => None,
                    None => Some(Wrong::Returned(returned.x0)),
                },
            };
            if let Some(problem) = problem {
                wrong += 1;
                first_wrong.get_or_insert((function, problem));
            }
        }
        let calls = LAST - FIRST + 1;
        let millis = counter::millis_since(start);
        match first_wrong {
            None => judge.contained(format_args!(
                "hvc {FIRST:#x}..={LAST:#x} ({calls} calls, garbage in x1-x{LAST_ARGUMENT}) in \
                 {millis} ms: ABI version {:#x}, every other call {NOT_SUPPORTED}; \
                 x{FIRST_PRESERVED}-x{} preserved on every call",
                version.unwrap_or_default(),
                REGISTERS - 1
            )),
            Some((function, problem)) => judge.escaped(format_args!(
                "{wrong} of {calls} calls went wrong; the first, hvc {function:#x}, {problem}"
            )),
        }
    });
}
