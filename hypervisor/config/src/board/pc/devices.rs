//! The x86-pc board's devices: the legacy ISA devices of every PC, which a
//! VM reaches through I/O ports (its I/O bitmap passes exactly these
//! through), some with a line of the 8259 PIC. A config names them by a
//! path like a device tree's, the unit address being the first port.

use core::ops::RangeInclusive;

/// One device of the board.
#[derive(Debug, PartialEq, Eq)]
pub struct PcDevice {
    /// How a config names it.
    pub path: &'static str,
    /// What it is, for messages.
    pub what: &'static str,
    /// The I/O ports it answers on.
    pub ports: &'static [RangeInclusive<u16>],
    /// Its interrupt line on the PIC, if it has one.
    pub irq: Option<u8>,
}

/// The 8259 PIC pair: whoever owns it takes every device interrupt below.
pub const PIC: &str = "/isa/pic@20";

/// Every device a config may give a VM on x86-pc.
pub const PC_DEVICES: [PcDevice; 6] = [
    PcDevice {
        path: "/isa/serial@3f8",
        what: "COM1 (16550 UART)",
        ports: &[0x3f8..=0x3ff],
        irq: Some(4),
    },
    PcDevice {
        path: "/isa/serial@2f8",
        what: "COM2 (16550 UART)",
        ports: &[0x2f8..=0x2ff],
        irq: Some(3),
    },
    PcDevice {
        path: PIC,
        what: "the 8259 interrupt controllers",
        ports: &[0x20..=0x21, 0xa0..=0xa1],
        irq: None,
    },
    // Port 0x61 gates the PIT's channel 2, which Linux calibrates with.
    PcDevice {
        path: "/isa/pit@40",
        what: "the 8254 timer (with its channel-2 gate at port 0x61)",
        ports: &[0x40..=0x43, 0x61..=0x61],
        irq: Some(0),
    },
    PcDevice {
        path: "/isa/speaker@61",
        what: "the PC speaker (port 0x61)",
        ports: &[0x61..=0x61],
        irq: None,
    },
    PcDevice {
        path: "/isa/rtc@70",
        what: "the CMOS real-time clock",
        ports: &[0x70..=0x71],
        irq: Some(8),
    },
];

/// The device a config calls `path`.
pub fn pc_device(path: &str) -> Option<&'static PcDevice> {
    PC_DEVICES.iter().find(|device| device.path == path)
}

/// Every device path, for messages.
pub fn pc_device_paths() -> impl Iterator<Item = &'static str> {
    PC_DEVICES.iter().map(|device| device.path)
}

/// The first port `a` and `b` share.
pub fn shared_port(a: &PcDevice, b: &PcDevice) -> Option<u16> {
    a.ports.iter().find_map(|mine| {
        b.ports.iter().find_map(|theirs| {
            let first = *mine.start().max(theirs.start());
            (first <= *mine.end().min(theirs.end())).then_some(first)
        })
    })
}
