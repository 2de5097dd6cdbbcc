//! Physical address ranges and sorted sets of them.
//!
//! Used before any heap exists (the boot memory map is computed from the
//! device tree with the MMU still off), so sets have a fixed capacity.

use core::fmt;

/// A half-open physical address range `[start, end)`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PhysRange {
    pub start: u64,
    pub end: u64,
}

impl PhysRange {
    /// The range of `size` bytes at `start`, or `None` if it would wrap.
    pub fn from_base_size(start: u64, size: u64) -> Option<Self> {
        Some(Self {
            start,
            end: start.checked_add(size)?,
        })
    }

    pub fn size(&self) -> u64 {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.start >= self.end
    }

    pub fn contains(&self, addr: u64) -> bool {
        self.start <= addr && addr < self.end
    }

    pub fn overlaps(&self, other: &PhysRange) -> bool {
        self.start < other.end && other.start < self.end
    }

    /// The smallest range containing this one whose ends are multiples of `align`
    /// (a power of two).
    pub fn align_outward(&self, align: u64) -> Self {
        Self {
            start: self.start & !(align - 1),
            end: self.end.next_multiple_of(align),
        }
    }

    /// The largest range inside this one whose ends are multiples of `align`
    /// (a power of two); empty if there is none.
    pub fn align_inward(&self, align: u64) -> Self {
        let start = self.start.next_multiple_of(align);
        let end = self.end & !(align - 1);
        Self {
            start,
            end: end.max(start),
        }
    }
}

impl fmt::Display for PhysRange {
    /// `0x<start>-0x<last byte>`, both as 16 hex digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#018x}-{:#018x}", self.start, self.end - 1)
    }
}

/// The set could not hold another disjoint range.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RegionSetFull;

/// A sorted set of disjoint, non-adjacent, non-empty ranges with room for `N`.
#[derive(Clone, Debug, Default)]
pub struct RegionSet<const N: usize> {
    ranges: heapless::Vec<PhysRange, N>,
}

