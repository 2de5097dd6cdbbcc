//! The Multiple APIC Description Table (ACPI "APIC"): which CPUs the
//! firmware lists, by local APIC ID, and where the local APIC is.

use core::fmt;

use super::acpi::{self, AcpiError, HEADER_LEN, Signature};

/// The MADT's signature.
pub const SIGNATURE: Signature = *b"APIC";
/// After the header: the local APIC's 32-bit physical address, then flags.
const LOCAL_APIC_ADDRESS_OFFSET: usize = HEADER_LEN;
/// Where the variable-length entries start.
const ENTRIES_OFFSET: usize = HEADER_LEN + 8;
/// Every entry starts with its type and its length.
const ENTRY_HEADER_LEN: usize = 2;

/// Entry types cordon reads.
const ENTRY_LOCAL_APIC: u8 = 0;
const ENTRY_LOCAL_APIC_ADDRESS_OVERRIDE: u8 = 5;
const ENTRY_LOCAL_X2APIC: u8 = 9;
/// Lengths of those entries.
const LOCAL_APIC_LEN: usize = 8;
const LOCAL_APIC_ADDRESS_OVERRIDE_LEN: usize = 12;
const LOCAL_X2APIC_LEN: usize = 16;

/// Local APIC flags: the CPU is usable now.
const FLAG_ENABLED: u32 = 1 << 0;

/// What is wrong with a MADT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MadtError {
    /// The table as a whole is unusable.
    Table(AcpiError),
    /// The entry at `offset` is shorter than its type needs, or runs past
    /// the end of the table.
    BadEntry { offset: usize, kind: u8, length: u8 },
}

impl fmt::Display for MadtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Table(error) => error.fmt(f),
            Self::BadEntry {
                offset,
                kind,
                length,
            } => write!(
                f,
                "MADT entry of type {kind} at offset {offset} has a bad length ({length} bytes)"
            ),
        }
    }
}

impl From<AcpiError> for MadtError {
    fn from(error: AcpiError) -> Self {
        Self::Table(error)
    }
}

/// A CPU the MADT lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cpu {
    /// Its local APIC ID: what INIT and SIPI are addressed to.
    pub apic_id: u32,
    /// The ACPI processor UID that names it in other tables.
    pub processor_uid: u32,
    /// Usable now; otherwise (disabled, or only hot-pluggable) cordon
    /// leaves it alone.
    pub enabled: bool,
}

/// A checked MADT.
#[derive(Debug, Clone, Copy)]
pub struct Madt<'a> {
    table: &'a [u8],
}

impl<'a> Madt<'a> {
    /// Checks the table in `bytes` (header, checksum, every entry's length).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, MadtError> {
        let table = acpi::table(bytes, &SIGNATURE)?;
        if table.len() < ENTRIES_OFFSET {
            return Err(AcpiError::Truncated {
                signature: SIGNATURE,
                length: table.len(),
            }
            .into());
        }
        let madt = Self { table };
        let mut offset = ENTRIES_OFFSET;
        while offset < table.len() {
            let entry = madt.entry_at(offset)?;
            offset += entry.len();
        }
        Ok(madt)
    }

    /// The local APIC's physical address (the same for every CPU).
    pub fn local_apic_address(&self) -> u64 {
        let overridden = self.entries().find_map(|(kind, entry)| {
            (kind == ENTRY_LOCAL_APIC_ADDRESS_OVERRIDE).then(|| u64_at(entry, 4))
        });
        overridden.unwrap_or_else(|| u64::from(u32_at(self.table, LOCAL_APIC_ADDRESS_OFFSET)))
    }

    /// The CPUs listed, in table order (the boot CPU is usually first).
    pub fn cpus(&self) -> impl Iterator<Item = Cpu> + '_ {
        self.entries().filter_map(|(kind, entry)| match kind {
            ENTRY_LOCAL_APIC => Some(Cpu {
                processor_uid: u32::from(entry[2]),
                apic_id: u32::from(entry[3]),
                enabled: usable(u32_at(entry, 4)),
            }),
            ENTRY_LOCAL_X2APIC => Some(Cpu {
                apic_id: u32_at(entry, 4),
                enabled: usable(u32_at(entry, 8)),
                processor_uid: u32_at(entry, 12),
            }),
            _ => None,
        })
    }

    /// Each entry's type and bytes (checked by [`Madt::parse`]).
    fn entries(&self) -> impl Iterator<Item = (u8, &'a [u8])> + '_ {
        let mut offset = ENTRIES_OFFSET;
        core::iter::from_fn(move || {
            let entry = self.entry_at(offset).ok()?;
            offset += entry.len();
            Some((entry[0], entry))
        })
    }

    fn entry_at(&self, offset: usize) -> Result<&'a [u8], MadtError> {
        let header = self.table.get(offset..offset + ENTRY_HEADER_LEN);
        let (kind, length) = match header {
            Some(&[kind, length]) => (kind, length),
            _ => {
                return Err(MadtError::BadEntry {
                    offset,
                    kind: self.table.get(offset).copied().unwrap_or_default(),
                    length: 0,
                });
            }
        };
        let needed = match kind {
            ENTRY_LOCAL_APIC => LOCAL_APIC_LEN,
            ENTRY_LOCAL_APIC_ADDRESS_OVERRIDE => LOCAL_APIC_ADDRESS_OVERRIDE_LEN,
            ENTRY_LOCAL_X2APIC => LOCAL_X2APIC_LEN,
            _ => ENTRY_HEADER_LEN,
        };
        let bad = MadtError::BadEntry {
            offset,
            kind,
            length,
        };
        if usize::from(length) < needed {
            return Err(bad);
        }
        self.table
            .get(offset..offset + usize::from(length))
            .ok_or(bad)
    }
}

