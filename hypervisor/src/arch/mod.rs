//! Architecture support. Pure pieces (image format, page-table layout,
//! syndrome decoding, firmware tables) build everywhere for unit tests; the
//! rest only for the architecture it drives.

pub mod aarch64;
pub mod x86_64;
