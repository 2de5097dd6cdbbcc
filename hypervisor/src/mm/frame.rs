//! The physical frame allocator: hands out 4 KiB frames of free RAM.

use buddy_system_allocator::FrameAllocator as BuddyFrames;

use super::FRAME_SIZE;
use super::region::{PhysRange, RegionSet};

/// Largest block is 2^(ORDER-1) frames: 2^31 frames = 8 TiB.
const ORDER: usize = 32;

pub struct FrameAllocator {
    frames: BuddyFrames<ORDER>,
    total_bytes: u64,
    free_bytes: u64,
}

fn frame_number(pa: u64) -> usize {
    (pa / FRAME_SIZE) as usize
}

impl FrameAllocator {
    /// An allocator owning exactly the frames of `free`.
    pub fn new<const N: usize>(free: &RegionSet<N>) -> Self {
        let mut frames = BuddyFrames::new();
        for range in free.iter() {
            let whole = range.align_inward(FRAME_SIZE);
            if !whole.is_empty() {
                frames.add_frame(frame_number(whole.start), frame_number(whole.end));
            }
        }
        let total_bytes = free.iter().map(|r| r.align_inward(FRAME_SIZE).size()).sum();
        Self {
            frames,
            total_bytes,
            free_bytes: total_bytes,
        }
    }

    /// `count` contiguous frames aligned to their own (power-of-two rounded) size.
    pub fn alloc(&mut self, count: usize) -> Option<PhysRange> {
        let first = self.frames.alloc(count)?;
        let bytes = count as u64 * FRAME_SIZE;
        self.free_bytes -= bytes;
        PhysRange::from_base_size(first as u64 * FRAME_SIZE, bytes)
    }

    /// Returns frames from [`Self::alloc`].
    pub fn free(&mut self, range: PhysRange) {
        let count = (range.size() / FRAME_SIZE) as usize;
        self.frames.dealloc(frame_number(range.start), count);
        self.free_bytes += range.size();
    }

    pub fn total_bytes(&self) -> u64 {
        self.total_bytes
    }

    pub fn free_bytes(&self) -> u64 {
        self.free_bytes
    }
}

#[cfg(test)]
mod tests {
    use fdt::Fdt;

    use super::*;
    use crate::dt::BootInfo;
    use crate::dt::tests::rpi4_like_dtb;
    use crate::mm::boot_map::{free_memory, held_regions};

    #[test]
    fn never_hands_out_held_memory() {
        let blob = rpi4_like_dtb();
        let info = BootInfo::parse(&Fdt::new(&blob).unwrap()).unwrap();
        // Shrink RAM so that draining every frame stays quick.
        let image = PhysRange::from_base_size(0x20_0000, 0x10_0000).unwrap();
        let dtb = PhysRange::from_base_size(0x2eff_2000, 0xd000).unwrap();
        let mut free = free_memory(&info, image, dtb).unwrap();
        free.remove(PhysRange {
            start: 0x400_0000,
            end: 0x3a00_0000,
        })
        .unwrap();
        free.remove(PhysRange {
            start: 0x4400_0000,
            end: u64::MAX,
        })
        .unwrap();

        let mut frames = FrameAllocator::new(&free);
        let total = frames.total_bytes();
        assert_eq!(total, free.total_size());
        let mut handed_out = Vec::new();
        while let Some(range) = frames.alloc(1) {
            for (held, holder) in held_regions(&info, image, dtb) {
                assert!(!range.overlaps(&held), "{range} overlaps {holder} {held}");
            }
            assert!(info.memory.contains(range.start));
            handed_out.push(range);
        }
        assert_eq!(handed_out.len() as u64 * FRAME_SIZE, total);
        assert_eq!(frames.free_bytes(), 0);
        for range in handed_out {
            frames.free(range);
        }
        assert_eq!(frames.free_bytes(), total);
        let big = frames.alloc(512).unwrap();
        assert!(big.start.is_multiple_of(512 * FRAME_SIZE));
    }
}
