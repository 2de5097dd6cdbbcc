//! SMC Calling Convention calls (HVC and SMC) and the PSCI functions the
//! guest uses.

use core::arch::asm;

use crate::fault::{self, Fault, Recovery};

/// PSCI function IDs.
pub const PSCI_VERSION: u32 = 0x8400_0000;
pub const PSCI_CPU_OFF: u32 = 0x8400_0002;
pub const PSCI_CPU_ON_64: u32 = 0xc400_0003;
pub const PSCI_AFFINITY_INFO_64: u32 = 0xc400_0004;
pub const PSCI_SYSTEM_OFF: u32 = 0x8400_0008;
pub const PSCI_SYSTEM_RESET: u32 = 0x8400_0009;
/// PSCI_VERSION's answer for PSCI 1.1 (major in bits 31:16, minor in
/// 15:0): the version cordon implements for its guests.
pub const PSCI_VERSION_1_1: i64 = 0x0001_0001;
/// Return codes.
pub const NOT_SUPPORTED: i64 = -1;
pub const INVALID_PARAMETERS: i64 = -2;

/// Registers a call passes (x0 = function, x1-x7 = arguments) and the
/// ones SMCCC v1.1 says it preserves: x4-x17.
pub const REGISTERS: usize = 18;
pub const FIRST_PRESERVED: usize = 4;
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

impl Returned {
    /// What the call whose registers went in as `sent` and came back as
    /// `back` returned.
    pub fn of(sent: &[u64; REGISTERS], back: &[u64; REGISTERS]) -> Self {
        let clobbered = (FIRST_PRESERVED..REGISTERS)
            .find(|&n| back[n] != sent[n])
            .map(|n| (n, back[n]));
        Self {
            x0: back[0] as i64,
            clobbered,
        }
    }
}

/// x0-x17 for a call of `function`: x1-x3 = `args`, x4-x17 a pattern.
pub fn registers(function: u32, args: [u64; 3]) -> [u64; REGISTERS] {
    let mut x = [0u64; REGISTERS];
    x[0] = function.into();
    x[1..FIRST_PRESERVED].copy_from_slice(&args);
    for (n, reg) in x.iter_mut().enumerate().skip(FIRST_PRESERVED) {
        *reg = PRESERVED_PATTERN | n as u64;
    }
    x
}

/// Makes the call `x` describes (x0 = function, x1-x7 = arguments) through
/// `conduit`: x0-x17 as it left them, or the exception it took instead
/// (such as UNDEF).
pub fn call_registers(conduit: Conduit, x: [u64; REGISTERS]) -> Result<[u64; REGISTERS], Fault> {
    let mut x = x;
    fault::expect(Recovery::SkipInstruction, || match conduit {
        // SAFETY: a hypervisor or firmware call; every register it may
        // change is an operand.
        Conduit::Hvc => unsafe { raw_call!("hvc #0", x) },
        // SAFETY: as above.
        Conduit::Smc => unsafe { raw_call!("smc #0", x) },
    })?;
    Ok(x)
}

/// Makes `function(args)` through `conduit`, expecting a return; an
/// exception instead (such as UNDEF) is the error.
pub fn call(conduit: Conduit, function: u32, args: [u64; 3]) -> Result<Returned, Fault> {
    let sent = registers(function, args);
    let back = call_registers(conduit, sent)?;
    Ok(Returned::of(&sent, &back))
}

/// PSCI SYSTEM_RESET over HVC: the VM starts again from its boot image.
pub fn reset() -> ! {
    // SAFETY: SYSTEM_RESET does not return; if it does, the guest says so.
    unsafe {
        asm!("hvc #0", inout("x0") u64::from(PSCI_SYSTEM_RESET) => _, clobber_abi("C"));
    }
    crate::say!("hostile: SYSTEM_RESET returned; powering off");
    power_off()
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
