//! Where in physical memory each VM's RAM goes, decided at boot before the
//! rest of free RAM goes to the frame allocator.

use super::spec::MemorySpec;
use crate::mm::PhysRange;
use crate::mm::region::RegionSet;

/// VM RAM is placed on this boundary (a stage-2 block) at least.
pub const VM_RAM_ALIGN: u64 = 2 << 20;
/// And on this one when it is at least this big (1 GiB blocks).
const LARGE_BLOCK: u64 = 1 << 30;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PlacementError {
    /// Size or fixed address not a multiple of 2 MiB.
    Misaligned,
    /// The fixed address range is not free RAM.
    NotFree { address: u64, size: u64 },
    /// No free RAM of that size (below the limit, if any).
    NoRoom { size: u64, below: Option<u64> },
}

impl core::fmt::Display for PlacementError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Misaligned => write!(f, "size or address is not a multiple of 2 MiB"),
            Self::NotFree { address, size } => {
                write!(f, "{} MiB at {address:#x} is not free RAM", size >> 20)
            }
            Self::NoRoom { size, below: None } => {
                write!(f, "no {} MiB of free RAM", size >> 20)
            }
            Self::NoRoom {
                size,
                below: Some(limit),
            } => write!(f, "no {} MiB of free RAM below {limit:#x}", size >> 20),
        }
    }
}

/// Takes the RAM `memory` asks for out of `free`.
pub fn place<const N: usize>(
    free: &mut RegionSet<N>,
    memory: &MemorySpec,
) -> Result<PhysRange, PlacementError> {
    let misaligned = |value: u64| !value.is_multiple_of(VM_RAM_ALIGN);
    if memory.size == 0 || misaligned(memory.size) || memory.address.is_some_and(misaligned) {
        return Err(PlacementError::Misaligned);
    }
    let limit = memory.below.unwrap_or(u64::MAX);
    if let Some(address) = memory.address {
        let range = PhysRange::from_base_size(address, memory.size)
            .filter(|r| r.end <= limit)
            .ok_or(PlacementError::NoRoom {
                size: memory.size,
                below: memory.below,
            })?;
        return free.take_exact(range).ok_or(PlacementError::NotFree {
            address,
            size: memory.size,
        });
    }
    let large = memory.size >= LARGE_BLOCK;
    large
        .then(|| free.take_below(memory.size, LARGE_BLOCK, limit))
        .flatten()
        .or_else(|| free.take_below(memory.size, VM_RAM_ALIGN, limit))
        .ok_or(PlacementError::NoRoom {
            size: memory.size,
            below: memory.below,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;
    const GIB: u64 = 1 << 30;

    fn free() -> RegionSet<8> {
        let mut set = RegionSet::new();
        // RPi4-like: RAM from 0 with the first 2 MiB held, and above 1 GiB.
        set.insert(PhysRange {
            start: 2 * MIB,
            end: 960 * MIB,
        })
        .unwrap();
        set.insert(PhysRange {
            start: GIB,
            end: 4 * GIB,
        })
        .unwrap();
        set
    }

    fn spec(size: u64) -> MemorySpec {
        MemorySpec {
            size,
            address: None,
            identity: false,
            below: None,
        }
    }

    #[test]
    fn below_a_limit() {
        let mut set = free();
        let ram = place(
            &mut set,
            &MemorySpec {
                below: Some(GIB),
                ..spec(512 * MIB)
            },
        )
        .unwrap();
        assert!(ram.end <= GIB);
        let err = place(
            &mut set,
            &MemorySpec {
                below: Some(GIB),
                ..spec(512 * MIB)
            },
        );
        assert_eq!(
            err,
            Err(PlacementError::NoRoom {
                size: 512 * MIB,
                below: Some(GIB)
            })
        );
        assert!(place(&mut set, &spec(512 * MIB)).unwrap().start >= GIB);
    }

    #[test]
    fn large_regions_get_gigabyte_alignment() {
        let mut set = free();
        let ram = place(&mut set, &spec(GIB)).unwrap();
        assert_eq!(ram.start % GIB, 0);
    }

    #[test]
    fn fixed_addresses() {
        let mut set = free();
        let at = MemorySpec {
            address: Some(2 * GIB),
            ..spec(64 * MIB)
        };
        assert_eq!(place(&mut set, &at).unwrap().start, 2 * GIB);
        assert_eq!(
            place(&mut set, &at),
            Err(PlacementError::NotFree {
                address: 2 * GIB,
                size: 64 * MIB
            }),
            "given once only"
        );
        let hole = MemorySpec {
            address: Some(960 * MIB),
            ..spec(64 * MIB)
        };
        assert!(matches!(
            place(&mut set, &hole),
            Err(PlacementError::NotFree { .. })
        ));
        let too_high = MemorySpec {
            address: Some(2 * GIB + 64 * MIB),
            below: Some(2 * GIB),
            ..spec(64 * MIB)
        };
        assert!(matches!(
            place(&mut set, &too_high),
            Err(PlacementError::NoRoom { .. })
        ));
    }

    #[test]
    fn misalignment_is_refused() {
        let mut set = free();
        assert_eq!(place(&mut set, &spec(MIB)), Err(PlacementError::Misaligned));
        let odd = MemorySpec {
            address: Some(GIB + MIB),
            ..spec(2 * MIB)
        };
        assert_eq!(place(&mut set, &odd), Err(PlacementError::Misaligned));
        assert_eq!(place(&mut set, &spec(0)), Err(PlacementError::Misaligned));
    }
}
