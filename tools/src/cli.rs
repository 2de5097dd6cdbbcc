//! The command line of `cargo xtask`.

use std::path::PathBuf;
use std::time::Duration;

use cordon_qemu::Board;

use crate::error::{Error, Result};

/// Printed by `cargo xtask help`.
pub const USAGE: &str = "\
usage: cargo xtask <task> [options]

tasks:
  build [--board B] [--config FILE]
                        build the image of board B (default: every board) into
                        target/cordon/B/cordon.bin; with a partition config
                        (FILE, TOML), check it against the board, place its
                        boot modules and embed it in an image of its own
                        (target/cordon/B/configs/NAME/cordon.bin for
                        FILE NAME.toml); B defaults to the config's board
  image [--board x86-pc] [--config FILE] [--append \"ARGS\"]
                        build the x86-pc board with the partition config FILE
                        (default: boards/x86-pc/configs/mgmt-and-heartbeat.toml)
                        and write its bootable GRUB ISO, with every VM's
                        images (target/cordon/x86-pc/configs/NAME/cordon.iso),
                        cordon started with the command line ARGS
  run [options]         build, then boot the image under QEMU with the serial
                        console on this terminal (Ctrl-A X quits QEMU); on
                        qemu-virt cordon boots three VMs (boards/qemu-virt/
                        configs/three-vms.toml): the Linux management VM, a
                        Linux workload and a heartbeat guest, their consoles
                        on the same serial port (Ctrl-] moves the input)
      --board B         qemu-virt (default), rpi4 (cordon alone without --config),
                        or x86-pc (its ISO under Bochs with VT-x: the Linux
                        management VM and a heartbeat, as `image` makes it)
      --smp N           number of CPUs (qemu-virt: 1 to 8, default 2, or with
                        --config up to the highest CPU it gives out; rpi4: 4;
                        x86-pc: default 2)
      --timeout S       stop QEMU after S seconds (then exit 0)
      --no-el2          qemu-virt only: enter cordon at EL1 instead of EL2
      --append \"ARGS\"   cordon's command line (the DTB's /chosen/bootargs),
                        e.g. \"cordon.log=debug\"
      --guest-append \"ARGS\"
                        add ARGS to the management VM's kernel command line,
                        e.g. \"cordon.check\" (check the VM, then power off)
      --mgmt-only       qemu-virt: the management VM alone (no config) instead
                        of the default three VMs; x86-pc: the Linux management
                        VM (Debian's cloud amd64 kernel) alone (boards/x86-pc/
                        configs/mgmt-only.toml)
      --config FILE     boot the VMs of a partition config
                        (built as by `build --config`), each VM's kernel and
                        initrd loaded where the config places them
  sdcard [--board B] [--config FILE] [--guest-append \"ARGS\"]
                        write an SD card image that U-Boot boots cordon from
                        (target/cordon/B/[configs/NAME/]sdcard/sd.img): a
                        FAT partition with cordon, the config's boot modules
                        and a boot.scr; on rpi4 (the default) also the Pi's
                        firmware, config.txt and U-Boot (see README.md for
                        flashing it) and the config defaults to its
                        mgmt-only; on qemu-virt the config defaults to
                        run's, and U-Boot is QEMU's -bios; ARGS go on the
                        management VM's command line
  test                  install what is missing, run the host unit tests,
                        build every board, the management VM, the test
                        guests and the example partition configs of
                        qemu-virt, and boot them under QEMU
  bench                 boot the management VM without and with cordon, in
                        deterministic virtual time, and compare the time from
                        reset to its /init
  mgmt-image            build the management VM's initramfs (busybox, cordonctl
                        and the VM's other programs, for aarch64) and cordonctl
                        for x86_64; print where they are
  fuzz [--seconds S]    fuzz cordon's decoder of management requests for S
                        seconds (default 60; installs a pinned nightly
                        toolchain and cargo-fuzz if missing)
  help                  print this

boards: qemu-virt, rpi4, x86-pc";

/// A task and its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Task {
    Build {
        board: Option<Board>,
        /// A partition config to check and embed.
        config: Option<PathBuf>,
    },
    /// The x86-pc board's GRUB ISO.
    Image {
        board: Board,
        /// The partition config (default: the board's usual one).
        config: Option<PathBuf>,
        /// cordon's command line.
        append: Option<String>,
    },
    Run(RunOptions),
    SdCard {
        board: Board,
        /// A partition config whose VMs go on the card.
        config: Option<PathBuf>,
        /// Added to the management VM's command line.
        guest_append: Option<String>,
    },
    Test,
    Bench,
    MgmtImage,
    Fuzz {
        time: Duration,
    },
    Help,
}

/// How long `fuzz` runs unless told.
pub const DEFAULT_FUZZ_TIME: Duration = Duration::from_secs(60);

