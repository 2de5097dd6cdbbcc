//! SMC Calling Convention calls (HVC and SMC) and the PSCI functions the
//! guest uses.

use core::arch::asm;

use crate::fault::{self, Fault, Recovery};

/// PSCI function IDs.
pub const PSCI_VERSION: u32 = 0x8400_0000;
pub const PSCI_CPU_OFF: u32 = 0x8400_0002;
pub const PSCI_CPU_ON_64: u32 = 0xc400_0003;
pub const PSCI_SYSTEM_OFF: u32 = 0x8400_0008;
/// Return codes.
pub const NOT_SUPPORTED: i64 = -1;
pub const INVALID_PARAMETERS: i64 = -2;

/// Registers a call passes (x0 = function, x1-x3 = arguments) and the ones
/// SMCCC v1.1 says it preserves: x4-x17.
const REGISTERS: usize = 18;
const FIRST_PRESERVED: usize = 4;
/// What x4-x17 hold during a call: this plus the register number, so that
/// a leaked value stands out.
const PRESERVED_PATTERN: u64 = 0x686f_7374_696c_6500;

/// `insn` with x0-x17 taken from and put back into the array `x`.
macro_rules! raw_call {
    ($insn:literal, $x:ident) => {
        asm!(
            $insn,
            inout("x0") $x[0], inout("x1") $x[1], inout("x2") $x[2], inout("x3") $x[3],
            inout("x4") $x[4], inout("x5") $x[5], inout("x6") $x[6], inout("x7") $x[7],
            inout("x8") $x[8], inout("x9") $x[9], inout("x10") $x[10], inout("x11") $x[11],
            inout("x12") $x[12], inout("x13") $x[13], inout("x14") $x[14],
            inout("x15") $x[15], inout("x16") $x[16], inout("x17") $x[17],
        )
    };
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Conduit {
    Hvc,
    Smc,
}

/// What a call returned.
#[derive(Clone, Copy, Debug)]
pub struct Returned {
    pub x0: i64,
    /// The first of x4-x17 that did not come back as it went in, with the
    /// value it came back with.
    pub clobbered: Option<(usize, u64)>,
}

/// Makes `function(args)` through `conduit`, expecting a return; an
/// exception instead (such as UNDEF) is the error.
pub fn call(conduit: Conduit, function: u32, args: [u64; 3]) -> Result<Returned, Fault> {
    let mut x = [0u64; REGISTERS];
    x[0] = function.into();
    x[1..FIRST_PRESERVED].copy_from_slice(&args);
    for (n, reg) in x.iter_mut().enumerate().skip(FIRST_PRESERVED) {
        *reg = PRESERVED_PATTERN | n as u64;
    }
    let sent = x;
    fault::expect(Recovery::SkipInstruction, || match conduit {
        // SAFETY: a hypervisor or firmware call; every register it may
        // change is an operand.
        Conduit::Hvc => unsafe { raw_call!("hvc #0", x) },
        // SAFETY: as above.
        Conduit::Smc => unsafe { raw_call!("smc #0", x) },
    })?;
    let clobbered = (FIRST_PRESERVED..REGISTERS)
        .find(|&n| x[n] != sent[n])
        .map(|n| (n, x[n]));
    Ok(Returned {
        x0: x[0] as i64,
        clobbered,
    })
}

/// PSCI SYSTEM_OFF over HVC: ends the run.
pub fn power_off() -> ! {
    // SAFETY: SYSTEM_OFF does not return; if it does, the guest waits.
    unsafe {
        asm!("hvc #0", inout("x0") u64::from(PSCI_SYSTEM_OFF) => _, clobber_abi("C"));
    }
    crate::say!("hostile: SYSTEM_OFF returned; stopping here");
    loop {
        // SAFETY: waiting for an interrupt that is masked: forever.
        unsafe { asm!("wfi", options(nomem, nostack)) };
    }
}
