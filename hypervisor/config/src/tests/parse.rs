use super::*;
use crate::{ImageKind, MIB, ModuleRef, RestartPolicy, Role};

#[test]
fn reads_every_field() {
    let config = two_vms();
    assert_eq!(config.board, "qemu-virt");
    let [mgmt, rt] = &config.vms[..] else {
        panic!("two VMs: {:?}", config.vms);
    };
    assert_eq!(mgmt.role, Role::Management);
    assert_eq!(mgmt.cpus, [0, 1]);
    assert_eq!(mgmt.memory.size, 512 * MIB);
    assert!(mgmt.memory.identity);
    assert_eq!(mgmt.devices, ["/virtio_mmio@a003e00"]);
    assert_eq!(mgmt.restart, RestartPolicy::Always);
    assert_eq!(mgmt.image.kind, ImageKind::Linux);
    assert_eq!(
        mgmt.image.initrd,
        Some(ModuleRef {
            file: "initramfs.cpio.gz".into(),
            address: None
        })
    );
    assert_eq!(mgmt.image.bootargs, "console=ttyAMA0");
    assert_eq!(rt.image.kind, ImageKind::BareMetal);
    assert!(!rt.console);
    assert_eq!(config.channels[0].vms, ["mgmt", "rt"]);
    assert_eq!(config.channels[0].size, 64 * 1024);
}

#[test]
fn leaves_out_what_has_a_default() {
    let rt = &two_vms().vms[1];
    assert_eq!(rt.restart, RestartPolicy::Never);
    assert!(!rt.trap_wait);
    assert!(!rt.memory.identity);
    assert_eq!(rt.memory.address, None);
    assert_eq!(rt.memory.below, None);
    assert!(rt.devices.is_empty());
    assert_eq!(rt.image.initrd, None);
    assert_eq!(rt.image.bootargs, "");
    assert!(two_vms().vms[0].console, "console defaults to true");
    let no_channels = TWO_VMS.split("[[channel]]").next().unwrap();
    assert!(Config::from_toml(no_channels).unwrap().channels.is_empty());
}

/// `memory` of the first VM written as `memory`.
fn with_memory(memory: &str) -> Result<Config, ConfigError> {
    let text = TWO_VMS.replacen(
        r#"memory = { size = "512M", identity = true }"#,
        &["memory = ", memory].concat(),
        1,
    );
    Config::from_toml(&text)
}

#[test]
fn sizes_take_units_or_integers() {
    for (written, bytes) in [
        (r#""512M""#, 512 * MIB),
        (r#""1G""#, 1 << 30),
        (r#""64K""#, 64 << 10),
        (r#""4096""#, 4096),
        (r#""2_048M""#, 2 << 30),
        ("1048576", MIB),
        ("0x200000", 2 * MIB),
    ] {
        let config = with_memory(&["{ size = ", written, " }"].concat()).unwrap();
        assert_eq!(config.vms[0].memory.size, bytes, "{written}");
    }
}

#[test]
fn addresses_and_limits_take_sizes_too() {
    let config = with_memory(r#"{ size = "64M", address = 0x8000_0000, below = "4G" }"#).unwrap();
    assert_eq!(config.vms[0].memory.address, Some(0x8000_0000));
    assert_eq!(config.vms[0].memory.below, Some(4 << 30));
}

#[test]
fn bad_sizes_are_errors() {
    for written in [
        r#""12X""#,
        r#""M""#,
        r#""-1M""#,
        "-5",
        r#""1.5G""#,
        r#""99999999999G""#,
    ] {
        let error = with_memory(&["{ size = ", written, " }"].concat()).unwrap_err();
        assert!(
            error.to_string().contains("a number of bytes"),
            "{written}: {error}"
        );
    }
}

#[test]
fn unknown_keys_are_errors() {
    for (table, line) in [
        ("board = \"qemu-virt\"", "colour = \"red\""),
        ("name = \"rt\"", "priority = 3"),
        ("kind = \"bare-metal\"", "dtb = \"x.dtb\""),
        ("size = \"64K\"", "latency = 1"),
    ] {
        let text = TWO_VMS.replacen(table, &[table, "\n", line].concat(), 1);
        let error = Config::from_toml(&text).unwrap_err().to_string();
        let key = line.split(' ').next().unwrap();
        assert!(error.contains(key), "{key}: {error}");
    }
    let error = with_memory(r#"{ size = "64M", huge = true }"#).unwrap_err();
    assert!(error.to_string().contains("huge"), "{error}");
}

#[test]
fn unknown_values_are_errors() {
    for (from, to) in [
        (r#"role = "workload""#, r#"role = "guest""#),
        (r#"kind = "bare-metal""#, r#"kind = "elf""#),
        (r#"restart = "always""#, r#"restart = "sometimes""#),
    ] {
        let text = TWO_VMS.replacen(from, to, 1);
        assert!(Config::from_toml(&text).is_err(), "{to}");
    }
    let on_failure = TWO_VMS.replacen(r#""always""#, r#""on-failure""#, 1);
    let config = Config::from_toml(&on_failure).unwrap();
    assert_eq!(config.vms[0].restart, RestartPolicy::OnFailure);
}

#[test]
fn a_module_may_be_a_table_with_its_address() {
    let text = TWO_VMS.replacen(
        r#"kernel = "hostile.bin""#,
        r#"kernel = { file = "hostile.bin", address = 0x6000_0000 }"#,
        1,
    );
    let config = Config::from_toml(&text).unwrap();
    assert_eq!(
        config.vms[1].image.kernel,
        ModuleRef {
            file: "hostile.bin".into(),
            address: Some(0x6000_0000)
        }
    );
    let unknown = TWO_VMS.replacen(
        r#"kernel = "hostile.bin""#,
        r#"kernel = { file = "hostile.bin", sha = "00" }"#,
        1,
    );
    assert!(Config::from_toml(&unknown).is_err());
}

#[test]
fn the_one_valid_config_is_valid() {
    assert_eq!(two_vms().validate(), Ok(()));
}
