//! Calls out of the VM: SMC and HVC functions cordon does not implement
//! must return NOT_SUPPORTED (not reach firmware), PSCI CPU_ON must not
//! start a CPU the VM does not have, PSCI over SMC must be cordon's (not
//! firmware's), and no call may change x4-x17.

use crate::platform::{MAX_CPUS, Platform};
use crate::report::Report;
use crate::smccc::{
    self, Conduit, INVALID_PARAMETERS, NOT_SUPPORTED, PSCI_AFFINITY_INFO_64, PSCI_CPU_ON_64,
    PSCI_VERSION, PSCI_VERSION_1_1,
};

/// A SiP (silicon provider, i.e. firmware) service call: fast, SMC64,
/// function 0xff00, which nothing implements.
const UNKNOWN_SIP_CALL: u32 = 0xc200_ff00;
/// The last function of cordon's own (vendor hypervisor service) range,
/// which it does not implement.
const UNKNOWN_CORDON_CALL: u32 = 0xc600_ffff;
const NO_ARGS: [u64; 3] = [0; 3];
/// An MPIDR no CPU of QEMU `virt` (`-smp 4`) has.
const ABSENT_MPIDR: u64 = 7;
/// CPU_ON's context argument (x0 of the started CPU).
const NO_CONTEXT: u64 = 0;
/// AFFINITY_INFO's lowest affinity level: the CPU itself.
const AFFINITY_LEVEL_CPU: u64 = 0;

core::arch::global_asm!(
    ".section .text",
    ".balign 4",
    // Where a vCPU started by a CPU_ON that should have failed goes: off.
    ".global hostile_parked_cpu",
    "hostile_parked_cpu:",
    "    ldr     x0, ={cpu_off}",
    "    hvc     #0",
    "2:  wfi",
    "    b       2b",
    ".ltorg",
    cpu_off = const smccc::PSCI_CPU_OFF,
);

unsafe extern "C" {
    fn hostile_parked_cpu();
}

/// One call and what it must return.
struct Call {
    probe: &'static str,
    conduit: Conduit,
    function: u32,
    args: [u64; 3],
    expected: i64,
}

pub fn run(platform: &Platform, report: &mut Report) {
    let parked = hostile_parked_cpu as *const () as u64;
    // The first MPIDR (Aff0) the device tree does not list: on QEMU `virt`
    // with more CPUs than vCPUs, a CPU that exists but is not the VM's.
    let unassigned = (0..MAX_CPUS as u64)
        .find(|&mpidr| !platform.has_cpu(mpidr))
        .unwrap_or(ABSENT_MPIDR);
    let calls = [
        Call {
            probe: "smc-unknown-sip-call",
            conduit: Conduit::Smc,
            function: UNKNOWN_SIP_CALL,
            args: NO_ARGS,
            expected: NOT_SUPPORTED,
        },
        Call {
            probe: "hvc-unknown-sip-call",
            conduit: Conduit::Hvc,
            function: UNKNOWN_SIP_CALL,
            args: NO_ARGS,
            expected: NOT_SUPPORTED,
        },
        Call {
            probe: "hvc-unknown-cordon-call",
            conduit: Conduit::Hvc,
            function: UNKNOWN_CORDON_CALL,
            args: NO_ARGS,
            expected: NOT_SUPPORTED,
        },
        Call {
            probe: "psci-cpu-on-absent-mpidr",
            conduit: Conduit::Hvc,
            function: PSCI_CPU_ON_64,
            args: [ABSENT_MPIDR, parked, NO_CONTEXT],
            expected: INVALID_PARAMETERS,
        },
        Call {
            probe: "psci-cpu-on-unassigned-cpu",
            conduit: Conduit::Hvc,
            function: PSCI_CPU_ON_64,
            args: [unassigned, parked, NO_CONTEXT],
            expected: INVALID_PARAMETERS,
        },
        // SMC is the firmware's conduit: cordon traps it and answers as the
        // VM's own PSCI. (QEMU's firmware PSCI is 1.1 too, so the next call
        // is the one that tells the two apart.)
        Call {
            probe: "smc-psci-to-firmware",
            conduit: Conduit::Smc,
            function: PSCI_VERSION,
            args: NO_ARGS,
            expected: PSCI_VERSION_1_1,
        },
        // Firmware would tell the power state of a CPU that another VM
        // runs on (ON, 0); cordon knows only the VM's own vCPUs.
        Call {
            probe: "smc-affinity-info-unassigned-cpu",
            conduit: Conduit::Smc,
            function: PSCI_AFFINITY_INFO_64,
            args: [unassigned, AFFINITY_LEVEL_CPU, 0],
            expected: INVALID_PARAMETERS,
        },
    ];
    for call in calls {
        run_call(report, &call);
    }
}

fn run_call(report: &mut Report, call: &Call) {
    let Call {
        function,
        args,
        expected,
        ..
    } = *call;
    let insn = match call.conduit {
        Conduit::Hvc => "hvc",
        Conduit::Smc => "smc",
    };
    report.probe(call.probe, |judge| {
        match smccc::call(call.conduit, function, args) {
            Ok(returned) if returned.x0 != expected => judge.escaped(format_args!(
                "{insn} {function:#x}({:#x}, {:#x}, {:#x}) returned {}, not {expected}",
                args[0], args[1], args[2], returned.x0
            )),
            Ok(returned) => match returned.clobbered {
                None => judge.contained(format_args!(
                    "{insn} {function:#x}({:#x}, ...) returned {expected}; x4-x17 preserved",
                    args[0]
                )),
                Some((register, value)) => judge.escaped(format_args!(
                    "{insn} {function:#x} returned {expected} but x{register} came back \
                     as {value:#x}"
                )),
            },
            Err(fault) => judge.escaped(format_args!(
                "{insn} {function:#x} took {fault} instead of returning {expected}"
            )),
        }
    });
}
