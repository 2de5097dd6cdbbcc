//! The probe (see `probe.S`).

#![no_std]
#![no_main]

use cordon_guest_x86 as _;

core::arch::global_asm!(include_str!("probe.S"), options(att_syntax));
