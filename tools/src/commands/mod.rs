//! The tasks of `cargo xtask`.

pub mod bench;
pub mod build;
pub mod fuzz;
pub mod image;
pub mod mgmt_image;
pub mod run;
pub mod sdcard;
pub mod test;
