//! How a [`ModuleRef`] is read: in TOML a path string or a table with
//! `file` and `address`; in binary always the struct.

use alloc::string::String;
use core::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::model::ModuleRef;

/// The struct form, with the same fields as [`ModuleRef`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fields {
    file: String,
    #[serde(default, deserialize_with = "crate::size::deserialize_option")]
    address: Option<u64>,
}

impl From<Fields> for ModuleRef {
    fn from(fields: Fields) -> Self {
        Self {
            file: fields.file,
            address: fields.address,
        }
    }
}

struct PathOrTable;

impl<'de> Visitor<'de> for PathOrTable {
    type Value = ModuleRef;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a file path, or a table with `file` and `address`")
    }

    fn visit_str<E: de::Error>(self, path: &str) -> Result<ModuleRef, E> {
        Ok(ModuleRef {
            file: path.into(),
            address: None,
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ModuleRef, A::Error> {
        Fields::deserialize(de::value::MapAccessDeserializer::new(map)).map(ModuleRef::from)
    }
}

pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<ModuleRef, D::Error> {
    if deserializer.is_human_readable() {
        deserializer.deserialize_any(PathOrTable)
    } else {
        Fields::deserialize(deserializer).map(ModuleRef::from)
    }
}
