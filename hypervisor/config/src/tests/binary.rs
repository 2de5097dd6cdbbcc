use super::*;
use crate::{BinaryError, FORMAT_VERSION, MAGIC};

fn placed() -> Config {
    let mut config = two_vms();
    for (vm, address) in config.vms.iter_mut().zip([0x6000_0000, 0x6800_0000]) {
        vm.image.kernel.address = Some(address);
    }
    config.vms[0].image.initrd.as_mut().unwrap().address = Some(0x6400_0000);
    config
}

#[test]
fn round_trips() {
    let config = placed();
    let bytes = config.to_bytes();
    assert_eq!(bytes[..4], MAGIC);
    assert_eq!(bytes[4..6], FORMAT_VERSION.to_le_bytes());
    assert_eq!(Config::from_bytes(&bytes), Ok(config));
}

#[test]
fn rejects_another_magic() {
    let mut bytes = placed().to_bytes();
    bytes[0] = b'X';
    let error = Config::from_bytes(&bytes).unwrap_err();
    assert_eq!(
        error,
        ConfigError::Binary(BinaryError::BadMagic { found: *b"XDNC" })
    );
    assert_eq!(
        error.to_string(),
        "binary config: starts with [58, 44, 4e, 43], not \"CDNC\""
    );
}

#[test]
fn rejects_another_version() {
    let mut bytes = placed().to_bytes();
    bytes[4..6].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    assert_eq!(
        Config::from_bytes(&bytes).unwrap_err().to_string(),
        alloc::format!(
            "binary config: format version {}, but this build reads version {FORMAT_VERSION}",
            FORMAT_VERSION + 1
        )
    );
}

#[test]
fn rejects_every_truncation() {
    let bytes = placed().to_bytes();
    for len in 0..bytes.len() {
        assert!(
            matches!(
                Config::from_bytes(&bytes[..len]),
                Err(ConfigError::Binary(_))
            ),
            "{len} bytes"
        );
    }
    assert_eq!(
        Config::from_bytes(&bytes[..3]),
        Err(ConfigError::Binary(BinaryError::Truncated))
    );
}

#[test]
fn rejects_trailing_bytes() {
    let mut bytes = placed().to_bytes();
    bytes.extend_from_slice(&[0, 0]);
    assert_eq!(
        Config::from_bytes(&bytes),
        Err(ConfigError::Binary(BinaryError::TrailingBytes { count: 2 }))
    );
}

/// Every single-byte change and a stream of pseudo-random garbage after a
/// valid header: errors or other configs, never a panic.
#[test]
fn survives_garbage() {
    let bytes = placed().to_bytes();
    for at in 0..bytes.len() {
        for value in [0x00, 0x7f, 0x80, 0xff] {
            let mut changed = bytes.clone();
            changed[at] = value;
            let _ = Config::from_bytes(&changed);
        }
    }
    let mut state: u32 = 0x1234_5678;
    for len in 1..512 {
        let mut garbage = bytes[..6].to_vec();
        garbage.extend((0..len).map(|_| {
            // xorshift32
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state.to_le_bytes()[0]
        }));
        let _ = Config::from_bytes(&garbage);
    }
}
