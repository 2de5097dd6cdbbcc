//! A range of a VM's RAM in its guest-physical (intermediate physical)
//! address space.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct GuestMemory {
    /// Guest-physical address of the first byte.
    pub ipa: u64,
    pub size: u64,
}

impl GuestMemory {
    /// Guest-physical address just past the last byte; `None` if the range
    /// wraps around the address space.
    pub fn end(&self) -> Option<u64> {
        self.ipa.checked_add(self.size)
    }

    /// Whether `[start, end)` lies inside this range.
    pub fn contains(&self, start: u64, end: u64) -> bool {
        self.end()
            .is_some_and(|ram_end| start >= self.ipa && start <= end && end <= ram_end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_and_containment() {
        let ram = GuestMemory {
            ipa: 0x4000_0000,
            size: 0x1000,
        };
        assert_eq!(ram.end(), Some(0x4000_1000));
        assert!(ram.contains(0x4000_0000, 0x4000_1000));
        assert!(ram.contains(0x4000_0800, 0x4000_0800), "empty range inside");
        assert!(!ram.contains(0x3fff_f000, 0x4000_0010));
        assert!(!ram.contains(0x4000_0800, 0x4000_1001));
        assert!(!ram.contains(0x4000_0900, 0x4000_0800), "reversed range");
        let wrapping = GuestMemory {
            ipa: u64::MAX,
            size: 2,
        };
        assert_eq!(wrapping.end(), None);
        assert!(!wrapping.contains(u64::MAX, u64::MAX));
    }
}
