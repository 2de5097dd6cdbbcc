//! Intel VT-x (VMX). Pure, host-testable: [`feature`] (whether this CPU
//! can enter VMX operation, and why not), [`controls`] (control words
//! adjusted to the capability MSRs), [`ept`] (extended page tables),
//! [`exit_reason`] (why a VM exited) and [`fields`] (VMCS field encodings).

pub mod controls;
pub mod ept;
pub mod exit_reason;
pub mod feature;
pub mod fields;
