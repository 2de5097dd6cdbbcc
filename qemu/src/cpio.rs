//! A writer of `newc` cpio archives (`cpio -o -H newc`), the format Linux
//! unpacks an initramfs from.
//!
//! Each entry is a 110-byte ASCII header (the magic `070701`, then thirteen
//! 8-digit hexadecimal fields), the NUL-terminated path, and the file data,
//! the path and data each padded to a multiple of four bytes. A `TRAILER!!!`
//! entry ends the archive. Entries carry no timestamps or owners (all zero),
//! so the same inputs always give the same bytes.

/// The magic number of a `newc` header (no checksums).
const MAGIC: &[u8] = b"070701";
/// Headers, paths and data start at multiples of this.
const ALIGN: usize = 4;
/// The name of the entry that ends an archive.
const TRAILER: &str = "TRAILER!!!";

/// File type bits of `st_mode`.
const S_IFDIR: u32 = 0o040_000;
const S_IFREG: u32 = 0o100_000;
const S_IFCHR: u32 = 0o020_000;
/// The permission bits of `st_mode`.
const PERMISSIONS: u32 = 0o7777;

/// A device number, as `major:minor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Device {
    pub major: u32,
    pub minor: u32,
}

/// An archive being written.
#[derive(Debug, Default)]
pub struct Archive {
    bytes: Vec<u8>,
    /// Inode numbers only need to differ between entries: they count from 1.
    last_inode: u32,
}

/// The header fields that differ between entries.
struct Header<'a> {
    path: &'a str,
    mode: u32,
    links: u32,
    size: usize,
    device: Device,
}

impl Archive {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a directory; `path` is relative to the archive root, e.g. `dev`.
    pub fn directory(&mut self, path: &str, permissions: u32) -> &mut Self {
        self.entry(
            Header {
                path,
                mode: S_IFDIR | (permissions & PERMISSIONS),
                links: 2,
                size: 0,
                device: Device { major: 0, minor: 0 },
            },
            &[],
        )
    }

    /// Adds a regular file holding `data`.
    pub fn file(&mut self, path: &str, permissions: u32, data: &[u8]) -> &mut Self {
        self.entry(
            Header {
                path,
                mode: S_IFREG | (permissions & PERMISSIONS),
                links: 1,
                size: data.len(),
                device: Device { major: 0, minor: 0 },
            },
            data,
        )
    }

    /// Adds a character device node.
    pub fn char_device(&mut self, path: &str, permissions: u32, device: Device) -> &mut Self {
        self.entry(
            Header {
                path,
                mode: S_IFCHR | (permissions & PERMISSIONS),
                links: 1,
                size: 0,
                device,
            },
            &[],
        )
    }

    /// Ends the archive and returns its bytes.
    pub fn finish(mut self) -> Vec<u8> {
        self.write(
            0,
            Header {
                path: TRAILER,
                mode: 0,
                links: 1,
                size: 0,
                device: Device { major: 0, minor: 0 },
            },
            &[],
        );
        self.bytes
    }

    fn entry(&mut self, header: Header<'_>, data: &[u8]) -> &mut Self {
        self.last_inode += 1;
        self.write(self.last_inode, header, data)
    }

    fn write(&mut self, inode: u32, header: Header<'_>, data: &[u8]) -> &mut Self {
        let name_size = header.path.len() + 1;
        let fields = [
            inode,
            header.mode,
            0, // uid
            0, // gid
            header.links,
            0, // mtime
            field(header.size, "file size"),
            0, // major of the device holding the file
            0, // minor of the device holding the file
            header.device.major,
            header.device.minor,
            field(name_size, "path length"),
            0, // checksum, unused by `070701`
        ];
        self.bytes.extend_from_slice(MAGIC);
        for value in fields {
            self.bytes
                .extend_from_slice(format!("{value:08x}").as_bytes());
        }
        self.bytes.extend_from_slice(header.path.as_bytes());
        self.bytes.push(0);
        self.pad();
        self.bytes.extend_from_slice(data);
        self.pad();
        self
    }

    fn pad(&mut self) {
        let padded = self.bytes.len().next_multiple_of(ALIGN);
        self.bytes.resize(padded, 0);
    }
}

/// `value` as a 32-bit header field; an initramfs holds nothing near 4 GiB.
fn field(value: usize, what: &str) -> u32 {
    u32::try_from(value).unwrap_or_else(|_| panic!("cpio {what} {value} does not fit 32 bits"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The size of a `newc` header.
    const HEADER_SIZE: usize = 110;

    /// The thirteen header fields of the entry at `offset`.
    fn fields(archive: &[u8], offset: usize) -> Vec<u32> {
        assert_eq!(&archive[offset..offset + MAGIC.len()], MAGIC);
        archive[offset + MAGIC.len()..offset + HEADER_SIZE]
            .chunks(8)
            .map(|hex| u32::from_str_radix(std::str::from_utf8(hex).unwrap(), 16).unwrap())
            .collect()
    }

    #[test]
    fn a_file_entry_is_header_path_and_data_each_padded() {
        let mut archive = Archive::new();
        archive.file("init", 0o755, b"#!/bin/sh\n");
        let bytes = archive.finish();
        let header = fields(&bytes, 0);
        assert_eq!(header.len(), 13);
        assert_eq!(header[1], 0o100_755);
        assert_eq!(header[4], 1);
        assert_eq!(header[6], 10);
        assert_eq!(header[11], 5);
        // 110 header bytes + "init\0" = 115, padded to 116.
        assert_eq!(&bytes[HEADER_SIZE..HEADER_SIZE + 5], b"init\0");
        assert_eq!(bytes[115], 0);
        assert_eq!(&bytes[116..126], b"#!/bin/sh\n");
        // 126 padded to 128, where the trailer starts.
        let trailer = fields(&bytes, 128);
        assert_eq!(trailer[11] as usize, TRAILER.len() + 1);
        assert_eq!(
            &bytes[128 + HEADER_SIZE..128 + HEADER_SIZE + 10],
            b"TRAILER!!!"
        );
        assert_eq!(bytes.len() % ALIGN, 0);
    }

    #[test]
    fn directories_and_devices_have_types_and_numbers() {
        let mut archive = Archive::new();
        archive.directory("dev", 0o755).char_device(
            "dev/console",
            0o600,
            Device { major: 5, minor: 1 },
        );
        let bytes = archive.finish();
        let dir = fields(&bytes, 0);
        assert_eq!(dir[1], 0o040_755);
        assert_eq!(dir[6], 0);
        // 110 + "dev\0" = 114, padded to 116.
        let console = fields(&bytes, 116);
        assert_eq!(
            (dir[0], console[0]),
            (1, 2),
            "entries get distinct inode numbers"
        );
        assert_eq!(console[1], 0o020_600);
        assert_eq!((console[9], console[10]), (5, 1));
    }

    #[test]
    fn the_same_entries_give_the_same_bytes() {
        let build = || {
            let mut archive = Archive::new();
            archive.directory("bin", 0o755).file("bin/x", 0o644, b"x");
            archive.finish()
        };
        assert_eq!(build(), build());
    }

    #[test]
    fn an_empty_archive_is_just_the_trailer() {
        let bytes = Archive::new().finish();
        assert_eq!(fields(&bytes, 0)[0], 0);
        assert_eq!(
            bytes.len(),
            (HEADER_SIZE + TRAILER.len() + 1).next_multiple_of(ALIGN)
        );
    }
}
