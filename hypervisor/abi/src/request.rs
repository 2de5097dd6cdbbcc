//! Requests: what the management VM asks, the client's encoder and
//! cordon's decoder. The decoder trusts nothing in the region: it checks
//! the header, the version, every reserved field, every span against the
//! data area and every name, and never panics.

use core::ops::Range;

use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

use crate::error::{AbiError, Field};
use crate::limits::{ABI_MAJOR, ABI_MINOR, MAX_CHUNK_SIZE};
use crate::region::{
    check_len, check_name, data_area, data_area_mut, next_offset, put, read_args, read_header,
    resolve, unused, view, view_mut, write_args, zeros,
};
use crate::types::{Digest, ImageSlot, Opcode, ResetKind};
use crate::wire::{
    ARGS_SIZE, ImageArgs, LoadBeginArgs, LoadChunkArgs, REQUEST_SLOT_OFFSET, ReadArgs, RequestSlot,
    ResetArgs, Span,
};

/// A request, as the client writes it and cordon reads it back.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Request<'a> {
    /// cordon's version, board, CPUs, memory and uptime.
    Info,
    /// Every VM and its state, counters and measurements.
    ListVms,
    Start {
        vm: &'a str,
    },
    Stop {
        vm: &'a str,
    },
    Restart {
        vm: &'a str,
    },
    /// A VM's console output, from `position` in all it ever wrote.
    ReadConsole {
        vm: &'a str,
        position: u64,
    },
    /// cordon's log, from `position` in all it ever wrote.
    ReadLog {
        position: u64,
    },
    /// Starts loading a `size`-byte image into a stopped VM, which must
    /// hash to `sha256`.
    LoadBegin {
        vm: &'a str,
        image: ImageSlot,
        size: u64,
        sha256: Digest,
    },
    /// The image's bytes at `offset`, which is where the previous chunk
    /// ended.
    LoadChunk {
        vm: &'a str,
        image: ImageSlot,
        offset: u64,
        data: &'a [u8],
    },
    /// Ends the load: cordon compares the image's hash with the expected.
    LoadEnd {
        vm: &'a str,
        image: ImageSlot,
    },
    /// Reboots or powers off the machine; only the management VM may ask.
    ResetDevice {
        kind: ResetKind,
    },
}

impl<'a> Request<'a> {
    /// The VM the request is about, for those about one.
    pub fn vm(&self) -> Option<&'a str> {
        match *self {
            Self::Info | Self::ListVms | Self::ReadLog { .. } | Self::ResetDevice { .. } => None,
            Self::Start { vm }
            | Self::Stop { vm }
            | Self::Restart { vm }
            | Self::ReadConsole { vm, .. }
            | Self::LoadBegin { vm, .. }
            | Self::LoadChunk { vm, .. }
            | Self::LoadEnd { vm, .. } => Some(vm),
        }
    }

    pub fn opcode(&self) -> Opcode {
        match self {
            Self::Info => Opcode::Info,
            Self::ListVms => Opcode::ListVms,
            Self::Start { .. } => Opcode::Start,
            Self::Stop { .. } => Opcode::Stop,
            Self::Restart { .. } => Opcode::Restart,
            Self::ReadConsole { .. } => Opcode::ReadConsole,
            Self::ReadLog { .. } => Opcode::ReadLog,
            Self::LoadBegin { .. } => Opcode::LoadBegin,
            Self::LoadChunk { .. } => Opcode::LoadChunk,
            Self::LoadEnd { .. } => Opcode::LoadEnd,
            Self::ResetDevice { .. } => Opcode::ResetDevice,
        }
    }
}

/// Which request a response answers: its sequence number and opcode as
/// written in the request slot, valid or not.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RequestIds {
    pub sequence: u32,
    pub opcode: u32,
}

/// cordon: the sequence number and opcode of the request in `region`, to
/// answer it even when it does not decode.
pub fn request_ids(region: &[u8]) -> Result<RequestIds, AbiError> {
    check_len(region)?;
    let slot = view::<RequestSlot>(region, REQUEST_SLOT_OFFSET)?;
    Ok(RequestIds {
        sequence: slot.sequence.get(),
        opcode: slot.opcode.get(),
    })
}

