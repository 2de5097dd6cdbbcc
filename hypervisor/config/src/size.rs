//! Byte counts and addresses as people write them: `"64K"`, `"512M"`,
//! `"1G"`, or a plain integer. Only human-readable formats (TOML) take the
//! strings; the binary form stores plain integers.

use core::fmt;

use serde::Deserializer;
use serde::de::{self, Visitor};

pub const KIB: u64 = 1 << 10;
pub const MIB: u64 = 1 << 20;
pub const GIB: u64 = 1 << 30;

/// The suffixes a size string may end with, and what each multiplies by.
const UNITS: [(char, u64); 3] = [('K', KIB), ('M', MIB), ('G', GIB)];

/// Reads `"512M"`, `"1G"`, `"64K"` or `"4096"` (binary units).
pub fn parse(text: &str) -> Option<u64> {
    let text = text.trim();
    let (digits, multiplier) = match UNITS.iter().find(|(unit, _)| text.ends_with(*unit)) {
        Some(&(_, multiplier)) => (&text[..text.len() - 1], multiplier),
        None => (text, 1),
    };
    let digits = digits.replace('_', "");
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok()?.checked_mul(multiplier)
}

/// A byte count for display: in the largest binary unit that divides it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Bytes(pub u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = UNITS
            .iter()
            .rev()
            .find(|&&(_, multiplier)| self.0 != 0 && self.0.is_multiple_of(multiplier));
        match unit {
            Some(&(unit, multiplier)) => write!(f, "{} {unit}iB", self.0 / multiplier),
            None => write!(f, "{} bytes", self.0),
        }
    }
}

struct SizeVisitor;

impl Visitor<'_> for SizeVisitor {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number of bytes: an integer, or a string such as \"64K\", \"512M\", \"1G\"")
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<u64, E> {
        Ok(value)
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<u64, E> {
        u64::try_from(value).map_err(|_| E::invalid_value(de::Unexpected::Signed(value), &self))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<u64, E> {
        parse(text).ok_or_else(|| E::invalid_value(de::Unexpected::Str(text), &self))
    }
}

/// A size field: an integer or a size string in TOML, an integer in binary.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    if deserializer.is_human_readable() {
        deserializer.deserialize_any(SizeVisitor)
    } else {
        deserializer.deserialize_u64(SizeVisitor)
    }
}

/// An optional size field (absent in TOML: `None`, with `#[serde(default)]`).
pub fn deserialize_option<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u64>, D::Error> {
    struct OptionVisitor;

    impl<'de> Visitor<'de> for OptionVisitor {
        type Value = Option<u64>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            SizeVisitor.expecting(f)
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, inner: D) -> Result<Self::Value, D::Error> {
            deserialize(inner).map(Some)
        }
    }

    deserializer.deserialize_option(OptionVisitor)
}
