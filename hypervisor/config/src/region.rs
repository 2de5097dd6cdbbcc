//! A range of physical addresses.

/// `[start, end)`, never empty.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Region {
    pub start: u64,
    pub end: u64,
}

impl Region {
    /// `size` bytes from `base`; `None` if empty or past the end of the
    /// address space.
    pub fn new(base: u64, size: u64) -> Option<Self> {
        let end = base.checked_add(size)?;
        (size != 0).then_some(Self { start: base, end })
    }

    pub fn size(self) -> u64 {
        self.end - self.start
    }

    pub fn overlaps(self, other: Region) -> bool {
        self.start < other.end && other.start < self.end
    }

    pub fn contains(self, other: Region) -> bool {
        self.start <= other.start && other.end <= self.end
    }

    pub fn contains_address(self, address: u64) -> bool {
        (self.start..self.end).contains(&address)
    }

    /// The part aligned to `alignment` (a power of two) inside this region.
    pub fn align_inward(self, alignment: u64) -> Option<Self> {
        let start = self.start.checked_next_multiple_of(alignment)?;
        let end = self.end - self.end % alignment;
        (start < end).then_some(Self { start, end })
    }

    /// The part below `limit`.
    pub fn below(self, limit: u64) -> Option<Self> {
        (self.start < limit).then_some(Self {
            start: self.start,
            end: self.end.min(limit),
        })
    }

    /// What is left of this region without `other`: the parts before and
    /// after it.
    pub fn minus(self, other: Region) -> [Option<Region>; 2] {
        if !self.overlaps(other) {
            return [Some(self), None];
        }
        [
            Region::new(self.start, other.start.saturating_sub(self.start)),
            Region::new(other.end, self.end.saturating_sub(other.end)),
        ]
    }
}