/// cordon: decodes the request in `region`, a private copy of the whole
/// shared region (so that the management VM cannot change it while it is
/// checked and used).
pub fn decode_request(region: &[u8]) -> Result<Request<'_>, AbiError> {
    read_header(region)?;
    let slot = view::<RequestSlot>(region, REQUEST_SLOT_OFFSET)?;
    let (major, minor) = (slot.version_major.get(), slot.version_minor.get());
    if major != ABI_MAJOR || minor > ABI_MINOR {
        return Err(AbiError::Version { major, minor });
    }
    if slot.reserved.get() != 0 {
        return Err(AbiError::ReservedNotZero(Field::RequestSlot));
    }
    let opcode =
        Opcode::from_wire(slot.opcode.get()).ok_or(AbiError::UnknownOpcode(slot.opcode.get()))?;
    let parts = Parts {
        slot,
        data: data_area(region),
    };
    parts.decode(opcode)
}

/// The request slot and the data area it points into.
struct Parts<'a> {
    slot: &'a RequestSlot,
    data: &'a [u8],
}

impl<'a> Parts<'a> {
    fn decode(&self, opcode: Opcode) -> Result<Request<'a>, AbiError> {
        Ok(match opcode {
            Opcode::Info => {
                self.fields_only()?;
                Request::Info
            }
            Opcode::ListVms => {
                self.fields_only()?;
                Request::ListVms
            }
            Opcode::Start => Request::Start {
                vm: self.name_only()?,
            },
            Opcode::Stop => Request::Stop {
                vm: self.name_only()?,
            },
            Opcode::Restart => Request::Restart {
                vm: self.name_only()?,
            },
            Opcode::ReadConsole => {
                unused(&self.slot.data, Field::DataSpan)?;
                Request::ReadConsole {
                    vm: self.vm()?,
                    position: self.args::<ReadArgs>()?.position.get(),
                }
            }
            Opcode::ReadLog => {
                unused(&self.slot.name, Field::NameSpan)?;
                unused(&self.slot.data, Field::DataSpan)?;
                Request::ReadLog {
                    position: self.args::<ReadArgs>()?.position.get(),
                }
            }
            Opcode::LoadBegin => {
                unused(&self.slot.data, Field::DataSpan)?;
                let args = self.args::<LoadBeginArgs>()?;
                reserved(args.reserved.get())?;
                let size = args.size.get();
                if size == 0 {
                    return Err(AbiError::EmptyImage);
                }
                Request::LoadBegin {
                    vm: self.vm()?,
                    image: image(args.image.get())?,
                    size,
                    sha256: Digest(args.sha256),
                }
            }
            Opcode::LoadChunk => {
                let args = self.args::<LoadChunkArgs>()?;
                reserved(args.reserved.get())?;
                let (vm, data) = self.vm_and_chunk()?;
                let offset = args.offset.get();
                check_chunk_end(offset, data)?;
                Request::LoadChunk {
                    vm,
                    image: image(args.image.get())?,
                    offset,
                    data,
                }
            }
            Opcode::LoadEnd => {
                unused(&self.slot.data, Field::DataSpan)?;
                let args = self.args::<ImageArgs>()?;
                reserved(args.reserved.get())?;
                Request::LoadEnd {
                    vm: self.vm()?,
                    image: image(args.image.get())?,
                }
            }
            Opcode::ResetDevice => {
                unused(&self.slot.name, Field::NameSpan)?;
                unused(&self.slot.data, Field::DataSpan)?;
                let args = self.args::<ResetArgs>()?;
                reserved(args.reserved.get())?;
                let kind = args.kind.get();
                Request::ResetDevice {
                    kind: ResetKind::from_wire(kind).ok_or(AbiError::UnknownResetKind(kind))?,
                }
            }
        })
    }

    /// An opcode with no name, data or fields.
    fn fields_only(&self) -> Result<(), AbiError> {
        unused(&self.slot.name, Field::NameSpan)?;
        unused(&self.slot.data, Field::DataSpan)?;
        zeros(&self.slot.args, Field::Args)
    }

    /// An opcode with a name and nothing else.
    fn name_only(&self) -> Result<&'a str, AbiError> {
        unused(&self.slot.data, Field::DataSpan)?;
        zeros(&self.slot.args, Field::Args)?;
        self.vm()
    }

    fn args<T>(&self) -> Result<&'a T, AbiError>
    where
        T: FromBytes + KnownLayout + Immutable + Unaligned,
    {
        read_args(&self.slot.args)
    }

    fn bytes(&self, range: Range<usize>) -> &'a [u8] {
        // `resolve` checked the range against the data area.
        self.data.get(range).unwrap_or_default()
    }

    fn vm(&self) -> Result<&'a str, AbiError> {
        let range = resolve(&self.slot.name, Field::NameSpan)?;
        check_name(self.bytes(range))
    }

    fn vm_and_chunk(&self) -> Result<(&'a str, &'a [u8]), AbiError> {
        let names = resolve(&self.slot.name, Field::NameSpan)?;
        let chunk = resolve(&self.slot.data, Field::DataSpan)?;
        if names.start < chunk.end && chunk.start < names.end {
            return Err(AbiError::SpansOverlap);
        }
        let vm = check_name(self.bytes(names))?;
        let data = self.bytes(chunk);
        check_chunk_size(data)?;
        Ok((vm, data))
    }
}

