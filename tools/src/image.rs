//! Turns the hypervisor's ELF into the raw arm64 Linux `Image` that boot
//! loaders and QEMU's `-kernel` take, and checks the result.
//!
//! The ELF is a position-independent executable linked at base 0 whose first
//! bytes are an arm64 Image header. Flattening lays the `PT_LOAD` segments'
//! file bytes out by virtual address, from the lowest address to the end of
//! the highest segment's file data: gaps become zeros, and the trailing
//! zero-initialised memory (BSS) is left out, as the image sets it up itself.

use std::fmt;

use cordon_guest_loader::arm64_image::{self, ImageHeader};
use object::Endianness;
use object::elf::{self, FileHeader64, PT_LOAD};
use object::read::elf::{FileHeader, ProgramHeader};

/// Refuse to lay out images larger than this: a bigger span means the
/// segments are not what a hypervisor image looks like.
const MAX_IMAGE_SIZE: u64 = 64 * 1024 * 1024;

/// Why an ELF could not be flattened into a bootable image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageError {
    /// The file is not a little-endian 64-bit ELF, or it is malformed.
    NotElf(String),
    /// The ELF is not for aarch64.
    WrongMachine(elf::Machine),
    /// The ELF has no loadable bytes.
    NoLoadSegments,
    /// Two segments claim the same image bytes.
    Overlap { first: u64, second: u64 },
    /// The segments span more than [`MAX_IMAGE_SIZE`].
    TooLarge(u64),
    /// The result does not start with a usable arm64 Image header.
    Header(arm64_image::ImageError),
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageError::NotElf(reason) => write!(f, "not a 64-bit little-endian ELF: {reason}"),
            ImageError::WrongMachine(machine) => {
                write!(f, "the ELF is for {machine}, not {}", elf::EM_AARCH64)
            }
            ImageError::NoLoadSegments => f.write_str("the ELF has no PT_LOAD segment with data"),
            ImageError::Overlap { first, second } => {
                write!(f, "PT_LOAD segments at {first:#x} and {second:#x} overlap")
            }
            ImageError::TooLarge(size) => write!(
                f,
                "PT_LOAD segments span {size:#x} bytes, more than the {MAX_IMAGE_SIZE:#x} an \
                 image may have"
            ),
            ImageError::Header(error) => write!(
                f,
                "the flattened image is not a usable arm64 Linux Image: {error} (does the \
                 linker script put the Image header first?)"
            ),
        }
    }
}

impl std::error::Error for ImageError {}

/// A loadable segment: its file bytes and where they go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment<'a> {
    /// The segment's virtual address.
    pub vaddr: u64,
    /// The bytes the file holds for it (`p_filesz` of them).
    pub data: &'a [u8],
}

/// Flattens an aarch64 ELF into a checked arm64 Image.
pub fn elf_to_image(elf: &[u8]) -> Result<Vec<u8>, ImageError> {
    let image = flatten(&load_segments(elf)?)?;
    check_image_header(&image)?;
    Ok(image)
}

/// The `PT_LOAD` segments of an aarch64 ELF.
pub fn load_segments(elf: &[u8]) -> Result<Vec<Segment<'_>>, ImageError> {
    let not_elf = |error: object::Error| ImageError::NotElf(error.to_string());
    let header = FileHeader64::<Endianness>::parse(elf).map_err(not_elf)?;
    let endian = header.endian().map_err(not_elf)?;
    if endian != Endianness::Little {
        return Err(ImageError::NotElf("big-endian".to_owned()));
    }
    let machine = header.e_machine(endian);
    if machine != elf::EM_AARCH64 {
        return Err(ImageError::WrongMachine(machine));
    }
    header
        .program_headers(endian, elf)
        .map_err(not_elf)?
        .iter()
        .filter(|segment| segment.p_type(endian) == PT_LOAD)
        .map(|segment| {
            let data = segment.data(endian, elf).map_err(|()| {
                ImageError::NotElf("a PT_LOAD segment lies outside the file".to_owned())
            })?;
            Ok(Segment {
                vaddr: segment.p_vaddr(endian),
                data,
            })
        })
        .collect()
}