/// Options of `cargo xtask run`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOptions {
    pub board: Board,
    pub cpus: Option<u32>,
    pub timeout: Option<Duration>,
    pub el2: bool,
    pub append: Option<String>,
    /// Added to the management VM's command line (qemu-virt, or a config).
    pub guest_append: Option<String>,
    /// A partition config whose VMs to boot.
    pub config: Option<PathBuf>,
    /// Boot cordon's default partition (the management VM alone) instead
    /// of qemu-virt's default config.
    pub mgmt_only: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            board: Board::QemuVirt,
            cpus: None,
            timeout: None,
            el2: true,
            append: None,
            guest_append: None,
            config: None,
            mgmt_only: false,
        }
    }
}

/// Parses the arguments after `cargo xtask`.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Task> {
    let mut args = Options::new(args);
    let task = match args.next_word().as_deref() {
        None | Some("help" | "--help" | "-h") => Task::Help,
        Some("build") => Task::Build {
            board: args
                .value("--board")?
                .map(|name| board(&name))
                .transpose()?,
            config: args.value("--config")?.map(PathBuf::from),
        },
        Some("image") => Task::Image {
            board: match args.value("--board")? {
                Some(name) => board(&name)?,
                None => Board::X86Pc,
            },
            config: args.value("--config")?.map(PathBuf::from),
            append: args.value("--append")?,
        },
        Some("run") => Task::Run(parse_run(&mut args)?),
        Some("sdcard") => Task::SdCard {
            board: match args.value("--board")? {
                Some(name) => board(&name)?,
                None => Board::Rpi4,
            },
            config: args.value("--config")?.map(PathBuf::from),
            guest_append: args.value("--guest-append")?,
        },
        Some("test") => Task::Test,
        Some("bench") => Task::Bench,
        Some("mgmt-image") => Task::MgmtImage,
        Some("fuzz") => Task::Fuzz {
            time: args
                .value("--seconds")?
                .map(|s| number("--seconds", &s).map(Duration::from_secs))
                .transpose()?
                .unwrap_or(DEFAULT_FUZZ_TIME),
        },
        Some(other) => return Err(Error::Usage(format!("unknown task `{other}`"))),
    };
    args.finish()?;
    Ok(task)
}

fn parse_run(args: &mut Options) -> Result<RunOptions> {
    let defaults = RunOptions::default();
    let options = RunOptions {
        board: match args.value("--board")? {
            Some(name) => board(&name)?,
            None => defaults.board,
        },
        cpus: args
            .value("--smp")?
            .map(|n| number("--smp", &n))
            .transpose()?,
        timeout: args
            .value("--timeout")?
            .map(|s| number("--timeout", &s).map(Duration::from_secs))
            .transpose()?,
        el2: !args.flag("--no-el2"),
        append: args.value("--append")?,
        guest_append: args.value("--guest-append")?,
        config: args.value("--config")?.map(PathBuf::from),
        mgmt_only: args.flag("--mgmt-only"),
    };
    if options.guest_append.is_some() && options.config.is_none() && options.board == Board::Rpi4 {
        return Err(Error::Usage(format!(
            "--guest-append is for the management VM, which {} and {} boot without --config",
            Board::QemuVirt,
            Board::X86Pc
        )));
    }
    Ok(options)
}

fn board(name: &str) -> Result<Board> {
    name.parse()
        .map_err(|error: cordon_qemu::UnknownBoard| Error::Usage(error.to_string()))
}

fn number<T: std::str::FromStr>(option: &str, text: &str) -> Result<T> {
    text.parse()
        .map_err(|_| Error::Usage(format!("{option} wants a whole number, not `{text}`")))
}

/// The remaining arguments, consumed option by option.
struct Options {
    args: Vec<String>,
}

impl Options {
    fn new(args: impl IntoIterator<Item = String>) -> Self {
        Self {
            args: args.into_iter().collect(),
        }
    }

    /// Takes the first argument if it is not an option.
    fn next_word(&mut self) -> Option<String> {
        match self.args.first() {
            Some(first) if !first.starts_with("--") || first == "--help" => {
                Some(self.args.remove(0))
            }
            _ => None,
        }
    }

    /// Takes `--name`; whether it was there.
    fn flag(&mut self, name: &str) -> bool {
        let before = self.args.len();
        self.args.retain(|arg| arg != name);
        self.args.len() != before
    }

    /// Takes `--name VALUE` or `--name=VALUE`.
    fn value(&mut self, name: &str) -> Result<Option<String>> {
        let inline = format!("{name}=");
        let Some(index) = self
            .args
            .iter()
            .position(|arg| arg == name || arg.starts_with(&inline))
        else {
            return Ok(None);
        };
        let arg = self.args.remove(index);
        let value = match arg.strip_prefix(&inline) {
            Some(value) => value.to_owned(),
            None if index < self.args.len() => self.args.remove(index),
            None => return Err(Error::Usage(format!("{name} needs a value"))),
        };
        if self
            .args
            .iter()
            .any(|arg| arg == name || arg.starts_with(&inline))
        {
            return Err(Error::Usage(format!("{name} given twice")));
        }
        Ok(Some(value))
    }

