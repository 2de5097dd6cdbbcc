//! The command line: `cordonctl [--json] COMMAND [ARGS]`.

use std::fmt;
use std::path::PathBuf;

use cordon_abi::{Digest, ResetKind};

pub const USAGE: &str = "\
usage: cordonctl [--json] COMMAND

commands:
  info                      cordon's version, board, CPUs, memory, uptime
  list                      VMs: state, CPUs, memory, restarts, exits, images
  start NAME                start a stopped VM
  stop NAME                 stop a VM
  restart NAME              stop a VM and start it again
  console NAME              what the VM wrote to its console (recent part)
  log                       cordon's log (recent part)
  events [--follow]         VM state changes; --follow waits for more
  load NAME --kernel FILE [--sha256 HEX] [--initrd FILE [--initrd-sha256 HEX]]
                            load images into a stopped VM; cordon checks each
                            against its SHA-256 (computed here if not given)
                            and starts the VM only with images that matched
  reset-device reboot|poweroff
                            reboot or power off the whole machine, every VM
                            with it (file systems are synced first)

--json prints JSON for programs instead of tables.";

/// What the command line asks for.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Parsed {
    /// The usage text.
    Help,
    /// Something of cordon, printed as tables or (`json`) as JSON.
    Run { command: Command, json: bool },
}

#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Command {
    Info,
    List,
    Start(String),
    Stop(String),
    Restart(String),
    Console(String),
    Log,
    Events { follow: bool },
    Load(Load),
    ResetDevice(ResetKind),
}

#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Load {
    pub vm: String,
    pub kernel: ImageFile,
    pub initrd: Option<ImageFile>,
}

/// An image to load and, if the user gave it, the hash it must have.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ImageFile {
    pub path: PathBuf,
    pub sha256: Option<Digest>,
}

#[derive(Clone, PartialEq, Eq, Debug)]
pub enum UsageError {
    NoCommand,
    UnknownCommand(String),
    UnknownOption {
        command: &'static str,
        option: String,
    },
    /// A command's operand is missing (the VM's name).
    Missing {
        command: &'static str,
        what: &'static str,
    },
    MissingValue {
        option: &'static str,
    },
    Extra {
        command: &'static str,
        argument: String,
    },
    Repeated {
        option: &'static str,
    },
    BadDigest {
        option: &'static str,
        value: String,
    },
    /// `--initrd-sha256` without `--initrd`.
    HashWithoutImage,
    /// `reset-device` of something else than `reboot` or `poweroff`.
    UnknownResetKind(String),
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoCommand => f.write_str("no command given"),
            Self::UnknownCommand(command) => write!(f, "unknown command \"{command}\""),
            Self::UnknownOption { command, option } => {
                write!(f, "{command}: unknown option \"{option}\"")
            }
            Self::Missing { command, what } => write!(f, "{command}: {what} missing"),
            Self::MissingValue { option } => write!(f, "{option} needs a value"),
            Self::Extra { command, argument } => {
                write!(f, "{command}: unexpected argument \"{argument}\"")
            }
            Self::Repeated { option } => write!(f, "{option} given twice"),
            Self::BadDigest { option, value } => write!(
                f,
                "{option}: \"{value}\" is not a SHA-256 (64 hexadecimal digits)"
            ),
            Self::HashWithoutImage => f.write_str("load: --initrd-sha256 without --initrd"),
            Self::UnknownResetKind(kind) => write!(
                f,
                "reset-device: \"{kind}\" is neither \"reboot\" nor \"poweroff\""
            ),
        }
    }
}

impl std::error::Error for UsageError {}

const JSON: &str = "--json";

/// Reads the arguments after the program's name.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Parsed, UsageError> {
    let (flags, words): (Vec<String>, Vec<String>) = args.into_iter().partition(|a| a == JSON);
    let json = !flags.is_empty();
    let mut words = words.into_iter();
    let Some(name) = words.next() else {
        return Err(UsageError::NoCommand);
    };
    let rest: Vec<String> = words.collect();
    let command = match name.as_str() {
        "help" | "-h" | "--help" => return Ok(Parsed::Help),
        "info" => nothing_more("info", rest, Command::Info)?,
        "list" => nothing_more("list", rest, Command::List)?,
        "log" => nothing_more("log", rest, Command::Log)?,
        "start" => Command::Start(vm_name("start", rest)?),
        "stop" => Command::Stop(vm_name("stop", rest)?),
        "restart" => Command::Restart(vm_name("restart", rest)?),
        "console" => Command::Console(vm_name("console", rest)?),
        "events" => events(rest)?,
        "load" => Command::Load(load(rest)?),
        "reset-device" => Command::ResetDevice(reset_kind(rest)?),
        _ => return Err(UsageError::UnknownCommand(name)),
    };
    Ok(Parsed::Run { command, json })
}

