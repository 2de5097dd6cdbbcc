//! The emulated GICv2 distributor of one VM.
//!
//! A register model only: guest reads are answered from it, guest writes
//! update it and report [`Effect`]s that the caller applies to the physical
//! GIC (only ever for interrupts the VM owns). Interrupts the VM does not
//! own read as zero and ignore writes.

/// Register offsets in the distributor frame.
mod offset {
    pub const CTLR: u64 = 0x000;
    pub const TYPER: u64 = 0x004;
    pub const IIDR: u64 = 0x008;
    pub const ISENABLER: u64 = 0x100;
    pub const ICENABLER: u64 = 0x180;
    pub const ISPENDR: u64 = 0x200;
    pub const ICPENDR: u64 = 0x280;
    pub const IPRIORITYR: u64 = 0x400;
    pub const ITARGETSR: u64 = 0x800;
    pub const ICFGR: u64 = 0xc00;
    pub const ICFGR_END: u64 = 0xd00;
    pub const SGIR: u64 = 0xf00;
    /// One bit per interrupt registers are this long (1024 interrupts).
    pub const BIT_BLOCK: u64 = 0x80;
    /// One byte per interrupt registers are this long.
    pub const BYTE_BLOCK: u64 = 0x400;
}

use super::super::gic::{MAX_IRQS, PRIVATE_COUNT, SGI_COUNT};

/// Most vCPUs of one VM.
pub const MAX_VCPUS: usize = 8;
const WORDS: usize = (MAX_IRQS as usize).div_ceil(32);
/// GICD_TYPER.CPUNumber.
const TYPER_CPUS_SHIFT: u32 = 5;
/// GICD_SGIR fields.
const SGIR_FILTER_SHIFT: u32 = 24;
const SGIR_TARGETS_SHIFT: u32 = 16;
const SGIR_ID_MASK: u32 = 0xf;
/// ICFGR: the upper bit of each interrupt's pair means edge-triggered.
const ICFGR_EDGE: u32 = 0b10;
/// SGIs are always edge-triggered: ICFGR0 reads as all edge.
const ICFGR_SGIS: u32 = 0xaaaa_aaaa;

/// What a guest write asks of the physical GIC or of other vCPUs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Effect {
    Enable(u32),
    Disable(u32),
    SetPending(u32),
    ClearPending(u32),
    /// Route an SPI to these vCPUs (bit n = vCPU n).
    Route {
        irq: u32,
        vcpus: u8,
    },
    SetEdgeTriggered {
        irq: u32,
        edge: bool,
    },
    /// Raise SGI `id` in these vCPUs (bit n = vCPU n).
    SendSgi {
        id: u32,
        vcpus: u8,
    },
}

/// Banked state of SGIs and PPIs, per vCPU.
#[derive(Clone, Copy)]
struct Private {
    enabled: u32,
    priority: [u8; PRIVATE_COUNT as usize],
    /// ICFGR1 (PPIs).
    ppi_config: u32,
}

pub struct VirtualDistributor {
    vcpus: usize,
    irq_count: u32,
    iidr: u32,
    enabled: bool,
    owned: [u32; WORDS],
    /// Owned interrupts raised by devices cordon emulates: no physical
    /// interrupt stands behind them.
    emulated: [u32; WORDS],
    spi_enabled: [u32; WORDS],
    priority: [u8; MAX_IRQS as usize],
    targets: [u8; MAX_IRQS as usize],
    config: [u32; WORDS * 2],
    private: [Private; MAX_VCPUS],
}

fn bit(irq: u32) -> (usize, u32) {
    ((irq / 32) as usize, 1 << (irq % 32))
}

impl VirtualDistributor {
    /// A distributor for `vcpus` vCPUs showing `irq_count` interrupt IDs
    /// (as the physical one) with identification `iidr`.
    pub fn new(vcpus: usize, irq_count: u32, iidr: u32) -> Self {
        let mut owned = [0; WORDS];
        // SGIs are the VM's own, always.
        owned[0] = (1 << SGI_COUNT) - 1;
        Self {
            vcpus: vcpus.clamp(1, MAX_VCPUS),
            irq_count: irq_count.min(MAX_IRQS),
            iidr,
            enabled: false,
            owned,
            emulated: [0; WORDS],
            spi_enabled: [0; WORDS],
            priority: [0; MAX_IRQS as usize],
            targets: [0; MAX_IRQS as usize],
            config: [0; WORDS * 2],
            private: [Private {
                enabled: 0,
                priority: [0; PRIVATE_COUNT as usize],
                ppi_config: 0,
            }; MAX_VCPUS],
        }
    }

