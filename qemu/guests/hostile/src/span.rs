//! Ranges of guest-physical addresses.

use core::fmt;

/// Addresses `start` to `end` (exclusive).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Span {
    pub start: u64,
    pub end: u64,
}

impl Span {
    /// `None` if the span would wrap around.
    pub fn from_base_size(base: u64, size: u64) -> Option<Self> {
        Some(Self {
            start: base,
            end: base.checked_add(size)?,
        })
    }

    pub fn contains(&self, addr: u64) -> bool {
        (self.start..self.end).contains(&addr)
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}-{:#x}", self.start, self.end)
    }
}

/// Up to `N` spans, in a fixed-size array (the guest has no heap).
pub struct Spans<const N: usize> {
    spans: [Span; N],
    len: usize,
}

/// A [`Spans`] is full.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Full;

impl<const N: usize> Spans<N> {
    pub const fn new() -> Self {
        Self {
            spans: [Span { start: 0, end: 0 }; N],
            len: 0,
        }
    }

    pub fn push(&mut self, span: Span) -> Result<(), Full> {
        let slot = self.spans.get_mut(self.len).ok_or(Full)?;
        *slot = span;
        self.len += 1;
        Ok(())
    }

    pub fn iter(&self) -> impl Iterator<Item = &Span> {
        self.spans[..self.len].iter()
    }

    pub fn len(&self) -> usize {
        self.len
    }
}
