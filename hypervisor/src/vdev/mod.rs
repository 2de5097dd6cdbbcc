//! Devices cordon emulates for guests (register models, no hardware access).

pub mod pl011;