fn nothing_more(
    command: &'static str,
    rest: Vec<String>,
    parsed: Command,
) -> Result<Command, UsageError> {
    match rest.into_iter().next() {
        None => Ok(parsed),
        Some(argument) => Err(extra(command, argument)),
    }
}

fn extra(command: &'static str, argument: String) -> UsageError {
    if argument.starts_with('-') {
        UsageError::UnknownOption {
            command,
            option: argument,
        }
    } else {
        UsageError::Extra { command, argument }
    }
}

fn vm_name(command: &'static str, rest: Vec<String>) -> Result<String, UsageError> {
    let mut rest = rest.into_iter();
    let name = match rest.next() {
        Some(name) if !name.starts_with('-') => name,
        Some(option) => return Err(extra(command, option)),
        None => {
            return Err(UsageError::Missing {
                command,
                what: "the VM's name",
            });
        }
    };
    match rest.next() {
        None => Ok(name),
        Some(argument) => Err(extra(command, argument)),
    }
}

fn events(rest: Vec<String>) -> Result<Command, UsageError> {
    let mut follow = false;
    for argument in rest {
        match argument.as_str() {
            "--follow" | "-f" if !follow => follow = true,
            "--follow" | "-f" => return Err(UsageError::Repeated { option: "--follow" }),
            _ => return Err(extra("events", argument)),
        }
    }
    Ok(Command::Events { follow })
}

fn reset_kind(rest: Vec<String>) -> Result<ResetKind, UsageError> {
    let mut rest = rest.into_iter();
    let kind = match rest.next() {
        Some(word) if !word.starts_with('-') => ResetKind::ALL
            .into_iter()
            .find(|kind| kind.name() == word)
            .ok_or(UsageError::UnknownResetKind(word))?,
        Some(option) => return Err(extra("reset-device", option)),
        None => {
            return Err(UsageError::Missing {
                command: "reset-device",
                what: "reboot or poweroff",
            });
        }
    };
    match rest.next() {
        None => Ok(kind),
        Some(argument) => Err(extra("reset-device", argument)),
    }
}

/// The options `load` takes a value for.
const LOAD_OPTIONS: [&str; 4] = ["--kernel", "--initrd", "--sha256", "--initrd-sha256"];

fn load(rest: Vec<String>) -> Result<Load, UsageError> {
    let mut vm = None;
    let mut values: [Option<String>; LOAD_OPTIONS.len()] = Default::default();
    let mut rest = rest.into_iter();
    while let Some(argument) = rest.next() {
        let (option, inline) = match argument.split_once('=') {
            Some((option, value)) => (option.to_owned(), Some(value.to_owned())),
            None => (argument.clone(), None),
        };
        let Some(index) = LOAD_OPTIONS.iter().position(|known| *known == option) else {
            if argument.starts_with('-') || vm.is_some() {
                return Err(extra("load", argument));
            }
            vm = Some(argument);
            continue;
        };
        let name = LOAD_OPTIONS[index];
        let value = inline
            .or_else(|| rest.next())
            .ok_or(UsageError::MissingValue { option: name })?;
        if values[index].replace(value).is_some() {
            return Err(UsageError::Repeated { option: name });
        }
    }
    let [kernel, initrd, sha256, initrd_sha256] = values;
    let vm = vm.ok_or(UsageError::Missing {
        command: "load",
        what: "the VM's name",
    })?;
    let kernel = kernel.ok_or(UsageError::Missing {
        command: "load",
        what: "--kernel",
    })?;
    let digest = |option: &'static str, value: Option<String>| {
        value
            .map(|value| parse_digest(&value).ok_or(UsageError::BadDigest { option, value }))
            .transpose()
    };
    let kernel = ImageFile {
        path: kernel.into(),
        sha256: digest("--sha256", sha256)?,
    };
    let initrd_sha256 = digest("--initrd-sha256", initrd_sha256)?;
    let initrd = match (initrd, initrd_sha256) {
        (Some(path), sha256) => Some(ImageFile {
            path: path.into(),
            sha256,
        }),
        (None, Some(_)) => return Err(UsageError::HashWithoutImage),
        (None, None) => None,
    };
    Ok(Load { vm, kernel, initrd })
}

/// 64 hexadecimal digits, either case.
pub fn parse_digest(text: &str) -> Option<Digest> {
    const HEX_DIGITS: usize = 2 * 32;
    if text.len() != HEX_DIGITS || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut digest = [0; 32];
    for (byte, pair) in digest.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(Digest(digest))
}

#[cfg(test)]
mod tests;