/// Lays `segments` out from the lowest address to the end of the last file
/// bytes, zero-filling the gaps between them.
pub fn flatten(segments: &[Segment<'_>]) -> Result<Vec<u8>, ImageError> {
    let mut present: Vec<Segment<'_>> = segments
        .iter()
        .copied()
        .filter(|segment| !segment.data.is_empty())
        .collect();
    present.sort_by_key(|segment| segment.vaddr);
    let (first, last) = match (present.first(), present.last()) {
        (Some(first), Some(last)) => (first, last),
        _ => return Err(ImageError::NoLoadSegments),
    };
    let base = first.vaddr;
    let span = end(last) - base;
    if span > MAX_IMAGE_SIZE {
        return Err(ImageError::TooLarge(span));
    }
    for pair in present.windows(2) {
        if end(&pair[0]) > pair[1].vaddr {
            return Err(ImageError::Overlap {
                first: pair[0].vaddr,
                second: pair[1].vaddr,
            });
        }
    }
    // `span` is at most MAX_IMAGE_SIZE, so every offset below fits in usize.
    let mut image = vec![0; to_usize(span)];
    for segment in &present {
        let offset = to_usize(segment.vaddr - base);
        image[offset..offset + segment.data.len()].copy_from_slice(segment.data);
    }
    Ok(image)
}

/// Checks that `image` starts with an arm64 Linux Image header that fits it.
pub fn check_image_header(image: &[u8]) -> Result<(), ImageError> {
    ImageHeader::parse(image)
        .map(drop)
        .map_err(ImageError::Header)
}

/// The address just past a segment's file bytes.
fn end(segment: &Segment<'_>) -> u64 {
    segment.vaddr + segment.data.len() as u64
}

fn to_usize(value: u64) -> usize {
    usize::try_from(value).expect("image offsets are bounded by MAX_IMAGE_SIZE")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_elf::TestElf;

    /// An Image header with the magic and nothing else (size 0: unknown).
    fn header_bytes() -> Vec<u8> {
        let mut bytes = vec![0; arm64_image::HEADER_SIZE];
        bytes[arm64_image::MAGIC_OFFSET..][..4].copy_from_slice(&arm64_image::MAGIC.to_le_bytes());
        bytes
    }

    #[test]
    fn gaps_are_zero_filled() {
        let image = flatten(&[
            Segment {
                vaddr: 0,
                data: &[1, 2],
            },
            Segment {
                vaddr: 4,
                data: &[3],
            },
        ])
        .unwrap();
        assert_eq!(image, [1, 2, 0, 0, 3]);
    }

    #[test]
    fn segments_are_placed_by_address_not_file_order() {
        let image = flatten(&[
            Segment {
                vaddr: 0x13,
                data: &[9],
            },
            Segment {
                vaddr: 0x10,
                data: &[7, 8],
            },
        ])
        .unwrap();
        assert_eq!(image, [7, 8, 0, 9]);
    }

    #[test]
    fn trailing_bss_is_dropped() {
        // A BSS-only segment has no file bytes and adds nothing.
        let image = flatten(&[
            Segment {
                vaddr: 0,
                data: &[1],
            },
            Segment {
                vaddr: 0x1000,
                data: &[],
            },
        ])
        .unwrap();
        assert_eq!(image, [1]);
    }

    #[test]
    fn no_data_is_an_error() {
        assert_eq!(flatten(&[]), Err(ImageError::NoLoadSegments));
        let empty = Segment {
            vaddr: 0,
            data: &[],
        };
        assert_eq!(flatten(&[empty]), Err(ImageError::NoLoadSegments));
    }

    #[test]
    fn overlapping_segments_are_an_error() {
        let segments = [
            Segment {
                vaddr: 0,
                data: &[1, 2, 3],
            },
            Segment {
                vaddr: 2,
                data: &[4],
            },
        ];
        assert_eq!(
            flatten(&segments),
            Err(ImageError::Overlap {
                first: 0,
                second: 2
            })
        );
    }

    #[test]
    fn a_huge_span_is_an_error() {
        let segments = [
            Segment {
                vaddr: 0,
                data: &[1],
            },
            Segment {
                vaddr: 1 << 40,
                data: &[2],
            },
        ];
        assert_eq!(flatten(&segments), Err(ImageError::TooLarge((1 << 40) + 1)));
    }

    #[test]
    fn header_check_wants_the_magic_at_0x38() {
        assert_eq!(check_image_header(&header_bytes()), Ok(()));
        assert_eq!(
            check_image_header(&[0; 0x40]),
            Err(ImageError::Header(arm64_image::ImageError::BadMagic {
                found: 0
            }))
        );
        assert_eq!(
            check_image_header(&[]),
            Err(ImageError::Header(arm64_image::ImageError::TooShort {
                len: 0
            }))
        );
    }

    #[test]
    fn flattens_an_elf_with_text_data_and_bss() {
        let text = header_bytes();
        let elf = TestElf {
            machine: elf::EM_AARCH64,
            segments: vec![
                (PT_LOAD, 0, text.clone(), text.len() as u64),
                // Not loadable: ignored.
                (elf::PT_NOTE, 0x80, vec![0xee; 4], 4),
                // Data with 0x100 bytes of BSS after its two file bytes.
                (PT_LOAD, 0x100, vec![0xaa, 0xbb], 0x102),
            ],
        };
        let image = elf_to_image(&elf.bytes()).unwrap();
        assert_eq!(image.len(), 0x102);
        assert_eq!(&image[..text.len()], text.as_slice());
        assert!(image[text.len()..0x100].iter().all(|&byte| byte == 0));
        assert_eq!(&image[0x100..], &[0xaa, 0xbb]);
    }

    #[test]
    fn rejects_an_elf_without_image_header() {
        let elf = TestElf {
            machine: elf::EM_AARCH64,
            segments: vec![(PT_LOAD, 0, vec![1; 0x40], 0x40)],
        };
        assert!(matches!(
            elf_to_image(&elf.bytes()),
            Err(ImageError::Header(arm64_image::ImageError::BadMagic { .. }))
        ));
    }

    #[test]
    fn rejects_other_machines_and_non_elves() {
        let elf = TestElf {
            machine: elf::EM_X86_64,
            segments: vec![(PT_LOAD, 0, header_bytes(), arm64_image::HEADER_SIZE as u64)],
        };
        assert_eq!(
            elf_to_image(&elf.bytes()),
            Err(ImageError::WrongMachine(elf::EM_X86_64))
        );
        assert!(matches!(
            elf_to_image(b"not an elf"),
            Err(ImageError::NotElf(_))
        ));
    }
}
