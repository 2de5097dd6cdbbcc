//! Where an arm64 Linux kernel, its initrd and its device tree go in a VM's
//! RAM (Documentation/arch/arm64/booting.rst).
//!
//! The kernel goes at the first 2 MiB-aligned address of RAM plus its
//! `text_offset` (as low as possible, which also suits kernels that can't be
//! placed anywhere), the initrd right after the kernel's full `image_size`
//! (page-aligned), and the device tree at the highest 2 MiB boundary that
//! leaves room for it, so that it has a 2 MiB block of its own.

use core::fmt;

use crate::GuestMemory;
use crate::arm64_image::{ImageError, ImageHeader, LOAD_ALIGN};

/// Largest device tree arm64 Linux accepts.
pub const MAX_DTB_SIZE: usize = 2 << 20;
/// The kernel maps the device tree with blocks of up to 2 MiB.
const DTB_ALIGN: u64 = 2 << 20;
/// Initrd alignment when the image does not say its page size.
const DEFAULT_PAGE_SIZE: u64 = 4 << 10;
/// Room reserved for a kernel whose header gives no `image_size` (before
/// Linux 3.17): its file rounded up to this, which leaves some room for
/// its zeroed data.
const UNKNOWN_SIZE_ROUNDING: u64 = LOAD_ALIGN;

/// Guest-physical addresses of the boot payloads of a Linux VM.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct LinuxBootPlan {
    /// Where the `Image` is loaded; also its entry point.
    pub kernel: u64,
    /// `[start, end)` of the initrd, if there is one.
    pub initrd: Option<(u64, u64)>,
    /// Where the device tree goes (its address is passed in `x0`).
    pub dtb: u64,
}

/// A payload of a Linux boot.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Payload {
    Kernel,
    Initrd,
    DeviceTree,
}

impl fmt::Display for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Kernel => "kernel",
            Self::Initrd => "initrd",
            Self::DeviceTree => "device tree",
        })
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BootPlanError {
    /// The kernel is not a usable arm64 `Image`.
    Image(ImageError),
    /// The RAM range runs past the end of the address space.
    RamWraps {
        ram: GuestMemory,
    },
    /// `needed` bytes of `payload` starting at `at` (the lowest address it
    /// can go) run past `ram_end`.
    DoesNotFit {
        payload: Payload,
        needed: u64,
        at: u64,
        ram_end: u64,
    },
    EmptyDeviceTree,
    /// The device tree is larger than [`MAX_DTB_SIZE`].
    DeviceTreeTooLarge {
        len: usize,
    },
}

impl From<ImageError> for BootPlanError {
    fn from(err: ImageError) -> Self {
        Self::Image(err)
    }
}

impl fmt::Display for BootPlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Image(err) => write!(f, "kernel: {err}"),
            Self::RamWraps { ram } => write!(
                f,
                "RAM at {:#x} of {:#x} bytes wraps the address space",
                ram.ipa, ram.size
            ),
            Self::DoesNotFit {
                payload,
                needed,
                at,
                ram_end,
            } => write!(
                f,
                "the {payload} needs {needed:#x} bytes from {at:#x}, but RAM ends at {ram_end:#x} \
                 ({:#x} bytes short)",
                at.saturating_add(*needed).saturating_sub(*ram_end)
            ),
            Self::EmptyDeviceTree => write!(f, "the device tree is empty"),
            Self::DeviceTreeTooLarge { len } => write!(
                f,
                "the device tree is {len:#x} bytes; Linux takes at most {MAX_DTB_SIZE:#x}"
            ),
        }
    }
}

