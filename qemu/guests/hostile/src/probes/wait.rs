//! A storm of waits: 100000 WFEs (woken by the virtual counter's event
//! stream, so none can sleep for long), then 10000 WFIs, each woken by the
//! virtual timer's interrupt (armed a few microseconds ahead, IRQs
//! masked). cordon must neither hang nor stop the VM: contained if the
//! storm completes.

use core::arch::asm;

use crate::counter;
use crate::platform::Platform;
use crate::report::Report;
use crate::vtimer::VirtualTimer;

const WFE_COUNT: u32 = 100_000;
const WFI_COUNT: u32 = 10_000;
/// How far ahead of each WFI the timer is armed.
const WFI_TIMER_MICROS: u64 = 5;
/// CNTKCTL_EL1: the event stream on (EVNTEN), an event each time bit
/// EVNTI of the virtual count changes (0 to 1, EVNTDIR clear).
const EVNTEN: u64 = 1 << 2;
const EVNTI_SHIFT: u32 = 4;
const EVNTI_MASK: u64 = 0xf << EVNTI_SHIFT;
/// Count bit 4: an event every 32 ticks (0.5 us at 62.5 MHz).
const EVENT_BIT: u64 = 4;

fn event_control() -> u64 {
    let value: u64;
    // SAFETY: reading the timer control has no side effect.
    unsafe {
        asm!("mrs {}, cntkctl_el1", out(reg) value, options(nomem, nostack, preserves_flags))
    };
    value
}

fn set_event_control(value: u64) {
    // SAFETY: the event stream only wakes WFE; EL0 access bits are kept
    // as they were (the guest has no EL0).
    unsafe {
        asm!("msr cntkctl_el1, {}", "isb", in(reg) value, options(nomem, nostack, preserves_flags))
    };
}

pub fn run(platform: &Platform, report: &mut Report) {
    report.probe("wfi-wfe-storm", |judge| {
        let saved = event_control();
        set_event_control((saved & !EVNTI_MASK) | EVNTEN | (EVENT_BIT << EVNTI_SHIFT));
        let start = counter::now();
        for _ in 0..WFE_COUNT {
            // SAFETY: waits for an event; the event stream sends one soon.
            unsafe { asm!("wfe", options(nomem, nostack, preserves_flags)) };
        }
        let wfe_millis = counter::millis_since(start);
        set_event_control(saved);

        let timer = VirtualTimer::take(platform);
        let delay = counter::ticks(WFI_TIMER_MICROS);
        let start = counter::now();
        let mut wfis = 0;
        for _ in 0..WFI_COUNT {
            wfis += timer.sleep_until(counter::now() + delay);
        }
        let wfi_millis = counter::millis_since(start);
        timer.release();
        judge.contained(format_args!(
            "{WFE_COUNT} WFEs in {wfe_millis} ms; {WFI_COUNT} virtual timer interrupts, each \
             {WFI_TIMER_MICROS} us ahead, woke {wfis} WFIs in {wfi_millis} ms; the VM runs on"
        ))
    });
}
