//! The images a VM starts from, and replacing them while it is stopped
//! (measured launch).
//!
//! A VM starts from its boot modules until the management interface loads
//! another kernel or initrd into it. A loaded image is kept in frames of
//! cordon's own, out of every VM's reach, so it stays pristine for every
//! later (re)start; it replaces the boot module only once its SHA-256 is
//! the one the loader expected and the VM can boot it (the kernel is an
//! arm64 `Image`, everything fits in the VM's RAM).
//!
//! cordon keeps, for each image, what the VM last started from. A loaded
//! image was hashed as it came. A boot module is hashed the first time its
//! hash is asked for (`ListVms`), not before the VM starts: boot modules
//! lie in memory cordon reserved at boot, which no VM can reach and
//! nothing writes, so the hash is the same whenever it is computed, and
//! VMs start without waiting for it.

use alloc::vec::Vec;
use core::fmt;

use cordon_abi::{Digest, ErrorCode, ImageHasher, ImageSlot};
use cordon_guest_loader::GuestMemory;
use cordon_guest_loader::device_tree::set_initrd;
use cordon_guest_loader::linux_boot::{self, BootPlanError, LinuxBootPlan};
use log::{info, warn};

use crate::management::image_load::{ImageLoad, LoadOutcome};
use crate::mm::{FRAME_SIZE, PhysRange};

/// The bytes of an image cordon keeps: a boot module or a loaded image.
fn contents(bytes: PhysRange) -> &'static [u8] {
    // SAFETY: boot modules and loaded images lie in RAM that cordon keeps
    // for them and maps at EL2; nothing writes them while they are stored.
    unsafe { core::slice::from_raw_parts(bytes.start as *const u8, bytes.size() as usize) }
}

/// A boot module: in RAM cordon reserved at boot for good, hashed the first
/// time its hash is asked for.
struct BootModule {
    bytes: PhysRange,
    sha256: Option<Digest>,
}

impl BootModule {
    fn sha256(&mut self) -> Digest {
        let bytes = self.bytes;
        *self.sha256.get_or_insert_with(|| {
            let mut hasher = ImageHasher::new();
            hasher.update(contents(bytes));
            hasher.finish()
        })
    }
}

/// A verified image loaded through the management interface, in frames
/// cordon took for it (given back when it is replaced).
struct LoadedImage {
    /// Its bytes, exactly: the start of `frames`.
    bytes: PhysRange,
    frames: PhysRange,
    /// Hashed as it came.
    sha256: Digest,
}

impl LoadedImage {
    fn release(self) {
        free(self.frames);
    }
}

/// What a VM started an image from.
#[derive(Clone, Copy)]
enum Launched {
    BootModule,
    Loaded(Digest),
}

/// A kernel or initrd of a VM: its boot module, the verified image loaded
/// in its place (if any), and which of them the VM last started from.
struct ImageSlotState {
    boot: BootModule,
    loaded: Option<LoadedImage>,
    launched: Option<Launched>,
}

impl ImageSlotState {
    fn new(boot: PhysRange) -> Self {
        Self {
            boot: BootModule {
                bytes: boot,
                sha256: None,
            },
            loaded: None,
            launched: None,
        }
    }

    /// Where the image the VM's next start uses is.
    fn current(&self) -> PhysRange {
        self.loaded
            .as_ref()
            .map_or(self.boot.bytes, |loaded| loaded.bytes)
    }

    /// The VM starts from the current image.
    fn launch(&mut self) -> Launched {
        let launched = match &self.loaded {
            Some(loaded) => Launched::Loaded(loaded.sha256),
            None => Launched::BootModule,
        };
        self.launched = Some(launched);
        launched
    }

    /// The hash of what the VM last started from (hashing a boot module
    /// the first time).
    fn launched_sha256(&mut self) -> Option<Digest> {
        match self.launched? {
            Launched::Loaded(sha256) => Some(sha256),
            Launched::BootModule => Some(self.boot.sha256()),
        }
    }

    /// Puts `loaded` in place of the current image, giving back the frames
    /// of an image loaded before.
    fn replace(&mut self, loaded: LoadedImage) {
        if let Some(previous) = self.loaded.replace(loaded) {
            previous.release();
        }
    }
}

/// A load in progress and the frames its bytes go to.
struct Staging {
    load: ImageLoad,
    frames: PhysRange,
}

/// The hashes of the images a VM last started from.
#[derive(Clone, Copy, Default)]
pub struct Measurement {
    pub kernel: Option<Digest>,
    pub initrd: Option<Digest>,
}

/// What a VM starts from: its images, where they go, its device tree.
pub struct VmImages {
    kernel: ImageSlotState,
    initrd: Option<ImageSlotState>,
    /// Where kernel, initrd and device tree go in the VM's RAM.
    plan: LinuxBootPlan,
    dtb: Vec<u8>,
    staging: Option<Staging>,
    /// Images whose last load failed its hash check, by [`slot_index`]: the
    /// VM does not start until they are loaded again with success.
    refused: [bool; 2],
    /// An image was loaded since the VM last started.
    pending: bool,
}