/// Places `kernel` (an arm64 `Image`), an initrd of `initrd_len` bytes (none
/// if 0) and a device tree of `dtb_len` bytes in `ram`.
pub fn plan(
    kernel: &[u8],
    initrd_len: usize,
    dtb_len: usize,
    ram: GuestMemory,
) -> Result<LinuxBootPlan, BootPlanError> {
    let header = ImageHeader::parse(kernel)?;
    if dtb_len == 0 {
        return Err(BootPlanError::EmptyDeviceTree);
    }
    if dtb_len > MAX_DTB_SIZE {
        return Err(BootPlanError::DeviceTreeTooLarge { len: dtb_len });
    }
    let ram_end = ram.end().ok_or(BootPlanError::RamWraps { ram })?;
    // `[at, at + needed)` if `at` exists (no alignment overflowed) and the
    // range ends inside RAM.
    let fit = |payload, at: Option<u64>, needed: u64| {
        at.and_then(|at| Some((at, at.checked_add(needed)?)))
            .filter(|&(_, end)| end <= ram_end)
            .ok_or(BootPlanError::DoesNotFit {
                payload,
                needed,
                at: at.unwrap_or(u64::MAX),
                ram_end,
            })
    };

    let kernel_size = match header.image_size {
        0 => align_up(kernel.len() as u64, UNKNOWN_SIZE_ROUNDING).unwrap_or(u64::MAX),
        size => size,
    };
    let kernel_at =
        align_up(ram.ipa, LOAD_ALIGN).and_then(|base| base.checked_add(header.text_offset));
    let (kernel_at, kernel_end) = fit(Payload::Kernel, kernel_at, kernel_size)?;

    let page = header.page_size().unwrap_or(DEFAULT_PAGE_SIZE);
    let initrd = match initrd_len as u64 {
        0 => None,
        len => Some(fit(Payload::Initrd, align_up(kernel_end, page), len)?),
    };
    let payload_end = initrd.map_or(kernel_end, |(_, end)| end);

    // The highest 2 MiB boundary with room for the device tree above it.
    let dtb_len = dtb_len as u64;
    let dtb = ram_end
        .checked_sub(dtb_len)
        .map(|highest| align_down(highest, DTB_ALIGN))
        .filter(|&dtb| dtb >= payload_end);
    let Some(dtb) = dtb else {
        return Err(BootPlanError::DoesNotFit {
            payload: Payload::DeviceTree,
            needed: dtb_len,
            at: align_up(payload_end, DTB_ALIGN).unwrap_or(u64::MAX),
            ram_end,
        });
    };
    Ok(LinuxBootPlan {
        kernel: kernel_at,
        initrd,
        dtb,
    })
}

fn align_up(value: u64, align: u64) -> Option<u64> {
    value.checked_next_multiple_of(align)
}

