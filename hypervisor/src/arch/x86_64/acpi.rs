//! ACPI system description tables: their common header and checksum, and
//! finding a table by signature through the root table (RSDT or XSDT).

use core::fmt;

/// Length of the header every system description table starts with.
pub const HEADER_LEN: usize = 36;
/// Where the header keeps the table's length (u32).
const LENGTH_OFFSET: usize = 4;
/// A table's signature: four ASCII characters.
pub type Signature = [u8; 4];
/// The root table of ACPI 1.0: 32-bit table addresses.
pub const RSDT: Signature = *b"RSDT";
/// The root table of ACPI 2.0 and later: 64-bit table addresses.
pub const XSDT: Signature = *b"XSDT";
/// Bytes per entry of the RSDT and of the XSDT.
const RSDT_ENTRY_LEN: usize = 4;
const XSDT_ENTRY_LEN: usize = 8;

/// What is wrong with a firmware table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcpiError {
    /// The table's header says `length` bytes, but fewer are there, or
    /// fewer than a header.
    Truncated { signature: Signature, length: usize },
    /// The table's bytes do not sum to zero.
    BadChecksum { signature: Signature },
    /// A table was expected, another found.
    WrongSignature {
        expected: Signature,
        found: Signature,
    },
    /// The root table lists no table with this signature.
    NotFound { signature: Signature },
}

impl fmt::Display for AcpiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { signature, length } => write!(
                f,
                "ACPI table {} is truncated (its header says {length} bytes)",
                Name(signature)
            ),
            Self::BadChecksum { signature } => {
                write!(f, "ACPI table {} has a bad checksum", Name(signature))
            }
            Self::WrongSignature { expected, found } => write!(
                f,
                "expected ACPI table {}, found {}",
                Name(expected),
                Name(found)
            ),
            Self::NotFound { signature } => write!(
                f,
                "the firmware's ACPI root table lists no {} table",
                Name(signature)
            ),
        }
    }
}

/// Shows a signature as text, or as bytes if it is not ASCII.
struct Name<'a>(&'a Signature);

impl fmt::Display for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match core::str::from_utf8(self.0) {
            Ok(text) if self.0.iter().all(u8::is_ascii_graphic) => f.write_str(text),
            _ => write!(f, "{:02x?}", self.0),
        }
    }
}

/// The length a table's header claims, if the header is there.
pub fn claimed_length(bytes: &[u8]) -> Option<usize> {
    let field = bytes.get(LENGTH_OFFSET..LENGTH_OFFSET + 4)?;
    Some(u32::from_le_bytes(field.try_into().ok()?) as usize)
}

/// The signature of the table in `bytes`, if its header is there.
pub fn signature(bytes: &[u8]) -> Option<Signature> {
    bytes.get(..4)?.try_into().ok()
}

/// Checks that `bytes` start with a whole `expected` table with a good
/// checksum; returns just that table.
pub fn table<'a>(bytes: &'a [u8], expected: &Signature) -> Result<&'a [u8], AcpiError> {
    let found = signature(bytes).ok_or(AcpiError::Truncated {
        signature: *expected,
        length: bytes.len(),
    })?;
    if found != *expected {
        return Err(AcpiError::WrongSignature {
            expected: *expected,
            found,
        });
    }
    let truncated = |length| AcpiError::Truncated {
        signature: found,
        length,
    };
    let length = claimed_length(bytes).ok_or(truncated(bytes.len()))?;
    if length < HEADER_LEN {
        return Err(truncated(length));
    }
    let table = bytes.get(..length).ok_or(truncated(length))?;
    if table.iter().fold(0u8, |sum, byte| sum.wrapping_add(*byte)) != 0 {
        return Err(AcpiError::BadChecksum { signature: found });
    }
    Ok(table)
}

