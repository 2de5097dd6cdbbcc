//! Intel VT-x (VMX). Pure, host-testable: [`feature`] (whether this CPU
//! can enter VMX operation, and why not).

pub mod feature;