    /// Gives the VM interrupt `irq` (a PPI such as its timer, or an SPI of
    /// a device it owns).
    pub fn give(&mut self, irq: u32) {
        if irq < self.irq_count {
            let (word, mask) = bit(irq);
            self.owned[word] |= mask;
            if irq >= PRIVATE_COUNT {
                // Until the guest says otherwise, SPIs go to vCPU 0.
                self.targets[irq as usize] = 1;
            }
        }
    }

    /// Back to the state at boot (the VM restarts): everything disabled,
    /// priorities zero, SPIs on vCPU 0; what the VM owns stays.
    pub fn reset(&mut self) {
        self.enabled = false;
        self.spi_enabled = [0; WORDS];
        self.priority = [0; MAX_IRQS as usize];
        self.config = [0; WORDS * 2];
        for irq in PRIVATE_COUNT..self.irq_count {
            self.targets[irq as usize] = if self.owns(irq) { 1 } else { 0 };
        }
        for private in &mut self.private {
            *private = Private {
                enabled: 0,
                priority: [0; PRIVATE_COUNT as usize],
                ppi_config: 0,
            };
        }
    }

    /// The SPIs the VM owns that a physical device raises.
    pub fn owned_physical_spis(&self) -> impl Iterator<Item = u32> + '_ {
        (PRIVATE_COUNT..self.irq_count).filter(|&irq| self.owns(irq) && !self.is_emulated(irq))
    }

    /// Gives the VM SPI `irq` of a device cordon emulates.
    pub fn give_emulated(&mut self, irq: u32) {
        self.give(irq);
        if self.owns(irq) {
            let (word, mask) = bit(irq);
            self.emulated[word] |= mask;
        }
    }

    /// Whether `irq` comes from an emulated device.
    pub fn is_emulated(&self, irq: u32) -> bool {
        let (word, mask) = bit(irq);
        irq < self.irq_count && self.emulated[word] & mask != 0
    }

    pub fn owns(&self, irq: u32) -> bool {
        let (word, mask) = bit(irq);
        irq < self.irq_count && self.owned[word] & mask != 0
    }

    /// Whether the guest has the distributor and `irq` enabled for `vcpu`.
    pub fn is_enabled(&self, vcpu: usize, irq: u32) -> bool {
        let (word, mask) = bit(irq);
        self.enabled
            && if irq < PRIVATE_COUNT {
                self.private[vcpu].enabled & mask != 0
            } else {
                self.spi_enabled[word] & mask != 0
            }
    }

    pub fn priority(&self, vcpu: usize, irq: u32) -> u8 {
        if irq < PRIVATE_COUNT {
            self.private[vcpu].priority[irq as usize]
        } else {
            self.priority[irq as usize]
        }
    }

    /// vCPUs (bit mask) an SPI goes to.
    pub fn targets(&self, irq: u32) -> u8 {
        self.targets[irq as usize]
    }

    fn all_vcpus(&self) -> u8 {
        ((1u32 << self.vcpus) - 1) as u8
    }

    /// A guest read of `size` bytes at `offset` by `vcpu`.
    pub fn read(&self, vcpu: usize, offset: u64, size: u8) -> u32 {
        use offset::*;
        match offset {
            CTLR => self.enabled as u32,
            TYPER => ((self.vcpus as u32 - 1) << TYPER_CPUS_SHIFT) | (self.irq_count / 32 - 1),
            IIDR => self.iidr,
            o if (ISENABLER..ISENABLER + BIT_BLOCK).contains(&o)
                || (ICENABLER..ICENABLER + BIT_BLOCK).contains(&o) =>
            {
                let first = ((o % BIT_BLOCK) * 8) as u32;
                self.enable_word(vcpu, first)
            }
            o if (IPRIORITYR..IPRIORITYR + BYTE_BLOCK).contains(&o) => {
                self.bytes(vcpu, (o - IPRIORITYR) as u32, size, |d, v, irq| {
                    d.priority(v, irq)
                })
            }
            o if (ITARGETSR..ITARGETSR + BYTE_BLOCK).contains(&o) => {
                self.bytes(vcpu, (o - ITARGETSR) as u32, size, |d, v, irq| {
                    if irq < PRIVATE_COUNT {
                        1 << v
                    } else {
                        d.targets[irq as usize]
                    }
                })
            }
            o if (ICFGR..ICFGR_END).contains(&o) => {
                let word = ((o - ICFGR) / 4) as usize;
                let first = word as u32 * 16;
                match word {
                    0 => ICFGR_SGIS,
                    1 => self.private[vcpu].ppi_config & self.owned_pairs(first),
                    _ => self.config[word] & self.owned_pairs(first),
                }
            }
            // Groups, pending and active state, SGI pending registers,
            // identification registers: read as zero.
            _ => 0,
        }
    }

    fn enable_word(&self, vcpu: usize, first: u32) -> u32 {
        if first >= self.irq_count {
            return 0;
        }
        let (word, _) = bit(first);
        if first < PRIVATE_COUNT {
            self.private[vcpu].enabled & self.owned[0]
        } else {
            self.spi_enabled[word] & self.owned[word]
        }
    }

    /// ICFGR bit pairs of the 16 interrupts from `first` that the VM owns.
    fn owned_pairs(&self, first: u32) -> u32 {
        (0..16)
            .filter(|n| self.owns(first + n))
            .fold(0, |acc, n| acc | (0b11 << (n * 2)))
    }

    fn bytes(
        &self,
        vcpu: usize,
        first: u32,
        size: u8,
        value: impl Fn(&Self, usize, u32) -> u8,
    ) -> u32 {
        (0..size as u32)
            .map(|n| first + n)
            .filter(|&irq| self.owns(irq))
            .fold(0, |acc, irq| {
                acc | ((value(self, vcpu, irq) as u32) << ((irq - first) * 8))
            })
    }

    /// A guest write of `size` bytes at `offset` by `vcpu`; `effect` is
    /// called for each change the physical GIC or other vCPUs must see.
    pub fn write(
        &mut self,
        vcpu: usize,
        offset: u64,
        size: u8,
        value: u32,
        effect: &mut impl FnMut(Effect),
    ) {
        let emulated = self.emulated;
        let physical = |irq: u32| {
            let (word, mask) = bit(irq);
            emulated[word] & mask == 0
        };
        // Emulated interrupts have nothing physical to enable or route.
        let mut effect = |e: Effect| match e {
            Effect::Enable(irq)
            | Effect::Disable(irq)
            | Effect::SetPending(irq)
            | Effect::ClearPending(irq)
            | Effect::Route { irq, .. }
            | Effect::SetEdgeTriggered { irq, .. }
                if !physical(irq) => {}
            e => effect(e),
        };
        let effect = &mut effect;
        use offset::*;
        match offset {
            CTLR => self.enabled = value & 1 != 0,
            o if (ISENABLER..ISENABLER + BIT_BLOCK).contains(&o) => {
                self.each_owned_bit(o - ISENABLER, value, |d, irq| {
                    d.set_enabled(vcpu, irq, true);
                    effect(Effect::Enable(irq));
                })
            }
            o if (ICENABLER..ICENABLER + BIT_BLOCK).contains(&o) => {
                self.each_owned_bit(o - ICENABLER, value, |d, irq| {
                    d.set_enabled(vcpu, irq, false);
                    effect(Effect::Disable(irq));
                })
            }
            o if (ISPENDR..ISPENDR + BIT_BLOCK).contains(&o) => {
                self.each_owned_bit(o - ISPENDR, value, |_, irq| {
                    if irq >= SGI_COUNT {
                        effect(Effect::SetPending(irq))
                    }
                })
            }
            o if (ICPENDR..ICPENDR + BIT_BLOCK).contains(&o) => {
                self.each_owned_bit(o - ICPENDR, value, |_, irq| {
                    if irq >= SGI_COUNT {
                        effect(Effect::ClearPending(irq))
                    }
                })
            }
            o if (IPRIORITYR..IPRIORITYR + BYTE_BLOCK).contains(&o) => {
                let first = (o - IPRIORITYR) as u32;
                for (n, irq) in (first..first + size as u32).enumerate() {
                    if self.owns(irq) {
                        let byte = (value >> (n * 8)) as u8;
                        if irq < PRIVATE_COUNT {
                            self.private[vcpu].priority[irq as usize] = byte;
                        } else {
                            self.priority[irq as usize] = byte;
                        }
                    }
                }
            }
            o if (ITARGETSR..ITARGETSR + BYTE_BLOCK).contains(&o) => {
                let first = (o - ITARGETSR) as u32;
                for (n, irq) in (first..first + size as u32).enumerate() {
                    let vcpus = (value >> (n * 8)) as u8 & self.all_vcpus();
                    if irq >= PRIVATE_COUNT && self.owns(irq) && vcpus != 0 {
                        self.targets[irq as usize] = vcpus;
                        effect(Effect::Route { irq, vcpus });
                    }
                }
            }
            o if (ICFGR..ICFGR_END).contains(&o) => {
                let word = ((o - ICFGR) / 4) as usize;
                let first = word as u32 * 16;
                if word == 0 {
                    return;
                }
                let owned = self.owned_pairs(first);
                let old = if word == 1 {
                    self.private[vcpu].ppi_config
                } else {
                    self.config[word]
                };
                let new = (old & !owned) | (value & owned);
                for n in 0..16 {
                    let changed = (old ^ new) & (ICFGR_EDGE << (n * 2)) != 0;
                    if changed {
                        let edge = new & (ICFGR_EDGE << (n * 2)) != 0;
                        effect(Effect::SetEdgeTriggered {
                            irq: first + n,
                            edge,
                        });
                    }
                }
                if word == 1 {
                    self.private[vcpu].ppi_config = new;
                } else {
                    self.config[word] = new;
                }
            }
            SGIR => {
                let id = value & SGIR_ID_MASK;
                let vcpus = match value >> SGIR_FILTER_SHIFT & 0b11 {
                    0 => (value >> SGIR_TARGETS_SHIFT) as u8,
                    1 => self.all_vcpus() & !(1 << vcpu),
                    2 => 1 << vcpu,
                    _ => 0,
                } & self.all_vcpus();
                if vcpus != 0 {
                    effect(Effect::SendSgi { id, vcpus });
                }
            }
            // Groups, active state, SGI pending registers and read-only
            // registers: writes are ignored.
            _ => {}
        }
    }

    fn set_enabled(&mut self, vcpu: usize, irq: u32, on: bool) {
        let (word, mask) = bit(irq);
        let bits = if irq < PRIVATE_COUNT {
            &mut self.private[vcpu].enabled
        } else {
            &mut self.spi_enabled[word]
        };
        if on {
            *bits |= mask;
        } else {
            *bits &= !mask;
        }
    }

    fn each_owned_bit(&mut self, block_offset: u64, value: u32, mut f: impl FnMut(&mut Self, u32)) {
        let first = (block_offset * 8) as u32;
        for n in 0..32 {
            let irq = first + n;
            if value & (1 << n) != 0 && self.owns(irq) {
                f(self, irq);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dist() -> VirtualDistributor {
        let mut d = VirtualDistributor::new(2, 288, 0x0200_043b);
        d.give(27);
        d.give(79);
        d
    }

    fn write(
        d: &mut VirtualDistributor,
        vcpu: usize,
        off: u64,
        size: u8,
        value: u32,
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        d.write(vcpu, off, size, value, &mut |e| effects.push(e));
        effects
    }

    #[test]
    fn typer_reports_lines_and_vcpus() {
        let d = dist();
        assert_eq!(d.read(0, 0x004, 4), (1 << 5) | (288 / 32 - 1));
        assert_eq!(d.read(0, 0x008, 4), 0x0200_043b);
    }

    #[test]
    fn enables_only_owned_interrupts() {
        let mut d = dist();
        // SPI 79 is owned, SPI 78 is not.
        let effects = write(&mut d, 0, 0x100 + 8, 4, 0xc000);
        assert_eq!(effects, [Effect::Enable(79)]);
        assert_eq!(d.read(0, 0x100 + 8, 4), 0x8000);
        assert_eq!(d.read(0, 0x180 + 8, 4), 0x8000, "ICENABLER reads the same");
        let effects = write(&mut d, 1, 0x180 + 8, 4, u32::MAX);
        assert_eq!(effects, [Effect::Disable(79)]);
        assert_eq!(d.read(0, 0x100 + 8, 4), 0);
    }

    #[test]
    fn private_interrupts_are_banked_per_vcpu() {
        let mut d = dist();
        write(&mut d, 0, 0x000, 4, 1);
        let effects = write(&mut d, 1, 0x100, 4, (1 << 27) | (1 << 26) | 1);
        assert_eq!(effects, [Effect::Enable(0), Effect::Enable(27)]);
        assert!(d.is_enabled(1, 27));
        assert!(!d.is_enabled(0, 27));
        assert_eq!(d.read(0, 0x100, 4), 0);
        // PPI priorities are banked too.
        write(&mut d, 1, 0x400 + 24, 4, 0xa000_0000);
        assert_eq!(d.priority(1, 27), 0xa0);
        assert_eq!(d.priority(0, 27), 0);
    }

    #[test]
    fn priority_and_target_bytes() {
        let mut d = dist();
        write(&mut d, 0, 0x400 + 79, 1, 0x80);
        assert_eq!(d.read(0, 0x400 + 76, 4), 0x8000_0000);
        assert_eq!(
            d.read(0, 0x800 + 76, 4),
            0x0100_0000,
            "SPIs start on vCPU 0"
        );
        let effects = write(&mut d, 0, 0x800 + 76, 4, 0x0303_0303);
        assert_eq!(effects, [Effect::Route { irq: 79, vcpus: 3 }]);
        assert_eq!(d.targets(79), 3);
        // Bits for vCPUs the VM lacks are dropped; private targets read as self.
        write(&mut d, 0, 0x800 + 79, 1, 0xfe);
        assert_eq!(d.targets(79), 2);
        assert_eq!(d.read(1, 0x800 + 24, 4), 0x0200_0000);
    }

    #[test]
    fn config_changes_reach_the_hardware() {
        let mut d = dist();
        // ICFGR4 covers 64..79: 79 is the top pair.
        let effects = write(&mut d, 0, 0xc00 + 16, 4, 0xffff_ffff);
        assert_eq!(
            effects,
            [Effect::SetEdgeTriggered {
                irq: 79,
                edge: true
            }]
        );
        assert_eq!(d.read(0, 0xc00 + 16, 4), 0xc000_0000);
        assert_eq!(d.read(0, 0xc00, 4), 0xaaaa_aaaa);
    }

    #[test]
    fn sgir_targets() {
        let mut d = dist();
        assert_eq!(
            write(&mut d, 0, 0xf00, 4, (0b10 << 16) | 5),
            [Effect::SendSgi { id: 5, vcpus: 2 }]
        );
        assert_eq!(
            write(&mut d, 1, 0xf00, 4, (1 << 24) | 1),
            [Effect::SendSgi { id: 1, vcpus: 1 }]
        );
        assert_eq!(
            write(&mut d, 1, 0xf00, 4, (2 << 24) | 2),
            [Effect::SendSgi { id: 2, vcpus: 2 }]
        );
        assert!(
            write(&mut d, 0, 0xf00, 4, 0x00f0_0001).is_empty(),
            "no such vCPUs"
        );
    }

    #[test]
    fn emulated_interrupts_never_reach_the_hardware() {
        let mut d = dist();
        d.give_emulated(33);
        assert!(d.owns(33) && d.is_emulated(33) && !d.is_emulated(79));
        assert!(write(&mut d, 0, 0x100 + 4, 4, 1 << 1).is_empty());
        let effects = write(&mut d, 0, 0x100 + 8, 4, 1 << 15);
        assert_eq!(effects, [Effect::Enable(79)]);
        write(&mut d, 0, 0x000, 4, 1);
        assert!(d.is_enabled(0, 33), "the guest still sees it enabled");
        assert!(write(&mut d, 0, 0x800 + 33, 1, 2).is_empty());
        assert_eq!(d.targets(33), 2);
    }

    #[test]
    fn reset_forgets_the_guest_settings_but_not_ownership() {
        let mut d = dist();
        d.give_emulated(33);
        write(&mut d, 0, 0x000, 4, 1);
        write(&mut d, 0, 0x100 + 8, 4, 1 << 15);
        write(&mut d, 0, 0x800 + 79, 1, 2);
        d.reset();
        assert!(!d.is_enabled(0, 79));
        assert_eq!(d.targets(79), 1);
        assert!(d.owns(79) && d.owns(27));
        assert_eq!(d.owned_physical_spis().collect::<Vec<_>>(), [79]);
    }

    #[test]
    fn unowned_interrupts_are_invisible() {
        let mut d = dist();
        assert!(write(&mut d, 0, 0x200 + 4, 4, u32::MAX).is_empty());
        assert!(write(&mut d, 0, 0x800 + 40, 4, 0x0101_0101).is_empty());
        assert_eq!(d.read(0, 0x800 + 40, 4), 0);
        assert!(!d.owns(30), "the physical timer PPI was not given");
        assert!(!d.owns(1000), "beyond the implemented lines");
    }
}
