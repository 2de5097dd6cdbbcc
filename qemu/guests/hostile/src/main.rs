#![no_std]
#![no_main]
#[unsafe(no_mangle)]
pub static X: u32 = cordon_guest_loader::arm64_image::MAGIC;
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}
