//! Bare-metal x86 test guests for cordon's x86-pc board, each written in
//! assembly (`src/bin/*.S`): `x86-heartbeat` counts beats through cordon's
//! log hypercall for ever; `x86-probe` says on COM1 what it is about to do,
//! then reads guest-physical memory upwards until cordon stops it (and
//! says `ESCAPED` if it ever runs out of memory to read). What is here is
//! what every guest needs from Rust: a panic handler, never called.

#![no_std]

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {
        core::hint::spin_loop();
    }
}