/// Whether a CPU with these local APIC flags can be started now.
fn usable(flags: u32) -> bool {
    flags & FLAG_ENABLED != 0
}

fn u32_at(bytes: &[u8], offset: usize) -> u32 {
    u32::from_le_bytes(bytes[offset..offset + 4].try_into().unwrap())
}

fn u64_at(bytes: &[u8], offset: usize) -> u64 {
    u64::from_le_bytes(bytes[offset..offset + 8].try_into().unwrap())
}

#[cfg(test)]
mod tests {
    use super::super::acpi::tests::make_table;
    use super::*;

    /// The MADT of a 2-CPU Firecracker VM, read from
    /// /sys/firmware/acpi/tables/APIC: an I/O APIC and two local APICs.
    const CAPTURED: &[u8] = include_bytes!("testdata/madt-firecracker-2cpu.bin");

    #[test]
    fn captured_table_lists_two_cpus() {
        let madt = Madt::parse(CAPTURED).unwrap();
        assert_eq!(madt.local_apic_address(), 0xfee0_0000);
        let cpus: Vec<Cpu> = madt.cpus().collect();
        assert_eq!(
            cpus,
            [
                Cpu {
                    apic_id: 0,
                    processor_uid: 0,
                    enabled: true
                },
                Cpu {
                    apic_id: 1,
                    processor_uid: 1,
                    enabled: true
                }
            ]
        );
    }

    /// A MADT body: local APIC address, flags, then `entries`.
    fn madt(entries: &[&[u8]]) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&0xfee0_0000u32.to_le_bytes());
        body.extend_from_slice(&0u32.to_le_bytes());
        for entry in entries {
            body.extend_from_slice(entry);
        }
        make_table(&SIGNATURE, &body)
    }

    #[test]
    fn x2apic_entries_disabled_cpus_and_address_override() {
        let x2apic: &[u8] = &[9, 16, 0, 0, 0x00, 0x01, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0];
        let disabled: &[u8] = &[0, 8, 3, 5, 0, 0, 0, 0];
        let hotplug: &[u8] = &[0, 8, 4, 6, 2, 0, 0, 0];
        let address: &[u8] = &[5, 12, 0, 0, 0, 0, 0xe0, 0xfe, 1, 0, 0, 0];
        let table = madt(&[x2apic, disabled, hotplug, address]);
        let madt = Madt::parse(&table).unwrap();
        assert_eq!(madt.local_apic_address(), 0x1_fee0_0000);
        let cpus: Vec<(u32, bool)> = madt.cpus().map(|cpu| (cpu.apic_id, cpu.enabled)).collect();
        assert_eq!(cpus, [(0x100, true), (5, false), (6, false)]);
    }

    #[test]
    fn entries_with_bad_lengths_are_refused() {
        let short: &[u8] = &[0, 6, 0, 0, 1, 0];
        assert_eq!(
            Madt::parse(&madt(&[short])).unwrap_err(),
            MadtError::BadEntry {
                offset: ENTRIES_OFFSET,
                kind: 0,
                length: 6
            }
        );
        let overlong: &[u8] = &[0, 40, 0, 0, 1, 0, 0, 0];
        assert!(matches!(
            Madt::parse(&madt(&[overlong])),
            Err(MadtError::BadEntry { length: 40, .. })
        ));
        let zero: &[u8] = &[0x7f, 0];
        assert!(matches!(
            Madt::parse(&madt(&[zero])),
            Err(MadtError::BadEntry { length: 0, .. })
        ));
    }

    #[test]
    fn a_corrupted_capture_is_refused() {
        let mut corrupt = CAPTURED.to_vec();
        corrupt[ENTRIES_OFFSET + 3] ^= 1;
        assert_eq!(
            Madt::parse(&corrupt).unwrap_err(),
            MadtError::Table(AcpiError::BadChecksum {
                signature: SIGNATURE
            })
        );
    }
}
