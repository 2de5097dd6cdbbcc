//! The x86 Linux `bzImage` and its setup header (the kernel's x86 boot
//! protocol, Documentation/arch/x86/boot.rst), checked for what cordon's
//! 64-bit loader needs: protocol 2.12 or later, a 64-bit entry point, a
//! kernel that is loaded high.

use core::fmt;

/// Where the setup header starts in the file (and in `boot_params`).
pub const SETUP_HEADER_OFFSET: usize = 0x1f1;
/// The byte at 0x201 says how far the header reaches past 0x202.
const HEADER_JUMP_OFFSET: usize = 0x201;
const HEADER_END_BASE: usize = 0x202;
/// Fields of the setup header, by file offset.
const SETUP_SECTS: usize = 0x1f1;
const BOOT_FLAG: usize = 0x1fe;
const HEADER_MAGIC: usize = 0x202;
const VERSION: usize = 0x206;
const LOADFLAGS: usize = 0x211;
const INITRD_ADDR_MAX: usize = 0x22c;
const KERNEL_ALIGNMENT: usize = 0x230;
const RELOCATABLE_KERNEL: usize = 0x234;
const XLOADFLAGS: usize = 0x236;
const CMDLINE_SIZE: usize = 0x238;
const PREF_ADDRESS: usize = 0x258;
const INIT_SIZE: usize = 0x260;
/// The last field cordon reads ends here: the file must hold at least this.
const MIN_HEADER_END: usize = INIT_SIZE + 4;

/// The boot sector's signature.
pub const BOOT_FLAG_VALUE: u16 = 0xaa55;
/// "HdrS".
pub const HEADER_MAGIC_VALUE: u32 = 0x5372_6448;
/// Protocol 2.12 added `xloadflags`, which says whether there is a 64-bit
/// entry point.
pub const MIN_VERSION: u16 = 0x020c;
/// `loadflags`: the protected-mode kernel is loaded at 1 MiB or above.
const LOADED_HIGH: u8 = 1 << 0;
/// `xloadflags`: the kernel has the 64-bit entry point (load address + 0x200).
const XLF_KERNEL_64: u16 = 1 << 0;
/// `setup_sects` 0 means 4, for old kernels.
const DEFAULT_SETUP_SECTS: usize = 4;
const SECTOR_SIZE: usize = 512;
/// The 64-bit entry point's offset from where the kernel is loaded.
pub const ENTRY_64_OFFSET: u64 = 0x200;

/// Why a buffer is not a bzImage cordon can boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BzImageError {
    /// Shorter than the setup header cordon reads.
    TooShort { len: usize },
    /// No 0xAA55 at offset 0x1fe.
    BadBootFlag { found: u16 },
    /// No "HdrS" at offset 0x202.
    BadMagic { found: u32 },
    /// Boot protocol older than 2.12.
    ProtocolTooOld { version: u16 },
    /// `loadflags` lacks LOADED_HIGH: a zImage, not a bzImage.
    NotLoadedHigh,
    /// `xloadflags` lacks XLF_KERNEL_64: no 64-bit entry point.
    No64BitEntry,
    /// The setup code claims more sectors than the file has.
    SetupBeyondFile { setup_bytes: usize, len: usize },
    /// The header says it reaches past the file.
    HeaderBeyondFile { header_end: usize, len: usize },
}

impl fmt::Display for BzImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort { len } => write!(
                f,
                "{len} bytes is shorter than a bzImage's setup header ({MIN_HEADER_END} bytes)"
            ),
            Self::BadBootFlag { found } => write!(
                f,
                "no boot flag 0xaa55 at offset {BOOT_FLAG:#x} (found {found:#06x}): not a bzImage"
            ),
            Self::BadMagic { found } => write!(
                f,
                "no \"HdrS\" at offset {HEADER_MAGIC:#x} (found {found:#010x}): not a bzImage"
            ),
            Self::ProtocolTooOld { version } => write!(
                f,
                "boot protocol {}.{:02} is older than 2.12, which cordon needs for the 64-bit entry",
                version >> 8,
                version & 0xff
            ),
            Self::NotLoadedHigh => {
                f.write_str("loadflags lacks LOADED_HIGH: a zImage, not a bzImage")
            }
            Self::No64BitEntry => {
                f.write_str("xloadflags lacks XLF_KERNEL_64: the kernel has no 64-bit entry point")
            }
            Self::SetupBeyondFile { setup_bytes, len } => write!(
                f,
                "the setup code ({setup_bytes} bytes) runs past the end of the file ({len} bytes)"
            ),
            Self::HeaderBeyondFile { header_end, len } => write!(
                f,
                "the setup header ends at {header_end:#x}, past the end of the file ({len} bytes)"
            ),
        }
    }
}

