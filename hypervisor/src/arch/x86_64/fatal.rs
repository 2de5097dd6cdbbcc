//! When cordon cannot go on: the panic report, then this CPU stops.

use super::{console, cpu};

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    console::write_fatal(format_args!("\npanic on cpu{}", cpu::index()));
    if let Some(location) = info.location() {
        console::write_fatal(format_args!(" at {}:{}", location.file(), location.line()));
    }
    console::write_fatal(format_args!(": {}\ncordon: stopped\n", info.message()));
    cpu::park()
}