/// A VM's start as its log line says it: for each image, its hash if it
/// is known yet, and whether it is the boot module or a loaded image.
pub struct StartRecord {
    kernel: Launched,
    initrd: Option<Launched>,
}

impl VmImages {
    /// The images of a VM built from its boot modules.
    pub fn from_boot_modules(
        kernel: PhysRange,
        initrd: Option<PhysRange>,
        plan: LinuxBootPlan,
        dtb: Vec<u8>,
    ) -> Self {
        Self {
            kernel: ImageSlotState::new(kernel),
            initrd: initrd.map(ImageSlotState::new),
            plan,
            dtb,
            staging: None,
            refused: [false; 2],
            pending: false,
        }
    }

    pub fn plan(&self) -> LinuxBootPlan {
        self.plan
    }

    pub fn dtb(&self) -> &[u8] {
        &self.dtb
    }

    pub fn kernel(&self) -> &'static [u8] {
        contents(self.kernel.current())
    }

    pub fn initrd(&self) -> Option<&'static [u8]> {
        self.initrd.as_ref().map(|slot| contents(slot.current()))
    }

    /// Images were loaded for the next start.
    pub fn pending(&self) -> bool {
        self.pending
    }

    /// The hashes of the images of the VM's last start (hashing boot
    /// modules the first time: this may take a while).
    pub fn last_start(&mut self) -> Measurement {
        Measurement {
            kernel: self.kernel.launched_sha256(),
            initrd: self
                .initrd
                .as_mut()
                .and_then(ImageSlotState::launched_sha256),
        }
    }

    /// Whether the VM may start: no load unfinished (`WrongState`), none
    /// failed its check (`HashMismatch`).
    pub fn check_startable(&self) -> Result<(), ErrorCode> {
        if self.staging.is_some() {
            Err(ErrorCode::WrongState)
        } else if self.refused.contains(&true) {
            Err(ErrorCode::HashMismatch)
        } else {
            Ok(())
        }
    }

    /// The VM starts from its current images: notes which.
    pub fn launch(&mut self) -> StartRecord {
        self.pending = false;
        StartRecord {
            kernel: self.kernel.launch(),
            initrd: self.initrd.as_mut().map(ImageSlotState::launch),
        }
    }

    /// `LoadBegin`: a load of `size` bytes of `image` that must hash to
    /// `expected`, into a VM with `ram`. Drops a load in progress.
    pub fn begin_load(
        &mut self,
        vm: &str,
        ram: GuestMemory,
        image: ImageSlot,
        size: u64,
        expected: Digest,
    ) -> Result<(), ErrorCode> {
        if image == ImageSlot::Initrd && self.initrd.is_none() {
            return Err(ErrorCode::Unsupported);
        }
        if size > ram.size {
            return Err(ErrorCode::TooLarge);
        }
        self.drop_staging();
        let frames = allocate(size.div_ceil(FRAME_SIZE)).ok_or_else(|| {
            warn!(
                "VM {vm}: no free memory to stage a {size}-byte {}",
                image.name()
            );
            ErrorCode::TooLarge
        })?;
        info!(
            "VM {vm}: loading a {size}-byte {} (expected sha256 {expected})",
            image.name()
        );
        self.staging = Some(Staging {
            load: ImageLoad::begin(image, size, expected),
            frames,
        });
        Ok(())
    }

    /// `LoadChunk`: stores `chunk` at `offset` of the image being loaded;
    /// returns the bytes received so far.
    pub fn load_chunk(
        &mut self,
        image: ImageSlot,
        offset: u64,
        chunk: &[u8],
    ) -> Result<u64, ErrorCode> {
        let staging = self.staging.as_mut().ok_or(ErrorCode::WrongState)?;
        let place = staging.load.accept(image, offset, chunk)?;
        // SAFETY: the staging frames are cordon's, mapped at EL2, and hold
        // the whole image: `accept` kept the chunk inside its size.
        unsafe {
            core::ptr::copy_nonoverlapping(
                chunk.as_ptr(),
                (staging.frames.start + place.start) as *mut u8,
                chunk.len(),
            )
        };
        Ok(staging.load.received())
    }

    /// `LoadEnd`: checks the hash of the image loaded and, if it is the
    /// expected one and the VM can boot it, makes it the one the VM starts
    /// from. Returns its size and hash.
    pub fn end_load(
        &mut self,
        vm: &str,
        ram: GuestMemory,
        image: ImageSlot,
    ) -> Result<(u64, Digest), ErrorCode> {
        let staging = self.staging.as_ref().ok_or(ErrorCode::WrongState)?;
        staging.load.check_complete(image)?;
        let Some(Staging { load, frames }) = self.staging.take() else {
            return Err(ErrorCode::WrongState);
        };
        let (size, sha256) = match load.finish() {
            LoadOutcome::Verified { size, sha256 } => (size, sha256),
            LoadOutcome::Mismatch { expected, actual } => {
                free(frames);
                self.refused[slot_index(image)] = true;
                warn!(
                    "VM {vm}: loaded {} refused: sha256 {actual}, expected {expected}; \
                     the VM will not start until it is loaded again",
                    image.name()
                );
                return Err(ErrorCode::HashMismatch);
            }
        };
        // The image fits its frames: `begin_load` took them for its size.
        let loaded = LoadedImage {
            bytes: PhysRange {
                start: frames.start,
                end: frames.start + size,
            },
            frames,
            sha256,
        };
        if let Err(err) = self.replace(image, loaded, ram) {
            warn!("VM {vm}: loaded {} refused: {err}", image.name());
            return Err(err.code());
        }
        info!(
            "VM {vm}: loaded {} verified (sha256 {sha256}); used from its next start",
            image.name()
        );
        Ok((size, sha256))
    }

    /// Makes `loaded` the VM's `image` if the VM can boot with it; gives
    /// back the frames of the image it replaces (or of `loaded`, if not).
    fn replace(
        &mut self,
        image: ImageSlot,
        loaded: LoadedImage,
        ram: GuestMemory,
    ) -> Result<(), ReplaceError> {
        let (kernel, initrd_len) = match image {
            ImageSlot::Kernel => (
                contents(loaded.bytes),
                self.initrd.as_ref().map_or(0, |i| i.current().size()),
            ),
            ImageSlot::Initrd => (contents(self.kernel.current()), loaded.bytes.size()),
        };
        let checked = linux_boot::plan(kernel, initrd_len as usize, self.dtb.len(), ram)
            .map_err(ReplaceError::Plan)
            .and_then(|plan| match plan.initrd {
                Some((start, end)) if plan.initrd != self.plan.initrd => {
                    set_initrd(&mut self.dtb, start..end).map_err(ReplaceError::DeviceTree)?;
                    Ok(plan)
                }
                _ => Ok(plan),
            });
        let slot = match image {
            ImageSlot::Kernel => Some(&mut self.kernel),
            ImageSlot::Initrd => self.initrd.as_mut(),
        };
        let (plan, slot) = match (checked, slot) {
            (Ok(plan), Some(slot)) => (plan, slot),
            (Err(err), _) => {
                loaded.release();
                return Err(err);
            }
            (Ok(_), None) => {
                loaded.release();
                return Err(ReplaceError::NoInitrd);
            }
        };
        slot.replace(loaded);
        self.plan = plan;
        self.refused[slot_index(image)] = false;
        self.pending = true;
        Ok(())
    }

    fn drop_staging(&mut self) {
        if let Some(staging) = self.staging.take() {
            free(staging.frames);
        }
    }
}

