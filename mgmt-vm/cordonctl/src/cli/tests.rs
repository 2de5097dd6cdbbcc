use cordon_abi::ResetKind;

use super::{Command, ImageFile, Load, Parsed, UsageError, parse, parse_digest};

fn args(line: &str) -> Result<Parsed, UsageError> {
    parse(line.split_whitespace().map(str::to_owned))
}

fn run(command: Command, json: bool) -> Result<Parsed, UsageError> {
    Ok(Parsed::Run { command, json })
}

const HASH: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

#[test]
fn commands_and_the_json_flag_anywhere() {
    assert_eq!(args("info"), run(Command::Info, false));
    assert_eq!(args("--json list"), run(Command::List, true));
    assert_eq!(args("list --json"), run(Command::List, true));
    assert_eq!(args("log"), run(Command::Log, false));
    assert_eq!(args("start rt"), run(Command::Start("rt".into()), false));
    assert_eq!(
        args("stop rt --json"),
        run(Command::Stop("rt".into()), true)
    );
    assert_eq!(
        args("restart rt"),
        run(Command::Restart("rt".into()), false)
    );
    assert_eq!(
        args("console mgmt"),
        run(Command::Console("mgmt".into()), false)
    );
    assert_eq!(
        args("events"),
        run(Command::Events { follow: false }, false)
    );
    assert_eq!(
        args("events -f"),
        run(Command::Events { follow: true }, false)
    );
    for help in ["help", "-h", "--help", "--json help"] {
        assert_eq!(args(help), Ok(Parsed::Help));
    }
}

#[test]
fn load_options_in_any_order_and_either_form() {
    let expected = Load {
        vm: "rt".into(),
        kernel: ImageFile {
            path: "/tmp/Image".into(),
            sha256: parse_digest(HASH),
        },
        initrd: Some(ImageFile {
            path: "/tmp/initrd".into(),
            sha256: None,
        }),
    };
    let lines = [
        format!("load rt --kernel /tmp/Image --initrd /tmp/initrd --sha256 {HASH}"),
        format!("load --sha256={HASH} --initrd=/tmp/initrd --kernel /tmp/Image rt"),
    ];
    for line in lines {
        assert_eq!(args(&line), run(Command::Load(expected.clone()), false));
    }
    let upper = HASH.to_uppercase();
    let Ok(Parsed::Run {
        command: Command::Load(load),
        ..
    }) = args(&format!("load rt --kernel k --sha256 {upper}"))
    else {
        panic!("did not parse");
    };
    assert_eq!(load.kernel.sha256, parse_digest(HASH));
    assert_eq!(load.initrd, None);
}

#[test]
fn reset_device_reboots_or_powers_off() {
    for kind in ResetKind::ALL {
        assert_eq!(
            args(&format!("reset-device {}", kind.name())),
            run(Command::ResetDevice(kind), false)
        );
    }
    let mistakes = [
        (
            "reset-device",
            UsageError::Missing {
                command: "reset-device",
                what: "reboot or poweroff",
            },
        ),
        (
            "reset-device halt",
            UsageError::UnknownResetKind("halt".into()),
        ),
        (
            "reset-device reboot now",
            UsageError::Extra {
                command: "reset-device",
                argument: "now".into(),
            },
        ),
        (
            "reset-device --force",
            UsageError::UnknownOption {
                command: "reset-device",
                option: "--force".into(),
            },
        ),
    ];
    for (line, error) in mistakes {
        assert_eq!(args(line), Err(error), "{line:?}");
    }
}

#[test]
fn mistakes_are_named() {
    let cases = [
        ("", UsageError::NoCommand),
        ("--json", UsageError::NoCommand),
        (
            "frobnicate",
            UsageError::UnknownCommand("frobnicate".into()),
        ),
        (
            "start",
            UsageError::Missing {
                command: "start",
                what: "the VM's name",
            },
        ),
        (
            "stop a b",
            UsageError::Extra {
                command: "stop",
                argument: "b".into(),
            },
        ),
        (
            "info --verbose",
            UsageError::UnknownOption {
                command: "info",
                option: "--verbose".into(),
            },
        ),
        (
            "events --follow --follow",
            UsageError::Repeated { option: "--follow" },
        ),
        (
            "load rt",
            UsageError::Missing {
                command: "load",
                what: "--kernel",
            },
        ),
        (
            "load --kernel k",
            UsageError::Missing {
                command: "load",
                what: "the VM's name",
            },
        ),
        (
            "load rt --kernel",
            UsageError::MissingValue { option: "--kernel" },
        ),
        (
            "load rt --kernel a --kernel b",
            UsageError::Repeated { option: "--kernel" },
        ),
        (
            "load rt --kernel k --sha256 abc",
            UsageError::BadDigest {
                option: "--sha256",
                value: "abc".into(),
            },
        ),
        (
            "load rt --kernel k --initrd-sha256 00",
            UsageError::BadDigest {
                option: "--initrd-sha256",
                value: "00".into(),
            },
        ),
        (
            "load rt other --kernel k",
            UsageError::Extra {
                command: "load",
                argument: "other".into(),
            },
        ),
    ];
    for (line, error) in cases {
        assert_eq!(args(line), Err(error), "{line}");
    }
    let hash_alone = format!("load rt --kernel k --initrd-sha256 {HASH}");
    assert_eq!(args(&hash_alone), Err(UsageError::HashWithoutImage));
    assert_eq!(
        UsageError::MissingValue { option: "--kernel" }.to_string(),
        "--kernel needs a value"
    );
}

#[test]
fn digests() {
    assert_eq!(parse_digest(HASH).unwrap().to_string(), HASH);
    assert_eq!(parse_digest(&HASH[1..]), None);
    let signed = format!("+{}", &HASH[1..]);
    assert_eq!(parse_digest(&signed), None);
    let not_hex = format!("g{}", &HASH[1..]);
    assert_eq!(parse_digest(&not_hex), None);
}
