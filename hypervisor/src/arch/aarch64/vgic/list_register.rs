//! GICv2 list register (GICH_LRn) values.

/// Bit 31: the virtual interrupt is backed by a physical one; the guest's
/// deactivation deactivates it.
const HW: u32 = 1 << 31;
const STATE_SHIFT: u32 = 28;
const STATE_MASK: u32 = 0b11;
const PRIORITY_SHIFT: u32 = 23;
/// List registers keep the top five bits of an 8-bit priority.
const PRIORITY_DROP_BITS: u32 = 3;
const PHYSICAL_ID_SHIFT: u32 = 10;
/// For SGIs without HW: the requesting CPU, reported in the guest's IAR.
const SOURCE_CPU_SHIFT: u32 = 10;
const VIRTUAL_ID_MASK: u32 = 0x3ff;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum State {
    Invalid,
    Pending,
    Active,
    PendingActive,
}

fn priority_bits(priority: u8) -> u32 {
    ((priority as u32) >> PRIORITY_DROP_BITS) << PRIORITY_SHIFT
}

fn pending() -> u32 {
    0b01 << STATE_SHIFT
}

/// A pending virtual interrupt backed by physical interrupt `physical`.
pub fn hardware(virtual_id: u32, physical: u32, priority: u8) -> u32 {
    HW | pending() | priority_bits(priority) | (physical << PHYSICAL_ID_SHIFT) | virtual_id
}

/// Bit 19 (without HW): a maintenance interrupt when the guest EOIs it.
const EOI_MAINTENANCE: u32 = 1 << 19;

/// A pending interrupt of an emulated, level-triggered device: cordon
/// hears of the guest's EOI to check whether the line is still raised.
pub fn emulated_level(virtual_id: u32, priority: u8) -> u32 {
    pending() | priority_bits(priority) | EOI_MAINTENANCE | virtual_id
}

/// A pending interrupt of an edge-triggered source cordon has already
/// ended physically (a doorbell, or the virtual timer it masked).
pub fn emulated_edge(virtual_id: u32, priority: u8) -> u32 {
    pending() | priority_bits(priority) | virtual_id
}

/// A pending virtual SGI sent by vCPU `source`.
pub fn sgi(id: u32, source: usize, priority: u8) -> u32 {
    pending() | priority_bits(priority) | ((source as u32) << SOURCE_CPU_SHIFT) | id
}

pub fn state(value: u32) -> State {
    match (value >> STATE_SHIFT) & STATE_MASK {
        0b00 => State::Invalid,
        0b01 => State::Pending,
        0b10 => State::Active,
        _ => State::PendingActive,
    }
}

/// The physical interrupt behind a hardware list register value.
pub fn physical_id(value: u32) -> Option<u32> {
    (value & HW != 0).then_some((value >> PHYSICAL_ID_SHIFT) & VIRTUAL_ID_MASK)
}

pub fn virtual_id(value: u32) -> u32 {
    value & VIRTUAL_ID_MASK
}

/// Whether two list register values stand for the same interrupt (for an
/// SGI: also from the same source).
pub fn same_interrupt(a: u32, b: u32) -> bool {
    let key = |v: u32| {
        if v & HW != 0 {
            virtual_id(v)
        } else {
            v & ((0b111 << SOURCE_CPU_SHIFT) | VIRTUAL_ID_MASK)
        }
    };
    key(a) == key(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hardware_interrupt_encoding() {
        let lr = hardware(27, 27, 0xa0);
        assert_eq!(lr, 0x9000_0000 | (0x14 << 23) | (27 << 10) | 27);
        assert_eq!(state(lr), State::Pending);
        assert_eq!(virtual_id(lr), 27);
        assert_eq!(physical_id(lr), Some(27));
        assert_eq!(physical_id(sgi(1, 0, 0)), None);
    }

    #[test]
    fn emulated_interrupts_ask_for_eoi_maintenance() {
        let lr = emulated_level(33, 0xa0);
        assert_eq!(lr, 0x1000_0000 | (0x14 << 23) | (1 << 19) | 33);
        assert!(same_interrupt(lr, emulated_level(33, 0)));
    }

    #[test]
    fn sgi_carries_its_source() {
        let lr = sgi(3, 1, 0);
        assert_eq!(lr, 0x1000_0000 | (1 << 10) | 3);
        assert!(same_interrupt(lr, sgi(3, 1, 0x80)));
        assert!(!same_interrupt(lr, sgi(3, 0, 0)));
        assert!(same_interrupt(hardware(48, 48, 0), hardware(48, 48, 0xf0)));
        assert_eq!(state(0x2000_0000), State::Active);
        assert_eq!(state(0x3000_0000), State::PendingActive);
        assert_eq!(state(0), State::Invalid);
    }
}
