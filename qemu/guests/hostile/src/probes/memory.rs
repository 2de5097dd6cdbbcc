//! Words the VM was not given, read and then written: RAM just below and
//! just above its own, cordon's image, and device frames cordon keeps (the
//! GIC's virtualisation frames, the RTC).

use super::{MARKER, judge_fault};
use crate::attempt;
use crate::platform::Platform;
use crate::qemu_virt;
use crate::report::Report;

/// Size of the word probed.
const WORD: u64 = 4;

/// A word to try, and the names of the probes that read and write it.
struct Target {
    read: &'static str,
    write: &'static str,
    addr: Option<u64>,
}

pub fn run(platform: &Platform, report: &mut Report) {
    let ram = platform.ram;
    let targets = [
        Target {
            read: "read-below-ram",
            write: "write-below-ram",
            addr: ram.start.checked_sub(WORD),
        },
        Target {
            read: "read-above-ram",
            write: "write-above-ram",
            addr: Some(ram.end),
        },
        Target {
            read: "read-cordon-image",
            write: "write-cordon-image",
            addr: Some(qemu_virt::CORDON_IMAGE),
        },
        Target {
            read: "read-gich",
            write: "write-gich",
            addr: Some(qemu_virt::GICH + qemu_virt::GICH_VTR),
        },
        Target {
            read: "read-gicv",
            write: "write-gicv",
            addr: Some(qemu_virt::GICV + qemu_virt::GICV_IIDR),
        },
        Target {
            read: "read-rtc",
            write: "write-rtc",
            addr: Some(qemu_virt::RTC + qemu_virt::RTC_DR),
        },
    ];
    for target in targets {
        // RAM starting at 0 has nothing below it: nothing to try.
        let Some(addr) = target.addr else { continue };
        // A VM whose RAM is not at its physical address may have RAM where
        // the machine has something else: that address is its own.
        if ram.contains(addr) {
            let why = format_args!("{addr:#x} is in its own RAM");
            report.skip(target.read, why);
            report.skip(target.write, why);
            continue;
        }
        read_then_write(report, &target, addr);
    }
}

/// Reads the word at `addr`, then writes back what it read (or [`MARKER`]
/// if the read faulted): a write that got through should change nothing.
fn read_then_write(report: &mut Report, target: &Target, addr: u64) {
    let mut read = None;
    report.probe(target.read, |judge| match attempt::read32(addr) {
        Err(fault) => judge_fault(judge, format_args!("read {addr:#x}"), addr, fault),
        Ok(value) => {
            read = Some(value);
            judge.escaped(format_args!("read {addr:#x} returned {value:#x}"))
        }
    });
    let value = read.unwrap_or(MARKER);
    report.probe(target.write, |judge| match attempt::write32(addr, value) {
        Err(fault) => judge_fault(judge, format_args!("write {addr:#x}"), addr, fault),
        Ok(()) => judge.escaped(format_args!("wrote {value:#x} to {addr:#x}")),
    });
}
