//! Carrying out each command with a client, and printing its result.

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::Path;
use std::thread;
use std::time::Duration;

use cordon_abi::{
    Digest, ImageHasher, ImageSlot, MAX_CHUNK_SIZE, Request, ResetKind, Response, RingChunk,
};

use crate::cli::{Command, ImageFile, Load};
use crate::client::{Client, SharedRegion};
use crate::error::Error;
use crate::output::{
    self, ActionReport, EventReport, Format, ImageReport, InfoReport, LoadReport, Report,
    ResetReport, RingReport, VmReport, VmsReport,
};

/// How often `events --follow` looks for new events.
const FOLLOW_INTERVAL: Duration = Duration::from_millis(200);

/// Runs `command` and prints its result to `out`.
pub fn run<R: SharedRegion>(
    client: &mut Client<R>,
    command: &Command,
    format: Format,
    out: &mut dyn Write,
) -> Result<(), Error> {
    match command {
        Command::Info => show(&info(client)?, format, out),
        Command::List => show(&list(client)?, format, out),
        Command::Start(vm) => show(&act(client, Request::Start { vm }, "started")?, format, out),
        Command::Stop(vm) => show(&act(client, Request::Stop { vm }, "stopped")?, format, out),
        Command::Restart(vm) => {
            let restart = Request::Restart { vm };
            show(&act(client, restart, "restarted")?, format, out)
        }
        Command::Console(vm) => show(&read_ring(client, Some(vm))?, format, out),
        Command::Log => show(&read_ring(client, None)?, format, out),
        Command::Events { follow } => events(client, *follow, format, out),
        Command::Load(load) => show(&self::load(client, load)?, format, out),
        Command::ResetDevice(kind) => show(&reset_device(client, *kind)?, format, out),
    }
}

/// Syncs the management VM's file systems, then asks cordon to reboot or
/// power off the machine; cordon answers before it acts.
pub fn reset_device<R: SharedRegion>(
    client: &mut Client<R>,
    kind: ResetKind,
) -> Result<ResetReport, Error> {
    // SAFETY: sync(2) takes no arguments and cannot fail.
    unsafe { libc::sync() };
    client.call(&Request::ResetDevice { kind })?;
    Ok(ResetReport { reset: kind.name() })
}

fn show(report: &impl Report, format: Format, out: &mut dyn Write) -> Result<(), Error> {
    output::print(report, format, out).map_err(stdout)
}

fn stdout(error: std::io::Error) -> Error {
    Error::io("cannot write the output", error)
}

fn unexpected(request: &Request<'_>) -> Error {
    Error::UnexpectedResponse {
        opcode: request.opcode(),
    }
}

pub fn info<R: SharedRegion>(client: &mut Client<R>) -> Result<InfoReport, Error> {
    let header = client.header();
    match client.call(&Request::Info)? {
        Response::Info(info) => Ok(InfoReport::new(&info, &header)),
        _ => Err(unexpected(&Request::Info)),
    }
}

pub fn list<R: SharedRegion>(client: &mut Client<R>) -> Result<VmsReport, Error> {
    match client.call(&Request::ListVms)? {
        Response::Vms(vms) => Ok(VmsReport(
            vms.iter().map(|vm| VmReport::from(&vm)).collect(),
        )),
        _ => Err(unexpected(&Request::ListVms)),
    }
}

fn act<R: SharedRegion>(
    client: &mut Client<R>,
    request: Request<'_>,
    done: &'static str,
) -> Result<ActionReport, Error> {
    client.call(&request)?;
    Ok(ActionReport {
        vm: request.vm().unwrap_or_default().to_owned(),
        done,
    })
}

/// Reads a console (`vm`) or the log (`None`) from the oldest byte cordon
/// has to the end it had when the first answer came.
pub fn read_ring<R: SharedRegion>(
    client: &mut Client<R>,
    vm: Option<&str>,
) -> Result<RingReport, Error> {
    let request = |position| match vm {
        Some(vm) => Request::ReadConsole { vm, position },
        None => Request::ReadLog { position },
    };
    let mut bytes = Vec::new();
    let mut position = 0;
    let mut end_seen = None;
    loop {
        let asked = request(position);
        let chunk: RingChunk<'_> = match client.call(&asked)? {
            Response::Ring(chunk) => chunk,
            _ => return Err(unexpected(&asked)),
        };
        let end = *end_seen.get_or_insert(chunk.end);
        if chunk.start != position {
            // cordon no longer has the bytes from `position`: what was
            // read so far is not contiguous with the rest.
            bytes.clear();
        }
        bytes.extend_from_slice(chunk.bytes);
        position = chunk.next();
        if chunk.bytes.is_empty() || position >= end {
            return Ok(RingReport {
                vm: vm.map(str::to_owned),
                start: position - bytes.len() as u64,
                text: String::from_utf8_lossy(&bytes).into_owned(),
                bytes,
            });
        }
    }
}

