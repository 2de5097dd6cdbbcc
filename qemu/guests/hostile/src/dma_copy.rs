//! DMA mode (`hostile.dma-copy`): copies a buffer with the BCM2835 DMA
//! engine passed through to the VM, programming it with the bus addresses
//! its device tree's `dma-ranges` give for the buffers' guest-physical
//! addresses, and checks that the data arrived:
//!
//! ```text
//! dma: copied <n> bytes from <ipa> (bus <addr>) to <ipa> (bus <addr>)
//! dma: FAILED <why>
//! ```
//!
//! then powers off. In a VM that is not mapped 1:1, the copy arrives only
//! if cordon rewrote `dma-ranges` for the VM's stage-2 map.

use core::arch::asm;

use crate::bus::Windows;
use crate::mmio;
use crate::platform::{DmaEngine, Platform};
use crate::say;
use crate::smccc;
use crate::span::Span;

/// Where the buffers go: below the top 2 MiB of RAM (where cordon puts the
/// device tree), control block first.
const WORK_AREA_FROM_TOP: u64 = 4 << 20;
const CONTROL_BLOCK_OFFSET: u64 = 0;
const SOURCE_OFFSET: u64 = 0x1000;
const DESTINATION_OFFSET: u64 = 0x2000;
/// Bytes copied.
const LENGTH: u64 = 0x100;
/// The channel used: in the board's `brcm,dma-channel-mask`, so left to
/// the OS by the firmware.
const CHANNEL: u64 = 0;
const CHANNEL_STRIDE: u64 = 0x100;
/// Channel registers: control and status, control block address.
const CS: u64 = 0x00;
const CONBLK_AD: u64 = 0x04;
/// CS bits: active, transfer ended (write 1 to clear), error.
const CS_ACTIVE: u32 = 1 << 0;
const CS_END: u32 = 1 << 1;
const CS_ERROR: u32 = 1 << 8;
/// Transfer information: wait for write responses, increment the
/// destination and the source address.
const TI_WAIT_RESP: u32 = 1 << 3;
const TI_DEST_INC: u32 = 1 << 4;
const TI_SRC_INC: u32 = 1 << 8;
/// Words of a control block: TI, SOURCE_AD, DEST_AD, TXFR_LEN, STRIDE,
/// NEXTCONBK and two reserved.
const CONTROL_BLOCK_WORDS: usize = 8;
/// How many times CS is read while the channel is active before giving up.
const MAX_POLLS: u32 = 1_000_000;

pub fn run(platform: &Platform) -> ! {
    match copy(platform) {
        Ok(line) => say!("{line}"),
        Err(why) => say!("dma: FAILED {why}"),
    }
    smccc::power_off()
}

/// What a successful copy prints.
struct Copied {
    source: Span,
    source_bus: u32,
    destination: Span,
    destination_bus: u32,
}

impl core::fmt::Display for Copied {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "dma: copied {LENGTH} bytes from {} (bus {:#x}) to {} (bus {:#x})",
            self.source, self.source_bus, self.destination, self.destination_bus
        )
    }
}

fn copy(platform: &Platform) -> Result<Copied, &'static str> {
    let engine: DmaEngine = platform
        .dma
        .ok_or("no BCM2835 DMA engine in the device tree")?;
    let windows = engine
        .windows
        .ok_or("the DMA engine's bus has no dma-ranges")?;
    let area = platform
        .ram
        .end
        .checked_sub(WORK_AREA_FROM_TOP)
        .filter(|&area| area >= platform.ram.start)
        .ok_or("RAM too small for the buffers")?;
    let span = |offset: u64, len: u64| Span::from_base_size(area + offset, len).ok_or("overflow");
    let control_block = span(CONTROL_BLOCK_OFFSET, (CONTROL_BLOCK_WORDS * 4) as u64)?;
    let source = span(SOURCE_OFFSET, LENGTH)?;
    let destination = span(DESTINATION_OFFSET, LENGTH)?;
    let bus = |span: Span| bus_address(&windows, span);
    let (block_bus, source_bus, destination_bus) =
        (bus(control_block)?, bus(source)?, bus(destination)?);

    for i in 0..LENGTH {
        write_ram8(source.start + i, pattern(i));
        write_ram8(destination.start + i, 0);
    }
    let block = [
        TI_WAIT_RESP | TI_DEST_INC | TI_SRC_INC,
        source_bus,
        destination_bus,
        LENGTH as u32,
        0,
        0,
        0,
        0,
    ];
    for (word, value) in (0..).zip(block) {
        write_ram32(control_block.start + word * 4, value);
    }
    barrier();

    let channel = engine.registers.start + CHANNEL * CHANNEL_STRIDE;
    if !engine.registers.contains(channel + CONBLK_AD) {
        return Err("the DMA engine's registers do not hold the channel");
    }
    // SAFETY: the channel's registers, in the DMA engine passed through to
    // this VM; the control block and buffers are this VM's RAM.
    let status = unsafe {
        mmio::write32(channel + CS, CS_END);
        mmio::write32(channel + CONBLK_AD, block_bus);
        mmio::write32(channel + CS, CS_ACTIVE);
        let mut status = mmio::read32(channel + CS);
        let mut polls = 0;
        while status & CS_ACTIVE != 0 && polls < MAX_POLLS {
            status = mmio::read32(channel + CS);
            polls += 1;
        }
        status
    };
    barrier();
    if status & CS_ACTIVE != 0 {
        return Err("the channel is still active");
    }
    if status & CS_ERROR != 0 {
        return Err("the channel reports an error");
    }
    if (0..LENGTH).any(|i| read_ram8(destination.start + i) != pattern(i)) {
        return Err("the data did not arrive in the destination buffer");
    }
    Ok(Copied {
        source,
        source_bus,
        destination,
        destination_bus,
    })
}

/// The 32-bit bus address of `span`, which one window must hold.
fn bus_address(windows: &Windows, span: Span) -> Result<u32, &'static str> {
    windows
        .bus_address_of(span)
        .ok_or("a buffer is outside every dma-ranges window")?
        .try_into()
        .map_err(|_| "a buffer's bus address does not fit 32 bits")
}

/// The byte at `offset` of the source buffer.
fn pattern(offset: u64) -> u8 {
    (offset as u8).wrapping_mul(7).wrapping_add(3)
}

fn write_ram8(addr: u64, value: u8) {
    // SAFETY: `addr` is in the work area, this VM's RAM, which nothing else
    // of the guest uses.
    unsafe { (addr as *mut u8).write_volatile(value) }
}

fn write_ram32(addr: u64, value: u32) {
    // SAFETY: as for `write_ram8`; control block words are 4-byte aligned.
    unsafe { (addr as *mut u32).write_volatile(value) }
}

fn read_ram8(addr: u64) -> u8 {
    // SAFETY: as for `write_ram8`.
    unsafe { (addr as *const u8).read_volatile() }
}

/// Orders the guest's memory accesses against the DMA engine's.
fn barrier() {
    // SAFETY: a barrier has no effect but on ordering.
    unsafe { asm!("dsb sy", options(nostack, preserves_flags)) };
}