/// A checked bzImage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BzImage<'a> {
    /// The setup header as in the file (from [`SETUP_HEADER_OFFSET`]), for
    /// `boot_params`.
    pub setup_header: &'a [u8],
    /// The protected-mode kernel, to load at [`BzImage::load_address`].
    pub kernel: &'a [u8],
    pub version: u16,
    /// Where the kernel prefers to be loaded (if relocatable, any multiple
    /// of `kernel_alignment` will do).
    pub pref_address: u64,
    pub kernel_alignment: u32,
    pub relocatable: bool,
    /// Bytes the kernel needs from its load address while it decompresses.
    pub init_size: u32,
    /// Highest address the initrd may end at (inclusive).
    pub initrd_addr_max: u32,
    /// Longest command line, without its terminating NUL.
    pub cmdline_size: u32,
}

impl<'a> BzImage<'a> {
    /// Reads and checks the bzImage in `image`.
    pub fn parse(image: &'a [u8]) -> Result<Self, BzImageError> {
        let len = image.len();
        if len < MIN_HEADER_END {
            return Err(BzImageError::TooShort { len });
        }
        let boot_flag = u16_at(image, BOOT_FLAG);
        if boot_flag != BOOT_FLAG_VALUE {
            return Err(BzImageError::BadBootFlag { found: boot_flag });
        }
        let magic = u32_at(image, HEADER_MAGIC);
        if magic != HEADER_MAGIC_VALUE {
            return Err(BzImageError::BadMagic { found: magic });
        }
        let version = u16_at(image, VERSION);
        if version < MIN_VERSION {
            return Err(BzImageError::ProtocolTooOld { version });
        }
        if image[LOADFLAGS] & LOADED_HIGH == 0 {
            return Err(BzImageError::NotLoadedHigh);
        }
        if u16_at(image, XLOADFLAGS) & XLF_KERNEL_64 == 0 {
            return Err(BzImageError::No64BitEntry);
        }
        let header_end = HEADER_END_BASE + usize::from(image[HEADER_JUMP_OFFSET]);
        if header_end > len {
            return Err(BzImageError::HeaderBeyondFile { header_end, len });
        }
        let setup_sects = match usize::from(image[SETUP_SECTS]) {
            0 => DEFAULT_SETUP_SECTS,
            sects => sects,
        };
        // The boot sector, then the setup sectors.
        let setup_bytes = (setup_sects + 1) * SECTOR_SIZE;
        if setup_bytes >= len {
            return Err(BzImageError::SetupBeyondFile { setup_bytes, len });
        }
        Ok(Self {
            setup_header: &image[SETUP_HEADER_OFFSET..header_end],
            kernel: &image[setup_bytes..],
            version,
            pref_address: u64_at(image, PREF_ADDRESS),
            kernel_alignment: u32_at(image, KERNEL_ALIGNMENT),
            relocatable: image[RELOCATABLE_KERNEL] != 0,
            init_size: u32_at(image, INIT_SIZE),
            initrd_addr_max: u32_at(image, INITRD_ADDR_MAX),
            cmdline_size: u32_at(image, CMDLINE_SIZE),
        })
    }

    /// Where to load the kernel: its preferred address.
    pub fn load_address(&self) -> u64 {
        self.pref_address
    }

