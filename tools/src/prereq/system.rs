//! Changes to the system (package installs, apt sources): carried out when
//! running as root, otherwise printed as `sudo` commands for the user.

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use crate::error::{Error, Result};
use crate::exec;

/// One change to the system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Run a program with these arguments.
    Run(Vec<String>),
    /// Write a file.
    Write { path: PathBuf, contents: String },
}

impl Step {
    /// A [`Step::Run`] from words.
    pub fn run(words: &[&str]) -> Self {
        Step::Run(words.iter().map(|&word| word.to_owned()).collect())
    }
}

/// What `dpkg-query` says of an installed package.
const INSTALLED: &str = "install ok installed";

/// Installs those of the Debian `packages` that are missing, saying they
/// are `what`.
pub fn ensure_packages(what: &str, packages: &[&str]) -> Result<()> {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|package| !is_installed(package))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut install = vec!["apt-get", "install", "-y", "--no-install-recommends"];
    install.extend(&missing);
    carry_out(
        &format!("installing {what} ({})", missing.join(", ")),
        &[Step::run(&["apt-get", "update"]), Step::run(&install)],
    )
}

fn is_installed(package: &str) -> bool {
    exec::probe(Command::new("dpkg-query").args(["-W", "-f=${Status}", package]))
        .is_some_and(|status| status.trim() == INSTALLED)
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    exec::probe(Command::new("id").arg("-u")).is_some_and(|uid| uid.trim() == "0")
}

/// Carries out `steps` (described as `what`) as root, or fails with the
/// commands that would do it.
pub fn carry_out(what: &str, steps: &[Step]) -> Result<()> {
    if !is_root() {
        return Err(Error::NeedsRoot {
            what: what.to_owned(),
            commands: as_sudo_script(steps),
        });
    }
    eprintln!("xtask: {what}");
    for step in steps {
        let started = Instant::now();
        match step {
            Step::Run(words) => {
                let (program, args) = words.split_first().expect("a step names a program");
                exec::run(
                    Command::new(program)
                        .args(args)
                        .env("DEBIAN_FRONTEND", "noninteractive"),
                )?;
            }
            Step::Write { path, contents } => {
                eprintln!("$ write {}", path.display());
                fs::write(path, contents).map_err(|error| {
                    Error::io(format!("cannot write {}", path.display()), error)
                })?;
            }
        }
        eprintln!("  ({:.1} s)", started.elapsed().as_secs_f64());
    }
    Ok(())
}

/// `steps` as shell commands for a user with sudo.
pub fn as_sudo_script(steps: &[Step]) -> String {
    steps
        .iter()
        .map(|step| match step {
            Step::Run(words) => {
                let words: Vec<String> = words
                    .iter()
                    .map(|word| exec::quote(word.as_ref()))
                    .collect();
                format!("sudo {}", words.join(" "))
            }
            Step::Write { path, contents } => format!(
                "sudo tee {} > /dev/null <<'EOF'\n{}EOF",
                exec::quote(path.as_os_str()),
                contents
            ),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sudo_script_runs_and_writes() {
        let steps = [
            Step::Write {
                path: PathBuf::from("/etc/apt/sources.list.d/x.sources"),
                contents: "Types: deb\n".to_owned(),
            },
            Step::run(&["apt-get", "install", "-y", "qemu-system-arm"]),
        ];
        assert_eq!(
            as_sudo_script(&steps),
            "sudo tee /etc/apt/sources.list.d/x.sources > /dev/null <<'EOF'\n\
             Types: deb\n\
             EOF\n\
             sudo apt-get install -y qemu-system-arm"
        );
    }
}