fn align_down(value: u64, align: u64) -> u64 {
    value - value % align
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arm64_image::{
        CORDON_FLAGS, FLAG_BIG_ENDIAN, FLAG_PAGE_SIZE_4K, FLAGS_OFFSET, HEADER_SIZE,
        IMAGE_SIZE_OFFSET, MAGIC, MAGIC_OFFSET, TEXT_OFFSET_OFFSET,
    };

    const MIB: u64 = 1 << 20;
    /// 64 KiB pages, in the header's page-size field (bits 1-2 = 3).
    const FLAG_PAGE_SIZE_64K: u64 = 3 << 1;
    /// QEMU virt's RAM base; 1 GiB.
    const RAM: GuestMemory = GuestMemory {
        ipa: 0x4000_0000,
        size: 1 << 30,
    };
    const DTB_LEN: usize = 0x1_0000;

    /// An `Image` of `file_len` bytes whose header says the rest.
    fn image(file_len: usize, text_offset: u64, image_size: u64, flags: u64) -> Vec<u8> {
        let mut bytes = vec![0u8; file_len.max(HEADER_SIZE)];
        bytes[TEXT_OFFSET_OFFSET..][..8].copy_from_slice(&text_offset.to_le_bytes());
        bytes[IMAGE_SIZE_OFFSET..][..8].copy_from_slice(&image_size.to_le_bytes());
        bytes[FLAGS_OFFSET..][..8].copy_from_slice(&flags.to_le_bytes());
        bytes[MAGIC_OFFSET..][..4].copy_from_slice(&MAGIC.to_le_bytes());
        bytes
    }

    /// A current kernel: 20 MiB file, 30 MiB once loaded, text_offset 0.
    fn modern_kernel() -> Vec<u8> {
        image(20 * MIB as usize, 0, 30 * MIB + 0x1234, CORDON_FLAGS)
    }

    #[test]
    fn kernel_initrd_and_dtb_in_order() {
        let plan = plan(&modern_kernel(), 0x80_0001, DTB_LEN, RAM).unwrap();
        let initrd_start = 0x4000_0000 + 30 * MIB + 0x2000;
        assert_eq!(
            plan,
            LinuxBootPlan {
                kernel: 0x4000_0000,
                initrd: Some((initrd_start, initrd_start + 0x80_0001)),
                dtb: 0x4000_0000 + (1 << 30) - 2 * MIB,
            }
        );
    }

    #[test]
    fn unaligned_ram_and_text_offset() {
        let ram = GuestMemory {
            ipa: 0x4001_0000,
            size: 256 * MIB,
        };
        // Kernels before 5.8 ask for text_offset 0x80000.
        let kernel = image(0x10_0000, 0x8_0000, 0x20_0000, CORDON_FLAGS);
        let plan = plan(&kernel, 0, DTB_LEN, ram).unwrap();
        assert_eq!(plan.kernel, 0x4020_0000 + 0x8_0000);
        assert_eq!(plan.initrd, None);
        // RAM ends at 0x5001_0000: the DTB sits on the 2 MiB boundary below.
        assert_eq!(plan.dtb, 0x5000_0000);
    }

    #[test]
    fn unknown_image_size_reserves_the_file_rounded_to_2_mib() {
        let kernel = image(0x30_0001, 0, 0, FLAG_PAGE_SIZE_4K);
        let plan = plan(&kernel, 0x1000, DTB_LEN, RAM).unwrap();
        assert_eq!(plan.initrd, Some((0x4040_0000, 0x4040_1000)));
    }

    #[test]
    fn initrd_follows_the_kernel_page_size() {
        let kernel = image(0x1000, 0, 0x10_1000, FLAG_PAGE_SIZE_64K);
        let plan = plan(&kernel, 0x1000, DTB_LEN, RAM).unwrap();
        assert_eq!(plan.initrd, Some((0x4011_0000, 0x4011_1000)));
    }

    #[test]
    fn payloads_fill_ram_exactly() {
        // 4 MiB of RAM: kernel 1 MiB, initrd up to the last 2 MiB, DTB of 2 MiB.
        let ram = GuestMemory {
            ipa: 0x8000_0000,
            size: 4 * MIB,
        };
        let kernel = image(0x1000, 0, MIB, CORDON_FLAGS);
        let plan = plan(&kernel, MIB as usize, MAX_DTB_SIZE, ram).unwrap();
        assert_eq!(plan.initrd, Some((0x8010_0000, 0x8020_0000)));
        assert_eq!(plan.dtb, 0x8020_0000);
    }

    #[test]
    fn malformed_images_are_named() {
        assert_eq!(
            plan(&[0; 16], 0, DTB_LEN, RAM),
            Err(BootPlanError::Image(ImageError::TooShort { len: 16 }))
        );
        let mut bad_magic = modern_kernel();
        bad_magic[MAGIC_OFFSET] = b'X';
        let err = plan(&bad_magic, 0, DTB_LEN, RAM).unwrap_err();
        assert!(matches!(
            err,
            BootPlanError::Image(ImageError::BadMagic { .. })
        ));
        assert!(err.to_string().starts_with("kernel: no arm64 Image magic"));
        let big_endian = image(0x1000, 0, MIB, CORDON_FLAGS | FLAG_BIG_ENDIAN);
        assert_eq!(
            plan(&big_endian, 0, DTB_LEN, RAM),
            Err(BootPlanError::Image(ImageError::BigEndian))
        );
        let short_size = image(0x2000, 0, 0x1000, CORDON_FLAGS);
        assert!(matches!(
            plan(&short_size, 0, DTB_LEN, RAM),
            Err(BootPlanError::Image(ImageError::SizeSmallerThanFile { .. }))
        ));
    }

    #[test]
    fn what_does_not_fit_is_named_with_its_size() {
        let small = GuestMemory {
            ipa: 0x4000_0000,
            size: 32 * MIB,
        };
        let kernel = image(0x1000, 0, 40 * MIB, CORDON_FLAGS);
        let err = plan(&kernel, 0, DTB_LEN, small).unwrap_err();
        assert_eq!(
            err,
            BootPlanError::DoesNotFit {
                payload: Payload::Kernel,
                needed: 40 * MIB,
                at: 0x4000_0000,
                ram_end: 0x4200_0000,
            }
        );
        assert_eq!(
            err.to_string(),
            "the kernel needs 0x2800000 bytes from 0x40000000, but RAM ends at 0x42000000 \
             (0x800000 bytes short)"
        );

        let kernel = image(0x1000, 0, 16 * MIB, CORDON_FLAGS);
        assert_eq!(
            plan(&kernel, 20 * MIB as usize, DTB_LEN, small),
            Err(BootPlanError::DoesNotFit {
                payload: Payload::Initrd,
                needed: 20 * MIB,
                at: 0x4100_0000,
                ram_end: 0x4200_0000,
            })
        );

        // Kernel and initrd leave 1 MiB free, but not a 2 MiB block.
        let err = plan(&kernel, 15 * MIB as usize, DTB_LEN, small).unwrap_err();
        assert_eq!(
            err,
            BootPlanError::DoesNotFit {
                payload: Payload::DeviceTree,
                needed: DTB_LEN as u64,
                at: 0x4200_0000,
                ram_end: 0x4200_0000,
            }
        );
        assert!(
            err.to_string()
                .starts_with("the device tree needs 0x10000 bytes")
        );
    }

    #[test]
    fn ram_without_a_2_mib_boundary() {
        let ram = GuestMemory {
            ipa: 0x4000_1000,
            size: MIB,
        };
        assert!(matches!(
            plan(&modern_kernel(), 0, DTB_LEN, ram),
            Err(BootPlanError::DoesNotFit {
                payload: Payload::Kernel,
                at: 0x4020_0000,
                ..
            })
        ));
    }

    #[test]
    fn bad_device_trees_and_ram() {
        assert_eq!(
            plan(&modern_kernel(), 0, 0, RAM),
            Err(BootPlanError::EmptyDeviceTree)
        );
        let err = plan(&modern_kernel(), 0, MAX_DTB_SIZE + 1, RAM).unwrap_err();
        assert_eq!(
            err,
            BootPlanError::DeviceTreeTooLarge {
                len: MAX_DTB_SIZE + 1
            }
        );
        assert_eq!(
            err.to_string(),
            "the device tree is 0x200001 bytes; Linux takes at most 0x200000"
        );
        let wrapping = GuestMemory {
            ipa: u64::MAX - MIB,
            size: 4 * MIB,
        };
        assert_eq!(
            plan(&modern_kernel(), 0, DTB_LEN, wrapping),
            Err(BootPlanError::RamWraps { ram: wrapping })
        );
        let top = GuestMemory {
            ipa: u64::MAX - 3 * MIB + 1,
            size: 3 * MIB - 1,
        };
        assert!(matches!(
            plan(&modern_kernel(), 0, DTB_LEN, top),
            Err(BootPlanError::DoesNotFit {
                payload: Payload::Kernel,
                ..
            })
        ));
    }
}
