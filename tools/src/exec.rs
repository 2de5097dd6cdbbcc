//! Running other programs, with errors that say what was run and why it failed.

use std::env;
use std::ffi::OsStr;
use std::io;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::error::{Error, Result};

/// The command line of `command`, as a shell would take it, after the
/// environment variables it sets.
pub fn display(command: &Command) -> String {
    let variables = command.get_envs().filter_map(|(name, value)| {
        let mut assignment = name.to_owned();
        assignment.push("=");
        assignment.push(value?);
        Some(quote(&assignment))
    });
    variables
        .chain(
            std::iter::once(command.get_program())
                .chain(command.get_args())
                .map(quote),
        )
        .collect::<Vec<_>>()
        .join(" ")
}

/// `word` quoted for a POSIX shell, if it needs quoting.
pub fn quote(word: &OsStr) -> String {
    let word = word.to_string_lossy();
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,+@%".contains(c));
    if plain {
        word.into_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// `cargo`, the one that runs this xtask, in the workspace `root`.
pub fn cargo(root: &Path) -> Command {
    let mut command = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(root);
    command
}

/// Runs `command` with the terminal's stdout and stderr; fails unless it succeeds.
pub fn run(command: &mut Command) -> Result<()> {
    eprintln!("$ {}", display(command));
    let status = command
        .status()
        .map_err(|error| spawn_error(command, error))?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::CommandFailed {
            command: display(command),
            status,
        })
    }
}

/// Runs `command` and returns its stdout; fails unless it succeeds.
pub fn output(command: &mut Command) -> Result<String> {
    let output = capture(command)?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        Err(Error::Prerequisite(format!(
            "`{}` failed ({}): {}",
            display(command),
            output.status,
            stderr.trim()
        )))
    }
}

/// Runs `command` and returns its stdout if it ran and succeeded.
pub fn probe(command: &mut Command) -> Option<String> {
    let output = command.stdin(Stdio::null()).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Runs `command` with captured output, whatever its exit status.
fn capture(command: &mut Command) -> Result<Output> {
    command
        .stdin(Stdio::null())
        .output()
        .map_err(|error| spawn_error(command, error))
}

fn spawn_error(command: &Command, error: io::Error) -> Error {
    let program = command.get_program().to_string_lossy().into_owned();
    if error.kind() == io::ErrorKind::NotFound {
        let hint = missing_program_hint(&program);
        Error::MissingProgram { program, hint }
    } else {
        Error::io(format!("cannot run `{}`", display(command)), error)
    }
}

/// What to do about a missing program.
fn missing_program_hint(program: &str) -> String {
    match program {
        "rustup" | "cargo" => "install rustup (https://rustup.rs); it installs the toolchain \
                               that rust-toolchain.toml names"
            .to_owned(),
        "apt-get" | "apt-cache" | "dpkg" | "dpkg-deb" => {
            "the tasks install their tools with Debian's apt; on other systems, install them \
             by hand (see README.md)"
                .to_owned()
        }
        _ => format!("install the package that provides `{program}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_words_that_need_it() {
        assert_eq!(quote(OsStr::new("-M")), "-M");
        assert_eq!(
            quote(OsStr::new("virt,virtualization=on")),
            "virt,virtualization=on"
        );
        assert_eq!(quote(OsStr::new("a b")), "'a b'");
        assert_eq!(quote(OsStr::new("it's")), r"'it'\''s'");
        assert_eq!(quote(OsStr::new("")), "''");
    }

    #[test]
    fn displays_a_command_line() {
        let mut command = Command::new("apt-get");
        command.args(["install", "-y", "qemu system"]);
        assert_eq!(display(&command), "apt-get install -y 'qemu system'");
        command.env("A", "1 2").env_remove("B");
        assert_eq!(
            display(&command),
            "'A=1 2' apt-get install -y 'qemu system'"
        );
    }
}