impl fmt::Display for StartRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |f: &mut fmt::Formatter<'_>, name: &str, launched: Launched| match launched {
            Launched::Loaded(sha256) => write!(f, "{name} sha256 {sha256} (loaded)"),
            Launched::BootModule => write!(f, "{name} (boot module)"),
        };
        show(f, "kernel", self.kernel)?;
        if let Some(initrd) = self.initrd {
            f.write_str(", ")?;
            show(f, "initrd", initrd)?;
        }
        Ok(())
    }
}

/// Why a verified image cannot replace the VM's.
enum ReplaceError {
    /// The VM could not boot with it.
    Plan(BootPlanError),
    /// Its device tree's initrd could not be moved.
    DeviceTree(cordon_guest_loader::device_tree::InitrdPatchError),
    NoInitrd,
}

impl ReplaceError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Plan(BootPlanError::Image(_)) => ErrorCode::BadImage,
            Self::Plan(_) => ErrorCode::TooLarge,
            Self::DeviceTree(_) | Self::NoInitrd => ErrorCode::Internal,
        }
    }
}

impl fmt::Display for ReplaceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Plan(err) => write!(f, "the VM cannot boot with it: {err}"),
            Self::DeviceTree(err) => write!(f, "its device tree: {err}"),
            Self::NoInitrd => f.write_str("the VM boots without an initrd"),
        }
    }
}

fn slot_index(image: ImageSlot) -> usize {
    match image {
        ImageSlot::Kernel => 0,
        ImageSlot::Initrd => 1,
    }
}

fn allocate(frames: u64) -> Option<PhysRange> {
    crate::boot::FRAMES
        .lock()
        .as_mut()?
        .alloc(usize::try_from(frames).ok()?)
}

fn free(frames: PhysRange) {
    if let Some(allocator) = crate::boot::FRAMES.lock().as_mut() {
        allocator.free(frames);
    }
}