fn events<R: SharedRegion>(
    client: &mut Client<R>,
    follow: bool,
    format: Format,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let mut since = 0;
    loop {
        let events = client.events(since)?;
        if events.missed > 0 && format == Format::Human {
            writeln!(out, "({} older events no longer kept)", events.missed).map_err(stdout)?;
        }
        for event in events {
            match event {
                Ok(event) => {
                    since = event.sequence;
                    show(&EventReport::from(&event), format, out)?;
                }
                // Overwritten while read: the next read skips past it.
                Err(cordon_abi::AbiError::EventGone { sequence }) => since = sequence,
                Err(error) => return Err(error.into()),
            }
        }
        if !follow {
            return Ok(());
        }
        out.flush().map_err(stdout)?;
        thread::sleep(FOLLOW_INTERVAL);
    }
}

pub fn load<R: SharedRegion>(client: &mut Client<R>, load: &Load) -> Result<LoadReport, Error> {
    let mut images = vec![load_image(
        client,
        &load.vm,
        ImageSlot::Kernel,
        &load.kernel,
    )?];
    if let Some(initrd) = &load.initrd {
        images.push(load_image(client, &load.vm, ImageSlot::Initrd, initrd)?);
    }
    Ok(LoadReport {
        vm: load.vm.clone(),
        images,
    })
}

fn open(path: &Path) -> Result<(File, u64), Error> {
    let what = || format!("cannot read {}", path.display());
    let file = File::open(path).map_err(|error| Error::io(what(), error))?;
    let size = file
        .metadata()
        .map_err(|error| Error::io(what(), error))?
        .len();
    Ok((file, size))
}

/// The SHA-256 of the file at `path`.
fn hash_file(path: &Path) -> Result<Digest, Error> {
    let (file, _) = open(path)?;
    let mut reader = BufReader::new(file);
    let mut hasher = ImageHasher::new();
    let mut buffer = vec![0; MAX_CHUNK_SIZE];
    loop {
        let read = reader
            .read(&mut buffer)
            .map_err(|error| Error::io(format!("cannot read {}", path.display()), error))?;
        if read == 0 {
            return Ok(hasher.finish());
        }
        hasher.update(&buffer[..read]);
    }
}

fn load_image<R: SharedRegion>(
    client: &mut Client<R>,
    vm: &str,
    image: ImageSlot,
    file: &ImageFile,
) -> Result<ImageReport, Error> {
    let expected = match file.sha256 {
        Some(digest) => digest,
        None => hash_file(&file.path)?,
    };
    let (source, size) = open(&file.path)?;
    let mut source = BufReader::new(source);
    let begin = Request::LoadBegin {
        vm,
        image,
        size,
        sha256: expected,
    };
    client.call(&begin)?;
    let mut chunk = vec![0; MAX_CHUNK_SIZE];
    let mut offset = 0;
    while offset < size {
        let want = (size - offset).min(MAX_CHUNK_SIZE as u64) as usize;
        source
            .read_exact(&mut chunk[..want])
            .map_err(|error| Error::io(format!("cannot read {}", file.path.display()), error))?;
        let request = Request::LoadChunk {
            vm,
            image,
            offset,
            data: &chunk[..want],
        };
        offset += want as u64;
        match client.call(&request)? {
            Response::Loaded { loaded } if loaded == offset => {}
            Response::Loaded { loaded } => {
                return Err(Error::Measurement {
                    image: image.name(),
                    problem: format!("cordon has {loaded} bytes, {offset} were sent"),
                });
            }
            _ => return Err(unexpected(&request)),
        }
    }
    let end = Request::LoadEnd { vm, image };
    let (measured_size, measured) = match client.call(&end)? {
        Response::Measured { size, sha256 } => (size, sha256),
        _ => return Err(unexpected(&end)),
    };
    if measured_size != size || measured != expected {
        return Err(Error::Measurement {
            image: image.name(),
            problem: format!(
                "cordon measured {measured_size} bytes with sha256 {measured}, expected {size} \
                 bytes with sha256 {expected}"
            ),
        });
    }
    Ok(ImageReport {
        image: image.name(),
        path: file.path.display().to_string(),
        size,
        sha256: measured.to_string(),
    })
}

#[cfg(test)]
mod tests;
