//! The GIC distributor cordon emulates: the VM must not enable, pend or
//! route an interrupt it does not own (the RTC's) — neither in what the
//! registers read back nor in what arrives ([`delivery`]) — must see only
//! its own vCPUs, and an access cordon cannot decode (`ldp`, no syndrome)
//! must fault without taking the VM down.

use super::{delivery, judge_fault};
use crate::attempt;
use crate::gic::{
    GICD_ICENABLER, GICD_ICPENDR, GICD_ISENABLER, GICD_ISPENDR, GICD_TYPER, NO_TARGETS,
    TARGET_CPU_0, TYPER_CPU_NUMBER_MASK, TYPER_CPU_NUMBER_SHIFT, bit_of, targets_of,
};
use crate::platform::Platform;
use crate::qemu_virt;
use crate::report::Report;

pub fn run(platform: &Platform, report: &mut Report) {
    let gicd = platform.gicd.start;
    let intid = qemu_virt::RTC_INTID;
    // Routing first: a GIC that keeps an SPI's pending state per target
    // CPU (QEMU's GICv2 model does) shows a pending SPI only once routed.
    route_foreign(report, gicd, intid);
    set_foreign_bit(
        report,
        "gicd-enable-foreign-spi",
        gicd,
        [GICD_ISENABLER, GICD_ICENABLER],
        intid,
    );
    set_foreign_bit(
        report,
        "gicd-pend-foreign-spi",
        gicd,
        [GICD_ISPENDR, GICD_ICPENDR],
        intid,
    );
    // Undoing is best effort: its outcome changes no verdict.
    let _ = attempt::write8(targets_of(gicd, intid), NO_TARGETS);
    cpu_count(report, gicd, platform.cpu_count());
    delivery::run(platform, report, intid);
    load_pair(report, gicd);
}

/// Sets `intid`'s bit in the set-register block `set`, reads it back (it
/// must read 0), then clears it through the `clear` block in case it stuck.
fn set_foreign_bit(
    report: &mut Report,
    name: &'static str,
    gicd: u64,
    [set, clear]: [u64; 2],
    intid: u32,
) {
    let (addr, bit) = bit_of(gicd, set, intid);
    report.probe(name, |judge| {
        if let Err(fault) = attempt::write32(addr, bit) {
            return judge.contained(format_args!(
                "setting INTID {intid} at {addr:#x} faulted: {fault}"
            ));
        }
        let read_back = attempt::read32(addr);
        // Undoing is best effort: its outcome changes no verdict.
        let _ = attempt::write32(bit_of(gicd, clear, intid).0, bit);
        match read_back {
            Ok(word) => judge.verdict(
                word & bit == 0,
                format_args!("set INTID {intid} at {addr:#x}, read back {word:#010x}"),
            ),
            Err(fault) => judge.contained(format_args!(
                "set INTID {intid} at {addr:#x}; reading it back faulted: {fault}"
            )),
        }
    });
}

/// Routes `intid` to CPU interface 0 (a byte store) and reads it back: it
/// must read 0.
fn route_foreign(report: &mut Report, gicd: u64, intid: u32) {
    let addr = targets_of(gicd, intid);
    report.probe("gicd-route-foreign-spi", |judge| {
        if let Err(fault) = attempt::write8(addr, TARGET_CPU_0) {
            return judge.contained(format_args!(
                "routing INTID {intid} at {addr:#x} faulted: {fault}"
            ));
        }
        match attempt::read8(addr) {
            Ok(targets) => judge.verdict(
                targets == 0,
                format_args!(
                    "routed INTID {intid} to CPU 0 at {addr:#x}, read back {targets:#04x}"
                ),
            ),
            Err(fault) => judge.contained(format_args!(
                "routed INTID {intid} at {addr:#x}; reading it back faulted: {fault}"
            )),
        }
    });
}

/// GICD_TYPER must count the VM's vCPUs, not the machine's CPUs.
fn cpu_count(report: &mut Report, gicd: u64, vcpus: usize) {
    let addr = gicd + GICD_TYPER;
    report.probe("gicd-typer-cpu-count", |judge| {
        match attempt::read32(addr) {
            Ok(typer) => {
                let cpus = ((typer >> TYPER_CPU_NUMBER_SHIFT) & TYPER_CPU_NUMBER_MASK) as usize + 1;
                judge.verdict(
                    cpus == vcpus,
                    format_args!(
                        "GICD_TYPER {typer:#x} shows {cpus} CPUs; the VM has {vcpus} vCPUs"
                    ),
                )
            }
            Err(fault) => judge.escaped(format_args!(
                "reading GICD_TYPER at {addr:#x} faulted ({fault}): could not count its CPUs"
            )),
        }
    });
}

/// `ldp` from the distributor: no syndrome for cordon to emulate it by,
/// so it must fault, and the guest must live on.
fn load_pair(report: &mut Report, gicd: u64) {
    report.probe("gicd-ldp-no-syndrome", |judge| {
        match attempt::load_pair32(gicd) {
            Err(fault) => judge_fault(judge, format_args!("ldp from {gicd:#x}"), gicd, fault),
            Ok((ctlr, typer)) => judge.escaped(format_args!(
                "ldp from {gicd:#x} returned {ctlr:#x}, {typer:#x}: the distributor is mapped"
            )),
        }
    });
}
