//! A config against the x86-pc board: its devices (known ones, no I/O port
//! in two VMs, device interrupts only where the PIC is) and what x86-pc
//! VMs do not have (yet).

use super::devices::{PIC, pc_device, shared_port};
use crate::error::{ChannelField, Problem, VmField};
use cordon_guest_loader::x86_bare_metal::MAX_COMMAND_LINE;

use crate::model::{Config, ImageKind, VmConfig};
use crate::validate::Errors;

/// vCPUs an x86-pc VM has.
const PC_VM_CPUS: usize = 1;

/// Devices: each one the board has; no port given to two VMs (through two
/// devices that share it; the same device twice is a level-1 error); a
/// device's interrupt line not delivered to another VM, as it would be to
/// the VM that owns the PIC.
pub fn check_devices(config: &Config, errors: &mut Errors) {
    let pic_owner = config
        .vms
        .iter()
        .find(|vm| vm.devices.iter().any(|path| path == PIC));
    for (index, vm) in config.vms.iter().enumerate() {
        for path in &vm.devices {
            let Some(device) = pc_device(path) else {
                let problem = Problem::NoSuchPcDevice { path: path.clone() };
                errors.vm(vm, VmField::Devices, problem);
                continue;
            };
            for other in &config.vms[..index] {
                let theirs = other.devices.iter().filter(|theirs| *theirs != path);
                for (through, port) in theirs.filter_map(|theirs| {
                    let port = shared_port(device, pc_device(theirs)?)?;
                    Some((theirs, port))
                }) {
                    let problem = Problem::PortTaken {
                        path: path.clone(),
                        port,
                        by: other.name.clone(),
                        through: through.clone(),
                    };
                    errors.vm(vm, VmField::Devices, problem);
                }
            }
            if let (Some(irq), Some(owner)) = (device.irq, pic_owner)
                && owner.name != vm.name
            {
                let problem = Problem::IrqToOtherVm {
                    path: path.clone(),
                    irq,
                    pic_owner: owner.name.clone(),
                };
                errors.vm(vm, VmField::Devices, problem);
            }
        }
    }
}

/// What an x86-pc VM cannot be given: several vCPUs, an emulated console,
/// RAM mapped 1:1, trapped WFI/WFE, DMA trust, a bare-metal command line
/// longer than fits below the image; and channels.
pub fn check_features(config: &Config, errors: &mut Errors) {
    for vm in &config.vms {
        for (field, why) in unsupported(vm) {
            errors.vm(vm, field, Problem::NotOnPc { why });
        }
    }
    for channel in &config.channels {
        let why = "channels between VMs are not on x86-pc yet";
        errors.channel(channel, ChannelField::Name, Problem::NotOnPc { why });
    }
}

fn unsupported(vm: &VmConfig) -> impl Iterator<Item = (VmField, &'static str)> {
    [
        (
            vm.cpus.len() > PC_VM_CPUS,
            VmField::Cpus,
            "an x86-pc VM has one vCPU for now",
        ),
        (
            vm.console,
            VmField::Console,
            "cordon emulates no console UART on x86-pc: set console = false and pass \
             /isa/serial@3f8 through instead",
        ),
        (
            vm.memory.identity,
            VmField::MemoryIdentity,
            "an x86-pc VM sees its RAM at guest-physical 0, never 1:1",
        ),
        (
            vm.trap_wait,
            VmField::TrapWait,
            "WFI/WFE are arm64's; on x86-pc a HLT always exits to cordon",
        ),
        (
            vm.dma_trusted,
            VmField::DmaTrusted,
            "x86-pc passes no device that masters DMA through",
        ),
        (
            vm.image.kind == ImageKind::BareMetal && vm.image.bootargs.len() > MAX_COMMAND_LINE,
            VmField::ImageBootargs,
            "an x86-pc bare-metal guest's command line goes below its image, in at most 2047 \
             bytes",
        ),
    ]
    .into_iter()
    .filter_map(|(wrong, field, why)| wrong.then_some((field, why)))
}