    /// Fails if any argument was not taken.
    fn finish(self) -> Result<()> {
        match self.args.first() {
            None => Ok(()),
            Some(arg) => Err(Error::Usage(format!("unexpected argument `{arg}`"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_words(line: &str) -> Result<Task> {
        parse(line.split_whitespace().map(str::to_owned))
    }

    #[test]
    fn no_task_is_help() {
        assert_eq!(parse_words("").unwrap(), Task::Help);
        assert_eq!(parse_words("--help").unwrap(), Task::Help);
    }

    #[test]
    fn build_takes_an_optional_board() {
        assert_eq!(
            parse_words("build").unwrap(),
            Task::Build {
                board: None,
                config: None
            }
        );
        assert_eq!(
            parse_words("build --board rpi4").unwrap(),
            Task::Build {
                board: Some(Board::Rpi4),
                config: None
            }
        );
        assert!(matches!(
            parse_words("build --board pi5"),
            Err(Error::Usage(_))
        ));
    }

    #[test]
    fn run_defaults_to_virt_at_el2() {
        assert_eq!(
            parse_words("run").unwrap(),
            Task::Run(RunOptions::default())
        );
    }

    #[test]
    fn run_takes_every_option() {
        let task = parse(
            [
                "run",
                "--board=qemu-virt",
                "--smp",
                "2",
                "--timeout",
                "30",
                "--no-el2",
                "--append",
                "cordon.selftest=fault loglevel=debug",
                "--guest-append=cordon.check quiet",
            ]
            .map(str::to_owned),
        )
        .unwrap();
        assert_eq!(
            task,
            Task::Run(RunOptions {
                board: Board::QemuVirt,
                cpus: Some(2),
                timeout: Some(Duration::from_secs(30)),
                el2: false,
                append: Some("cordon.selftest=fault loglevel=debug".to_owned()),
                guest_append: Some("cordon.check quiet".to_owned()),
                config: None,
                mgmt_only: false,
            })
        );
    }

    #[test]
    fn build_and_run_take_a_config() {
        assert_eq!(
            parse_words("build --config a.toml").unwrap(),
            Task::Build {
                board: None,
                config: Some("a.toml".into())
            }
        );
        assert_eq!(
            parse_words("run --config=b.toml --smp 4").unwrap(),
            Task::Run(RunOptions {
                cpus: Some(4),
                config: Some("b.toml".into()),
                ..RunOptions::default()
            })
        );
    }

    #[test]
    fn image_is_x86_pc_with_an_optional_config_and_command_line() {
        assert_eq!(
            parse_words("image").unwrap(),
            Task::Image {
                board: Board::X86Pc,
                config: None,
                append: None
            }
        );
        assert_eq!(
            parse(
                [
                    "image",
                    "--board",
                    "x86-pc",
                    "--config",
                    "p.toml",
                    "--append=cordon.log=debug"
                ]
                .map(str::to_owned)
            )
            .unwrap(),
            Task::Image {
                board: Board::X86Pc,
                config: Some("p.toml".into()),
                append: Some("cordon.log=debug".to_owned())
            }
        );
        assert!(matches!(parse_words("image --smp 2"), Err(Error::Usage(_))));
    }

    #[test]
    fn sdcard_defaults_to_the_pi() {
        assert_eq!(
            parse_words("sdcard").unwrap(),
            Task::SdCard {
                board: Board::Rpi4,
                config: None,
                guest_append: None,
            }
        );
        assert_eq!(
            parse_words("sdcard --board qemu-virt --config c.toml --guest-append cordon.check")
                .unwrap(),
            Task::SdCard {
                board: Board::QemuVirt,
                config: Some("c.toml".into()),
                guest_append: Some("cordon.check".to_owned()),
            }
        );
        assert!(matches!(
            parse_words("sdcard --smp 2"),
            Err(Error::Usage(_))
        ));
    }

    #[test]
    fn bench_takes_no_options() {
        assert_eq!(parse_words("bench").unwrap(), Task::Bench);
        assert!(matches!(
            parse_words("bench --board rpi4"),
            Err(Error::Usage(_))
        ));
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        for line in [
            "frobnicate",
            "run --smp",
            "run --smp four",
            "run --timeout -1",
            "run --smp 1 --smp 2",
            "run --verbose",
            "run --board rpi4 --guest-append quiet",
            "build --config",
            "test extra",
        ] {
            assert!(
                matches!(parse_words(line), Err(Error::Usage(_))),
                "`{line}` should be a usage error"
            );
        }
    }
}