    /// The 64-bit entry point once loaded at [`BzImage::load_address`].
    pub fn entry_64(&self) -> u64 {
        self.load_address() + ENTRY_64_OFFSET
    }
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Setup sectors of the test image (Debian's 6.1 kernels have 27 or so).
    const SETUP_SECTS_TEST: u8 = 27;
    /// Where a 6.1 kernel prefers to be loaded: 16 MiB.
    const PREF: u64 = 0x100_0000;
    const KERNEL_LEN: usize = 4096;

    /// A bzImage as a 6.1 kernel's header has it (protocol 2.15), with a
    /// small made-up kernel.
    pub(crate) fn bzimage() -> Vec<u8> {
        let setup = (usize::from(SETUP_SECTS_TEST) + 1) * SECTOR_SIZE;
        let mut image = vec![0u8; setup + KERNEL_LEN];
        image[SETUP_SECTS] = SETUP_SECTS_TEST;
        image[BOOT_FLAG..BOOT_FLAG + 2].copy_from_slice(&BOOT_FLAG_VALUE.to_le_bytes());
        // A short jump over the header: the header ends at 0x202 + 0x6a.
        image[0x200] = 0xeb;
        image[HEADER_JUMP_OFFSET] = 0x6a;
        image[HEADER_MAGIC..HEADER_MAGIC + 4].copy_from_slice(&HEADER_MAGIC_VALUE.to_le_bytes());
        image[VERSION..VERSION + 2].copy_from_slice(&0x020fu16.to_le_bytes());
        image[LOADFLAGS] = LOADED_HIGH;
        image[INITRD_ADDR_MAX..INITRD_ADDR_MAX + 4].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
        image[KERNEL_ALIGNMENT..KERNEL_ALIGNMENT + 4].copy_from_slice(&0x20_0000u32.to_le_bytes());
        image[RELOCATABLE_KERNEL] = 1;
        image[XLOADFLAGS..XLOADFLAGS + 2].copy_from_slice(&0x7fu16.to_le_bytes());
        image[CMDLINE_SIZE..CMDLINE_SIZE + 4].copy_from_slice(&2047u32.to_le_bytes());
        image[PREF_ADDRESS..PREF_ADDRESS + 8].copy_from_slice(&PREF.to_le_bytes());
        image[INIT_SIZE..INIT_SIZE + 4].copy_from_slice(&0x200_0000u32.to_le_bytes());
        image[setup] = 0x90;
        image
    }

    #[test]
    fn a_6_1_header_is_read() {
        let bytes = bzimage();
        let image = BzImage::parse(&bytes).unwrap();
        assert_eq!(image.version, 0x020f);
        assert_eq!(image.kernel.len(), KERNEL_LEN);
        assert_eq!(image.kernel[0], 0x90);
        assert_eq!(image.setup_header.len(), 0x202 + 0x6a - 0x1f1);
        assert_eq!(image.setup_header[0], SETUP_SECTS_TEST);
        assert_eq!(image.load_address(), PREF);
        assert_eq!(image.entry_64(), PREF + 0x200);
        assert!(image.relocatable);
        assert_eq!(image.kernel_alignment, 0x20_0000);
        assert_eq!(image.init_size, 0x200_0000);
        assert_eq!(image.initrd_addr_max, 0x7fff_ffff);
        assert_eq!(image.cmdline_size, 2047);
    }

    #[test]
    fn malformed_images_are_refused_with_the_reason() {
        let good = bzimage();
        let broken = |change: &dyn Fn(&mut Vec<u8>)| {
            let mut bytes = good.clone();
            change(&mut bytes);
            BzImage::parse(&bytes).unwrap_err()
        };
        assert_eq!(
            BzImage::parse(&good[..0x200]).unwrap_err(),
            BzImageError::TooShort { len: 0x200 }
        );
        assert_eq!(
            broken(&|image| image[BOOT_FLAG] = 0),
            BzImageError::BadBootFlag { found: 0xaa00 }
        );
        assert_eq!(
            broken(&|image| image[HEADER_MAGIC] = b'X'),
            BzImageError::BadMagic { found: 0x5372_6458 }
        );
        let old = broken(&|image| image[VERSION] = 0x0b);
        assert_eq!(old, BzImageError::ProtocolTooOld { version: 0x020b });
        assert!(old.to_string().contains("2.11"));
        assert_eq!(
            broken(&|image| image[LOADFLAGS] = 0),
            BzImageError::NotLoadedHigh
        );
        assert_eq!(
            broken(&|image| image[XLOADFLAGS] = 0x7e),
            BzImageError::No64BitEntry
        );
        assert_eq!(
            broken(&|image| image[SETUP_SECTS] = 0xff),
            BzImageError::SetupBeyondFile {
                setup_bytes: 256 * 512,
                len: good.len()
            }
        );
        let truncated = &good[..(usize::from(SETUP_SECTS_TEST) + 1) * SECTOR_SIZE];
        assert!(matches!(
            BzImage::parse(truncated),
            Err(BzImageError::SetupBeyondFile { .. })
        ));
    }

    #[test]
    fn setup_sects_zero_means_four() {
        let mut bytes = bzimage();
        bytes[SETUP_SECTS] = 0;
        let image = BzImage::parse(&bytes).unwrap();
        assert_eq!(image.kernel.len(), bytes.len() - 5 * SECTOR_SIZE);
    }

    #[test]
    fn random_bytes_never_panic() {
        // A cheap deterministic generator: the parser must only ever say no.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let good = bzimage();
        for _ in 0..2000 {
            let mut bytes = good.clone();
            let len = (next() as usize) % bytes.len();
            bytes.truncate(len);
            for _ in 0..8 {
                if !bytes.is_empty() {
                    let at = (next() as usize) % bytes.len();
                    bytes[at] = next() as u8;
                }
            }
            let _ = BzImage::parse(&bytes);
        }
    }
}
