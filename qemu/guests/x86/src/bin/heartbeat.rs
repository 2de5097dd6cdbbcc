//! The heartbeat (see `heartbeat.S`).

#![no_std]
#![no_main]

use cordon_guest_x86 as _;

core::arch::global_asm!(include_str!("heartbeat.S"), options(att_syntax));
