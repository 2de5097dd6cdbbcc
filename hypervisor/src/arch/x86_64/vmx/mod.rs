//! Intel VT-x (VMX). Pure, host-testable: [`feature`] (whether this CPU
//! can enter VMX operation, and why not), [`controls`] (control words
//! adjusted to the capability MSRs), [`ept`] (extended page tables),
//! [`exit_reason`] (why a VM exited), [`cpuid`] (what guests see),
//! [`hypercall`] (cordon's VMCALLs), [`io`] and [`msr`] (the I/O and MSR
//! bitmaps), [`msr_emulation`] (the MSRs cordon answers itself),
//! [`entry_state`] (the registers a guest starts with: real or 64-bit mode),
//! [`cr_access`] (control-register exits) and [`fields`] (VMCS field
//! encodings).
//! On the CPU: [`operation`] (VMXON), [`vcpu`] (the VMCS, entering the
//! guest), [`exits`] (every VM exit's handling, in one place), [`frames`]
//! (memory for all that) and [`selftest`] (two tiny guests).

pub mod controls;
pub mod cpuid;
pub mod cr_access;
pub mod entry_state;
pub mod ept;
pub mod exit_reason;
pub mod feature;
pub mod fields;
pub mod hypercall;
pub mod io;
pub mod msr;
pub mod msr_emulation;

#[cfg(all(target_arch = "x86_64", target_os = "none"))]
pub mod exits;
#[cfg(all(target_arch = "x86_64", target_os = "none"))]
pub mod frames;
#[cfg(all(target_arch = "x86_64", target_os = "none"))]
pub mod instructions;
#[cfg(all(target_arch = "x86_64", target_os = "none"))]
pub mod operation;
#[cfg(all(target_arch = "x86_64", target_os = "none"))]
pub mod selftest;
#[cfg(all(target_arch = "x86_64", target_os = "none"))]
pub mod vcpu;