/// The physical addresses of the tables a root table (RSDT or XSDT) lists.
pub fn root_entries(root: &[u8]) -> Result<impl Iterator<Item = u64> + '_, AcpiError> {
    let found = signature(root).unwrap_or_default();
    let (root, entry_len) = if found == XSDT {
        (table(root, &XSDT)?, XSDT_ENTRY_LEN)
    } else {
        (table(root, &RSDT)?, RSDT_ENTRY_LEN)
    };
    Ok(root[HEADER_LEN..].chunks_exact(entry_len).map(|entry| {
        let mut address = [0u8; XSDT_ENTRY_LEN];
        address[..entry.len()].copy_from_slice(entry);
        u64::from_le_bytes(address)
    }))
}

/// Finds the table `wanted` among those the root table lists; `read` gives
/// the bytes of the table at a physical address (at least its header, and
/// all of it if the header is right).
pub fn find<'a>(
    root: &[u8],
    wanted: &Signature,
    read: impl Fn(u64) -> &'a [u8],
) -> Result<&'a [u8], AcpiError> {
    for address in root_entries(root)? {
        let bytes = read(address);
        if signature(bytes) == Some(*wanted) {
            return table(bytes, wanted);
        }
    }
    Err(AcpiError::NotFound { signature: *wanted })
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A table with `signature` and `body`, its length and checksum filled in.
    pub fn make_table(signature: &Signature, body: &[u8]) -> Vec<u8> {
        let mut table = vec![0u8; HEADER_LEN];
        table[..4].copy_from_slice(signature);
        table.extend_from_slice(body);
        let length = table.len() as u32;
        table[LENGTH_OFFSET..LENGTH_OFFSET + 4].copy_from_slice(&length.to_le_bytes());
        let sum = table.iter().fold(0u8, |sum, byte| sum.wrapping_add(*byte));
        const CHECKSUM_OFFSET: usize = 9;
        table[CHECKSUM_OFFSET] = 0u8.wrapping_sub(sum);
        table
    }

    #[test]
    fn a_whole_table_with_a_good_checksum_is_accepted() {
        let mut bytes = make_table(b"TEST", &[1, 2, 3]);
        let length = bytes.len();
        bytes.extend_from_slice(&[0xff; 8]);
        assert_eq!(table(&bytes, b"TEST").unwrap().len(), length);
    }

    #[test]
    fn bad_tables_are_refused() {
        let good = make_table(b"TEST", &[1, 2, 3]);
        assert_eq!(
            table(&good, b"APIC"),
            Err(AcpiError::WrongSignature {
                expected: *b"APIC",
                found: *b"TEST"
            })
        );
        assert_eq!(
            table(&good[..good.len() - 1], b"TEST"),
            Err(AcpiError::Truncated {
                signature: *b"TEST",
                length: good.len()
            })
        );
        let mut corrupt = good.clone();
        corrupt[HEADER_LEN] ^= 0x40;
        assert_eq!(
            table(&corrupt, b"TEST"),
            Err(AcpiError::BadChecksum {
                signature: *b"TEST"
            })
        );
        assert!(matches!(
            table(b"TE", b"TEST"),
            Err(AcpiError::Truncated { .. })
        ));
    }

    #[test]
    fn tables_are_found_through_rsdt_and_xsdt() {
        let apic = make_table(b"APIC", &[7]);
        let facp = make_table(b"FACP", &[8]);
        let read = |address: u64| match address {
            0x1000 => facp.as_slice(),
            0x2000 => apic.as_slice(),
            _ => &[][..],
        };
        let rsdt = make_table(&RSDT, &[0x00, 0x10, 0, 0, 0x00, 0x20, 0, 0]);
        assert_eq!(find(&rsdt, b"APIC", read).unwrap(), apic.as_slice());
        let mut xsdt_body = Vec::new();
        for address in [0x1000u64, 0x2000] {
            xsdt_body.extend_from_slice(&address.to_le_bytes());
        }
        let xsdt = make_table(&XSDT, &xsdt_body);
        assert_eq!(find(&xsdt, b"FACP", read).unwrap(), facp.as_slice());
        assert_eq!(
            find(&xsdt, b"HPET", read),
            Err(AcpiError::NotFound {
                signature: *b"HPET"
            })
        );
    }

    #[test]
    fn errors_name_the_table() {
        let error = AcpiError::BadChecksum {
            signature: *b"APIC",
        };
        assert_eq!(error.to_string(), "ACPI table APIC has a bad checksum");
    }
}
