//! The arm64 Linux `Image` header (Documentation/arch/arm64/booting.rst).
//!
//! Guest kernels are checked with [`ImageHeader::parse`]. cordon's own binary
//! carries the same header (emitted by the hypervisor's `entry.S` from the
//! constants below) so that QEMU `-kernel` and U-Boot `booti` load it like a
//! Linux kernel.

/// Size of the header at the start of the image.
pub const HEADER_SIZE: usize = 64;
/// "ARM\x64", little-endian, at [`MAGIC_OFFSET`].
pub const MAGIC: u32 = 0x644d_5241;
pub const MAGIC_OFFSET: usize = 0x38;
pub(crate) const TEXT_OFFSET_OFFSET: usize = 0x08;
pub(crate) const IMAGE_SIZE_OFFSET: usize = 0x10;
pub(crate) const FLAGS_OFFSET: usize = 0x18;

/// Offset from a 2 MiB-aligned base at which the image wants to be loaded.
pub const TEXT_OFFSET: u64 = 0;

/// Bit 0: kernel endianness (0 = little-endian).
pub const FLAG_BIG_ENDIAN: u64 = 1 << 0;
/// Bits 1-2: page size; 1 = 4 KiB.
pub const FLAG_PAGE_SIZE_4K: u64 = 1 << 1;
const FLAG_PAGE_SIZE_MASK: u64 = 0b11 << 1;
/// Bit 3: the image may be placed anywhere in physical memory (2 MiB-aligned).
pub const FLAG_PLACE_ANYWHERE: u64 = 1 << 3;

/// The flags cordon's own image carries.
pub const CORDON_FLAGS: u64 = FLAG_PAGE_SIZE_4K | FLAG_PLACE_ANYWHERE;

/// Alignment of the base address the image is loaded at.
pub const LOAD_ALIGN: u64 = 2 << 20;

/// What the header of an image says.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ImageHeader {
    pub text_offset: u64,
    /// Bytes the image occupies once loaded, including its zeroed data.
    pub image_size: u64,
    pub flags: u64,
}

/// Why a buffer is not a usable arm64 `Image`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ImageError {
    /// Shorter than the 64-byte header.
    TooShort { len: usize },
    /// No "ARM\x64" magic at offset 0x38.
    BadMagic { found: u32 },
    /// The image is big-endian; only little-endian images run.
    BigEndian,
    /// `image_size` is smaller than the file itself.
    SizeSmallerThanFile { image_size: u64, file_len: usize },
}

impl core::fmt::Display for ImageError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::TooShort { len } => {
                write!(
                    f,
                    "{len} bytes is shorter than the {HEADER_SIZE}-byte arm64 Image header"
                )
            }
            Self::BadMagic { found } => write!(
                f,
                "no arm64 Image magic \"ARM\\x64\" at offset {MAGIC_OFFSET:#x} (found {found:#010x})"
            ),
            Self::BigEndian => write!(f, "big-endian arm64 Image; only little-endian is supported"),
            Self::SizeSmallerThanFile {
                image_size,
                file_len,
            } => write!(
                f,
                "header image_size {image_size:#x} is smaller than the file ({file_len:#x} bytes)"
            ),
        }
    }
}

fn le_u64(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

fn le_u32(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(word)
}

impl ImageHeader {
    /// Reads and checks the header at the start of `image`.
    pub fn parse(image: &[u8]) -> Result<Self, ImageError> {
        if image.len() < HEADER_SIZE {
            return Err(ImageError::TooShort { len: image.len() });
        }
        let magic = le_u32(image, MAGIC_OFFSET);
        if magic != MAGIC {
            return Err(ImageError::BadMagic { found: magic });
        }
        let header = Self {
            text_offset: le_u64(image, TEXT_OFFSET_OFFSET),
            image_size: le_u64(image, IMAGE_SIZE_OFFSET),
            flags: le_u64(image, FLAGS_OFFSET),
        };
        if header.flags & FLAG_BIG_ENDIAN != 0 {
            return Err(ImageError::BigEndian);
        }
        // image_size 0 means "unknown" (kernels before 3.17).
        if header.image_size != 0 && header.image_size < image.len() as u64 {
            return Err(ImageError::SizeSmallerThanFile {
                image_size: header.image_size,
                file_len: image.len(),
            });
        }
        Ok(header)
    }

    /// Page size the image was built for, if the header says.
    pub fn page_size(&self) -> Option<u64> {
        match (self.flags & FLAG_PAGE_SIZE_MASK) >> 1 {
            1 => Some(4 << 10),
            2 => Some(16 << 10),
            3 => Some(64 << 10),
            _ => None,
        }
    }

    pub fn place_anywhere(&self) -> bool {
        self.flags & FLAG_PLACE_ANYWHERE != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header_bytes(image_size: u64, flags: u64) -> Vec<u8> {
        let mut bytes = vec![0u8; HEADER_SIZE];
        bytes[TEXT_OFFSET_OFFSET..][..8].copy_from_slice(&TEXT_OFFSET.to_le_bytes());
        bytes[IMAGE_SIZE_OFFSET..][..8].copy_from_slice(&image_size.to_le_bytes());
        bytes[FLAGS_OFFSET..][..8].copy_from_slice(&flags.to_le_bytes());
        bytes[MAGIC_OFFSET..][..4].copy_from_slice(&MAGIC.to_le_bytes());
        bytes
    }

    #[test]
    fn magic_spells_arm64() {
        assert_eq!(&MAGIC.to_le_bytes(), b"ARM\x64");
    }

    #[test]
    fn parses_cordon_header() {
        let header = ImageHeader::parse(&header_bytes(0x20_0000, CORDON_FLAGS)).unwrap();
        assert_eq!(header.image_size, 0x20_0000);
        assert_eq!(header.page_size(), Some(4096));
        assert!(header.place_anywhere());
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(
            ImageHeader::parse(&[0; 10]),
            Err(ImageError::TooShort { len: 10 })
        );
        let mut bytes = header_bytes(0x1000, CORDON_FLAGS);
        bytes[MAGIC_OFFSET] = b'X';
        assert!(matches!(
            ImageHeader::parse(&bytes),
            Err(ImageError::BadMagic { .. })
        ));
        let bytes = header_bytes(0x1000, CORDON_FLAGS | FLAG_BIG_ENDIAN);
        assert_eq!(ImageHeader::parse(&bytes), Err(ImageError::BigEndian));
        let bytes = header_bytes(0x10, CORDON_FLAGS);
        assert!(matches!(
            ImageHeader::parse(&bytes),
            Err(ImageError::SizeSmallerThanFile { .. })
        ));
    }
}
