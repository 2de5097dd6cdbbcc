//! A byte ring that keeps the end of a stream (a VM's console, cordon's
//! log) for the management interface to read from any position.

/// Bytes kept of each stream.
pub const RING_SIZE: usize = 16 << 10;

pub struct ByteRing {
    bytes: [u8; RING_SIZE],
    /// Bytes ever written: the position after the newest byte.
    written: u64,
}

impl Default for ByteRing {
    fn default() -> Self {
        Self::new()
    }
}

impl ByteRing {
    pub const fn new() -> Self {
        Self {
            bytes: [0; RING_SIZE],
            written: 0,
        }
    }

    pub fn push(&mut self, data: &[u8]) {
        for &byte in data {
            self.bytes[(self.written % RING_SIZE as u64) as usize] = byte;
            self.written += 1;
        }
    }

    /// The position after the newest byte.
    pub fn end(&self) -> u64 {
        self.written
    }

    /// Copies up to `out.len()` bytes from stream position `position` (or
    /// the oldest byte kept, if later) into `out`; returns where they
    /// start and how many there are. Stops at the wrap point, so a reader
    /// may need a second call.
    pub fn read_from(&self, position: u64, out: &mut [u8]) -> (u64, usize) {
        let oldest = self.written.saturating_sub(RING_SIZE as u64);
        let start = position.clamp(oldest, self.written);
        let offset = (start % RING_SIZE as u64) as usize;
        let available = (self.written - start) as usize;
        let len = available.min(out.len()).min(RING_SIZE - offset);
        out[..len].copy_from_slice(&self.bytes[offset..offset + len]);
        (start, len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_was_written_from_any_position() {
        let mut ring = ByteRing::new();
        ring.push(b"hello, world");
        let mut out = [0; 64];
        assert_eq!(ring.read_from(0, &mut out), (0, 12));
        assert_eq!(&out[..12], b"hello, world");
        assert_eq!(ring.read_from(7, &mut out), (7, 5));
        assert_eq!(&out[..5], b"world");
        assert_eq!(
            ring.read_from(99, &mut out),
            (12, 0),
            "past the end: nothing"
        );
        assert_eq!(ring.end(), 12);
    }

    #[test]
    fn old_bytes_are_overwritten_and_reads_stop_at_the_wrap() {
        let mut ring = ByteRing::new();
        let stream: Vec<u8> = (0..RING_SIZE + 100).map(|n| n as u8).collect();
        ring.push(&stream);
        let mut out = vec![0; RING_SIZE];
        let (start, len) = ring.read_from(0, &mut out);
        assert_eq!(start, 100, "the oldest kept byte");
        assert_eq!(len, RING_SIZE - 100, "up to the wrap point");
        assert_eq!(out[0], 100u8);
        let (start, len) = ring.read_from(start + len as u64, &mut out);
        assert_eq!((start, len), (RING_SIZE as u64, 100));
        assert_eq!(out[..len], stream[RING_SIZE..]);
        let mut small = [0; 10];
        assert_eq!(ring.read_from(150, &mut small), (150, 10));
    }
}
