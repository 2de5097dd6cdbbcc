//! Reads and writes across the whole physical map: every 256 MiB from 0 to
//! 4 GiB, then a few high addresses. Its own RAM and the devices its device
//! tree lists are skipped (the GIC distributor too: cordon emulates it, see
//! `distributor.rs`); every other access must fault.

use core::fmt;

use super::MARKER;
use crate::attempt;
use crate::fault::Fault;
use crate::platform::Platform;
use crate::qemu_virt;
use crate::report::Report;

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;
const STRIDE: u64 = 256 * MIB;
const LOW_END: u64 = 4 * GIB;
/// Accesses that got through listed in a verdict line; more are counted.
const SHOWN: usize = 4;

/// What one access did.
#[derive(Clone, Copy)]
enum Outcome {
    /// Refused with a data abort at the address.
    Refused,
    /// Went through (a read's value).
    Through(Option<u32>),
    /// Faulted otherwise: the access did not reach cordon's check.
    Odd(Fault),
}

impl Outcome {
    fn of<T>(addr: u64, result: Result<T, Fault>, value: impl FnOnce(T) -> Option<u32>) -> Self {
        match result {
            Err(fault) if fault.is_data_abort_at(addr) => Self::Refused,
            Err(fault) => Self::Odd(fault),
            Ok(read) => Self::Through(value(read)),
        }
    }
}

/// The outcomes of all reads, or of all writes.
struct Tally {
    tried: u32,
    failed: u32,
    shown: [Option<(u64, Outcome)>; SHOWN],
}

impl Tally {
    const fn new() -> Self {
        Self {
            tried: 0,
            failed: 0,
            shown: [None; SHOWN],
        }
    }

    fn add(&mut self, addr: u64, outcome: Outcome) {
        self.tried += 1;
        if matches!(outcome, Outcome::Refused) {
            return;
        }
        if let Some(slot) = self.shown.get_mut(self.failed as usize) {
            *slot = Some((addr, outcome));
        }
        self.failed += 1;
    }
}

/// The failed accesses of a tally, for its verdict line.
struct Failures<'a>(&'a Tally);

impl fmt::Display for Failures<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tally = self.0;
        write!(f, "{} of {} not refused:", tally.failed, tally.tried)?;
        for &(addr, outcome) in tally.shown.iter().flatten() {
            match outcome {
                Outcome::Through(Some(value)) => write!(f, " {addr:#x} read {value:#x};")?,
                Outcome::Through(None) => write!(f, " {addr:#x} written;")?,
                Outcome::Odd(fault) => write!(f, " {addr:#x} {fault};")?,
                Outcome::Refused => {}
            }
        }
        if tally.failed as usize > SHOWN {
            write!(f, " ...")?;
        }
        Ok(())
    }
}

fn addresses() -> impl Iterator<Item = u64> {
    (0..LOW_END)
        .step_by(STRIDE as usize)
        .chain(qemu_virt::HIGH_ADDRESSES)
}

pub fn run(platform: &Platform, report: &mut Report) {
    let (mut reads, mut writes) = (Tally::new(), Tally::new());
    let mut skipped = 0;
    for addr in addresses() {
        if platform.ram.contains(addr) || platform.device_at(addr).is_some() {
            skipped += 1;
            continue;
        }
        let read = attempt::read32(addr);
        // Write back what was read, so a write that got through changes
        // nothing.
        let value = read.unwrap_or(MARKER);
        reads.add(addr, Outcome::of(addr, read, Some));
        let write = attempt::write32(addr, value);
        writes.add(addr, Outcome::of(addr, write, |()| None));
    }
    for (name, tally) in [("sweep-read", &reads), ("sweep-write", &writes)] {
        report.probe(name, |judge| {
            if tally.failed == 0 {
                judge.contained(format_args!(
                    "all {} accesses faulted: every {} MiB below {} GiB and {} high \
                     addresses, {skipped} skipped (its own RAM and devices)",
                    tally.tried,
                    STRIDE / MIB,
                    LOW_END / GIB,
                    qemu_virt::HIGH_ADDRESSES.len(),
                ))
            } else {
                judge.escaped(format_args!("{}", Failures(tally)))
            }
        });
    }
}
