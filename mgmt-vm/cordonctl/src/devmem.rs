//! The management region and its doorbell mapped from `/dev/mem`, which
//! Linux lets root map where no RAM is: no kernel module is needed.
//!
//! Linux maps such memory uncached (as device memory), which accesses must
//! not straddle: copies go byte by byte and words are read whole and
//! aligned. An exclusive lock on `/dev/mem` keeps two cordonctl from
//! writing requests at once.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::ptr::NonNull;
use std::sync::atomic::{Ordering, fence};

use cordon_abi::{DOORBELL_SIZE, REGION_SIZE};

use crate::client::SharedRegion;
use crate::device_tree::Location;
use crate::error::Error;

pub const DEV_MEM: &str = "/dev/mem";

/// Bytes of the word cordon's sequence numbers and the doorbell have.
const WORD: usize = size_of::<u32>();

/// One `mmap` of physical memory; unmapped when dropped.
struct Mapping {
    base: NonNull<u8>,
    len: usize,
}

impl Mapping {
    fn new(file: &File, physical: u64, len: usize) -> Result<Self, Error> {
        let what = || format!("cannot map {len:#x} bytes at {physical:#x} from {DEV_MEM}");
        let offset = libc::off_t::try_from(physical)
            .map_err(|_| Error::io(what(), std::io::ErrorKind::InvalidInput.into()))?;
        // SAFETY: a new shared mapping chosen by the kernel, of a file we
        // hold open; it aliases no Rust object.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                offset,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(Error::io(what(), std::io::Error::last_os_error()));
        }
        let base = NonNull::new(base.cast::<u8>())
            .ok_or_else(|| Error::io(what(), std::io::ErrorKind::AddrNotAvailable.into()))?;
        Ok(Self { base, len })
    }

    /// The address of `len` bytes at `offset`; panics when they are not
    /// all inside the mapping (a bug in the caller's offsets).
    fn at(&self, offset: usize, len: usize) -> *mut u8 {
        let end = offset.checked_add(len);
        assert!(
            end.is_some_and(|end| end <= self.len),
            "{len} bytes at {offset:#x} are outside the {:#x}-byte mapping",
            self.len
        );
        // SAFETY: `offset` is inside the mapping (checked above).
        unsafe { self.base.as_ptr().add(offset) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly what `new` mapped; nothing refers to it
        // once its owner is dropped.
        unsafe {
            libc::munmap(self.base.as_ptr().cast(), self.len);
        }
    }
}

/// The region and doorbell of a running cordon.
pub struct DevMem {
    region: Mapping,
    doorbell: Mapping,
    /// Holds the lock on `/dev/mem` while the mappings live.
    _file: File,
}

impl DevMem {
    /// Maps the region and doorbell at `location`; waits for any other
    /// cordonctl to finish first.
    pub fn open(location: Location) -> Result<Self, Error> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_SYNC)
            .open(DEV_MEM)
            .map_err(|error| Error::io(format!("cannot open {DEV_MEM} (root needed)"), error))?;
        file.lock()
            .map_err(|error| Error::io(format!("cannot lock {DEV_MEM}"), error))?;
        Ok(Self {
            region: Mapping::new(&file, location.region, REGION_SIZE)?,
            doorbell: Mapping::new(&file, location.doorbell, DOORBELL_SIZE)?,
            _file: file,
        })
    }
}

impl SharedRegion for DevMem {
    fn read(&self, offset: usize, out: &mut [u8]) {
        let source = self.region.at(offset, out.len());
        for (n, byte) in out.iter_mut().enumerate() {
            // SAFETY: `at` checked that all of `out.len()` bytes from
            // `source` are mapped; volatile because cordon writes them.
            *byte = unsafe { source.add(n).read_volatile() };
        }
        fence(Ordering::Acquire);
    }

    fn write(&mut self, offset: usize, bytes: &[u8]) {
        let target = self.region.at(offset, bytes.len());
        for (n, byte) in bytes.iter().enumerate() {
            // SAFETY: `at` checked that all of `bytes.len()` bytes from
            // `target` are mapped; volatile because cordon reads them.
            unsafe { target.add(n).write_volatile(*byte) };
        }
    }

    fn read_word(&self, offset: usize) -> u32 {
        assert!(offset.is_multiple_of(WORD), "unaligned word at {offset:#x}");
        let word = self.region.at(offset, WORD).cast::<u32>();
        // SAFETY: mapped (checked by `at`) and aligned (checked above, the
        // mapping being page-aligned); one access, as cordon writes it.
        let value = unsafe { word.read_volatile() };
        fence(Ordering::Acquire);
        u32::from_le(value)
    }

    fn ring(&mut self, sequence: u32) {
        fence(Ordering::SeqCst);
        let doorbell = self.doorbell.at(0, WORD).cast::<u32>();
        // SAFETY: the doorbell page is mapped and its start aligned; the
        // write traps to cordon, which reads the request.
        unsafe { doorbell.write_volatile(sequence.to_le()) };
    }
}
