//! Physical memory: what is free at boot, the frame allocator, the heap.

pub mod boot_map;
pub mod frame;
#[cfg(target_os = "none")]
pub mod heap;
pub mod region;

pub use region::PhysRange;

/// Bytes in a physical frame.
pub const FRAME_SIZE: u64 = 4096;