fn reserved(value: u32) -> Result<(), AbiError> {
    if value == 0 {
        Ok(())
    } else {
        Err(AbiError::ReservedNotZero(Field::Args))
    }
}

fn image(value: u32) -> Result<ImageSlot, AbiError> {
    ImageSlot::from_wire(value).ok_or(AbiError::UnknownImage(value))
}

fn check_chunk_size(data: &[u8]) -> Result<(), AbiError> {
    if (1..=MAX_CHUNK_SIZE).contains(&data.len()) {
        Ok(())
    } else {
        Err(AbiError::ChunkSize { len: data.len() })
    }
}

fn check_chunk_end(offset: u64, data: &[u8]) -> Result<(), AbiError> {
    offset
        .checked_add(data.len() as u64)
        .map(|_| ())
        .ok_or(AbiError::ChunkEndOverflows)
}

/// The client: writes `request` with `sequence` into `region` (its copy of
/// the shared region): the request slot and the data area, nothing else.
/// Returns how many bytes of the data area the request uses, from its
/// start. Checks what cordon's decoder checks, so a request it writes does
/// not come back as malformed.
pub fn encode_request(
    region: &mut [u8],
    sequence: u32,
    request: &Request<'_>,
) -> Result<usize, AbiError> {
    check_len(region)?;
    let fields = fields_of(request)?;
    let area = data_area_mut(region);
    let (name, mut used) = match request.vm() {
        Some(vm) => (
            put(area, 0, check_name(vm.as_bytes())?.as_bytes())?,
            vm.len(),
        ),
        None => (Span::default(), 0),
    };
    let data = match request {
        Request::LoadChunk { data: chunk, .. } => {
            let start = next_offset(used);
            used = start + chunk.len();
            put(area, start, chunk)?
        }
        _ => Span::default(),
    };
    let slot = view_mut::<RequestSlot>(region, REQUEST_SLOT_OFFSET)?;
    slot.sequence.set(sequence);
    slot.opcode.set(request.opcode() as u32);
    slot.version_major.set(ABI_MAJOR);
    slot.version_minor.set(ABI_MINOR);
    slot.reserved.set(0);
    slot.name = name;
    slot.data = data;
    slot.args = fields;
    Ok(used)
}

/// The request's per-opcode fields, checked as the decoder checks them.
fn fields_of(request: &Request<'_>) -> Result<[u8; ARGS_SIZE], AbiError> {
    let mut fields = [0; ARGS_SIZE];
    match *request {
        Request::Info
        | Request::ListVms
        | Request::Start { .. }
        | Request::Stop { .. }
        | Request::Restart { .. } => {}
        Request::ReadConsole { position, .. } | Request::ReadLog { position } => {
            let args = ReadArgs {
                position: position.into(),
            };
            write_args(&mut fields, &args);
        }
        Request::LoadBegin {
            image,
            size,
            sha256,
            ..
        } => {
            if size == 0 {
                return Err(AbiError::EmptyImage);
            }
            let args = LoadBeginArgs {
                image: (image as u32).into(),
                reserved: 0.into(),
                size: size.into(),
                sha256: sha256.0,
            };
            write_args(&mut fields, &args);
        }
        Request::LoadChunk {
            image,
            offset,
            data,
            ..
        } => {
            check_chunk_size(data)?;
            check_chunk_end(offset, data)?;
            let args = LoadChunkArgs {
                image: (image as u32).into(),
                reserved: 0.into(),
                offset: offset.into(),
            };
            write_args(&mut fields, &args);
        }
        Request::LoadEnd { image, .. } => {
            let args = ImageArgs {
                image: (image as u32).into(),
                reserved: 0.into(),
            };
            write_args(&mut fields, &args);
        }
        Request::ResetDevice { kind } => {
            let args = ResetArgs {
                kind: (kind as u32).into(),
                reserved: 0.into(),
            };
            write_args(&mut fields, &args);
        }
    }
    Ok(fields)
}
