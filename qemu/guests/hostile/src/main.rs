//! A hostile guest for cordon's isolation tests.
//!
//! cordon boots it as a VM (an arm64 `Image` given as the kernel boot
//! module). It then tries to escape, one probe at a time — memory it was not
//! given, devices cordon keeps, interrupts it does not own, hypervisor and
//! firmware calls, trapped registers, a fetch from cordon's image — and
//! reports on its console, one line per probe:
//!
//! ```text
//! hostile: <probe>: contained (<what happened>)
//! hostile: <probe>: ESCAPED (<what happened>)
//! hostile: summary: <n> probes, <e> escaped
//! ```
//!
//! then powers the machine off (PSCI SYSTEM_OFF). An exception no probe
//! expected is reported as `hostile: FATAL: ...` before powering off.
//!
//! Its bootargs can choose another mode instead ([`mode`]): a heartbeat
//! (the neighbour that must keep running while a hostile VM attacks), a
//! loop of resets, a storm of refused accesses, either end of a message
//! over an inter-VM channel, or a copy by a passed-through DMA engine.

#![no_std]
#![no_main]

mod abort_storm;
mod attempt;
mod bus;
mod channel;
mod console;
mod counter;
mod dma_copy;
mod entry;
mod fault;
mod gic;
mod global;
mod heartbeat;
mod mmio;
mod mode;
mod no_alloc;
mod platform;
mod probes;
mod qemu_virt;
mod report;
mod reset_loop;
mod smccc;
mod span;
mod vectors;
mod vtimer;

use mode::Mode;
use platform::Platform;
use report::Report;

/// Tells builds of this guest apart (`CORDON_GUEST_LABEL` at build time):
/// a test that loads another build into a VM sees which one runs.
const BUILD_LABEL: &str = match option_env!("CORDON_GUEST_LABEL") {
    Some(label) => label,
    None => "default",
};

/// Entered from `entry.rs` with the device tree's address.
extern "C" fn main(dtb: u64) -> ! {
    let platform = match Platform::read(dtb) {
        Ok(platform) => platform,
        Err(err) => {
            say!("hostile: FATAL: device tree at {dtb:#x}: {err}");
            smccc::power_off()
        }
    };
    console::attach(platform.uart_kind, platform.uart.start);
    say!(
        "hostile: started: RAM {}, {} vCPUs, GICD {:#x}, GICC {:#x}, UART {:#x}, \
         {} virtio-mmio devices, bootargs \"{}\"",
        platform.ram,
        platform.cpu_count(),
        platform.gicd.start,
        platform.gicc.start,
        platform.uart.start,
        platform.virtio.len(),
        platform.bootargs,
    );
    say!("hostile: build {BUILD_LABEL}");
    match Mode::of(platform.bootargs) {
        Mode::Probe => {
            let mut report = Report::default();
            probes::run_all(&platform, &mut report);
            report.print_summary();
            smccc::power_off()
        }
        Mode::Heartbeat => heartbeat::run(&platform),
        Mode::ResetLoop => reset_loop::run(&platform),
        Mode::AbortStorm => abort_storm::run(&platform),
        Mode::ChannelSend => channel::send(&platform),
        Mode::ChannelReceive => channel::receive(&platform),
        Mode::DmaCopy => dma_copy::run(&platform),
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    say!(
        "hostile: FATAL: panic during {}: {info}",
        report::running().unwrap_or("no probe")
    );
    smccc::power_off()
}