impl<const N: usize> RegionSet<N> {
    pub const fn new() -> Self {
        Self {
            ranges: heapless::Vec::new(),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &PhysRange> {
        self.ranges.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Total number of bytes covered.
    pub fn total_size(&self) -> u64 {
        self.ranges.iter().map(PhysRange::size).sum()
    }

    pub fn contains(&self, addr: u64) -> bool {
        self.ranges.iter().any(|r| r.contains(addr))
    }

    /// Adds `range`, merging it with ranges it overlaps or touches.
    pub fn insert(&mut self, range: PhysRange) -> Result<(), RegionSetFull> {
        if range.is_empty() {
            return Ok(());
        }
        let mut merged = range;
        let mut kept: heapless::Vec<PhysRange, N> = heapless::Vec::new();
        for r in &self.ranges {
            if r.end < merged.start || merged.end < r.start {
                kept.push(*r).map_err(|_| RegionSetFull)?;
            } else {
                merged.start = merged.start.min(r.start);
                merged.end = merged.end.max(r.end);
            }
        }
        let at = kept.partition_point(|r| r.start < merged.start);
        kept.insert(at, merged).map_err(|_| RegionSetFull)?;
        self.ranges = kept;
        Ok(())
    }

    /// Removes every address of `range` from the set.
    pub fn remove(&mut self, range: PhysRange) -> Result<(), RegionSetFull> {
        if range.is_empty() {
            return Ok(());
        }
        let mut kept: heapless::Vec<PhysRange, N> = heapless::Vec::new();
        for r in &self.ranges {
            if !r.overlaps(&range) {
                kept.push(*r).map_err(|_| RegionSetFull)?;
                continue;
            }
            let below = PhysRange {
                start: r.start,
                end: range.start,
            };
            let above = PhysRange {
                start: range.end,
                end: r.end,
            };
            for piece in [below, above] {
                if !piece.is_empty() {
                    kept.push(piece).map_err(|_| RegionSetFull)?;
                }
            }
        }
        self.ranges = kept;
        Ok(())
    }

    /// Takes `size` bytes aligned to `align` out of the lowest range that has
    /// them and returns where they are.
    pub fn take(&mut self, size: u64, align: u64) -> Option<PhysRange> {
        self.take_below(size, align, u64::MAX)
    }

    /// Like [`Self::take`], but the bytes must end at or below `limit`.
    pub fn take_below(&mut self, size: u64, align: u64, limit: u64) -> Option<PhysRange> {
        let found = self.ranges.iter().find_map(|r| {
            let start = r.start.next_multiple_of(align);
            let end = start.checked_add(size)?;
            (end <= r.end && end <= limit).then_some(PhysRange { start, end })
        })?;
        self.remove(found).ok()?;
        Some(found)
    }

    /// Takes exactly `range` if all of it is in the set.
    pub fn take_exact(&mut self, range: PhysRange) -> Option<PhysRange> {
        let inside = self
            .ranges
            .iter()
            .any(|r| r.start <= range.start && range.end <= r.end);
        if !inside {
            return None;
        }
        self.remove(range).ok()?;
        Some(range)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(start: u64, end: u64) -> PhysRange {
        PhysRange { start, end }
    }

    fn ranges<const N: usize>(set: &RegionSet<N>) -> Vec<(u64, u64)> {
        set.iter().map(|r| (r.start, r.end)).collect()
    }

    #[test]
    fn insert_keeps_order_and_merges_touching_ranges() {
        let mut set = RegionSet::<8>::new();
        set.insert(r(0x3000, 0x4000)).unwrap();
        set.insert(r(0x1000, 0x2000)).unwrap();
        assert_eq!(ranges(&set), [(0x1000, 0x2000), (0x3000, 0x4000)]);
        set.insert(r(0x2000, 0x3000)).unwrap();
        assert_eq!(ranges(&set), [(0x1000, 0x4000)]);
        set.insert(r(0x800, 0x1800)).unwrap();
        assert_eq!(ranges(&set), [(0x800, 0x4000)]);
    }

    #[test]
    fn remove_splits_and_trims() {
        let mut set = RegionSet::<8>::new();
        set.insert(r(0x0, 0x10000)).unwrap();
        set.remove(r(0x4000, 0x5000)).unwrap();
        assert_eq!(ranges(&set), [(0x0, 0x4000), (0x5000, 0x10000)]);
        set.remove(r(0x0, 0x1000)).unwrap();
        set.remove(r(0xf000, 0x20000)).unwrap();
        assert_eq!(ranges(&set), [(0x1000, 0x4000), (0x5000, 0xf000)]);
        set.remove(r(0x3000, 0x6000)).unwrap();
        assert_eq!(ranges(&set), [(0x1000, 0x3000), (0x6000, 0xf000)]);
        assert_eq!(set.total_size(), 0x2000 + 0x9000);
    }

    #[test]
    fn remove_reports_a_full_set_instead_of_losing_ranges() {
        let mut set = RegionSet::<2>::new();
        set.insert(r(0x0, 0x10000)).unwrap();
        set.remove(r(0x1000, 0x2000)).unwrap();
        assert_eq!(set.remove(r(0x4000, 0x5000)), Err(RegionSetFull));
    }

    #[test]
    fn take_honours_alignment() {
        let mut set = RegionSet::<8>::new();
        set.insert(r(0x1000, 0x400000)).unwrap();
        let got = set.take(0x200000, 0x200000).unwrap();
        assert_eq!((got.start, got.end), (0x200000, 0x400000));
        assert_eq!(ranges(&set), [(0x1000, 0x200000)]);
        assert!(set.take(0x200000, 0x200000).is_none());
    }

    #[test]
    fn take_below_and_exact() {
        let mut set = RegionSet::<8>::new();
        set.insert(r(0, 0x1000_0000)).unwrap();
        set.remove(r(0, 0x20_0000)).unwrap();
        assert!(set.take_below(0x800_0000, 0x20_0000, 0x400_0000).is_none());
        let low = set.take_below(0x200_0000, 0x20_0000, 0x400_0000).unwrap();
        assert_eq!(low, r(0x20_0000, 0x220_0000));
        assert_eq!(
            set.take_exact(r(0x800_0000, 0x900_0000)),
            Some(r(0x800_0000, 0x900_0000))
        );
        assert!(
            set.take_exact(r(0x800_0000, 0x900_0000)).is_none(),
            "taken already"
        );
        assert!(
            set.take_exact(r(0xf00_0000, 0x1100_0000)).is_none(),
            "runs past RAM"
        );
    }

    #[test]
    fn alignment_helpers() {
        let range = r(0x1234, 0x5678);
        assert_eq!(range.align_outward(0x1000), r(0x1000, 0x6000));
        assert_eq!(range.align_inward(0x1000), r(0x2000, 0x5000));
        assert!(r(0x1100, 0x1200).align_inward(0x1000).is_empty());
    }

    #[test]
    fn display_shows_inclusive_end() {
        let range = PhysRange::from_base_size(0x4000_0000, 0x4000_0000).unwrap();
        assert_eq!(range.to_string(), "0x0000000040000000-0x000000007fffffff");
    }
}
