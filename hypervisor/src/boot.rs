//! The boot sequence once the CPU is set up (MMU on, console and log
//! ready): report the machine, set up memory, start the other CPUs.

use log::{error, info, warn};
use spin::Mutex;

use crate::arch::aarch64::{cpu as arch_cpu, smp, start};
use crate::board::Board;
use fdt::Fdt;

use crate::arch::aarch64::gic;
use crate::dt::{BootInfo, PsciConduit};
use crate::mm::boot_map::{free_memory, held_regions};
use crate::mm::frame::FrameAllocator;
use crate::mm::region::PhysRange;
use crate::mm::region::RegionSet;
use crate::mm::{FRAME_SIZE, heap};
use crate::vm::placement::{self, PlacementError};
use crate::vm::spec::{ChannelEndSpec, ChannelSpec, VmSpec};
use crate::vm::{builder, default_partition, dma, partition_config};
use crate::{VERSION, cpu};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

const MIB: u64 = 1 << 20;

/// The physical frame allocator, once boot has set it up.
pub static FRAMES: Mutex<Option<FrameAllocator>> = Mutex::new(None);

/// How to reach firmware PSCI (to power the machine off), if there is any.
static FIRMWARE_PSCI: Mutex<Option<PsciConduit>> = Mutex::new(None);

pub fn psci_conduit() -> Option<PsciConduit> {
    *FIRMWARE_PSCI.lock()
}

/// What the architecture's start code hands the core.
pub struct BootContext<'a> {
    pub board: &'static Board,
    pub fdt: &'a Fdt<'a>,
    pub info: &'a BootInfo<'a>,
    pub entry_el: u8,
    pub image: PhysRange,
    pub dtb: PhysRange,
    pub console: start::ConsoleChoice<'a>,
    /// The board's firmware mailbox, if it has one (mapped if it has an
    /// address).
    pub firmware_mailbox: Option<crate::firmware::MailboxAt>,
}

pub fn primary(ctx: BootContext) -> ! {
    let BootContext { board, info, .. } = ctx;
    let entered = match ctx.entry_el {
        3 => "entered at EL3, running at EL2",
        _ => "entered at EL2",
    };
    info!("cordon {VERSION} on board {}, {entered}", board.name);
    match ctx.console {
        Ok((uart, path)) => info!("console: {} at {:#x} ({path})", uart.kind.name(), uart.base),
        Err(err) => warn!(
            "console: {err}; staying on the board's {} at {:#x}",
            board.early_console.kind.name(),
            board.early_console.base
        ),
    }
    report_board(board);
    report_memory(&ctx);
    let partitioning = setup_memory(&ctx);
    if let Some(mailbox) = ctx.firmware_mailbox {
        crate::firmware::query_clock_rates(ctx.fdt, mailbox);
    }
    *FIRMWARE_PSCI.lock() = info.psci;
    gic::init_distributor(board.gic);
    gic::init_this_cpu(0);

    let boot_index = info.cpu_index(arch_cpu::mpidr()).unwrap_or_else(|| {
        warn!("boot CPU (MPIDR {:#x}) is not in /cpus", arch_cpu::mpidr());
        0
    });
    cpu::mark_online(0);
    info!("cpu0 online at EL2 (MPIDR {:#x})", arch_cpu::mpidr());
    let secondaries = info
        .cpus
        .iter()
        .enumerate()
        .filter(|&(index, _)| index != boot_index)
        .map(|(_, node)| node);
    for (id, node) in (1..).zip(secondaries) {
        if let Err(err) = smp::start_cpu(info, id, node) {
            warn!("cpu{id} (MPIDR {:#x}) did not start: {err}", node.mpidr);
        }
    }
    let (online, total) = (cpu::online_count(), info.cpus.len().max(1));
    if online == total {
        info!("all {online} of {total} CPUs online");
    } else {
        warn!("{online} of {total} CPUs online");
    }

    run_self_test(info);
    start_vms(&ctx, partitioning);
    cpu::idle()
}

/// A VM to build and the RAM set aside for it (or why there is none).
type Partition = (VmSpec, Result<PhysRange, PlacementError>);

/// The VMs and channels to set up, with their memory placed.
struct Partitioning {
    vms: Vec<Partition>,
    /// Each VM's channel ends (by VM name).
    channel_ends: Vec<(String, ChannelEndSpec)>,
}

/// The VMs and channels to run: the embedded partition config's, else the
/// default (the management VM alone). A config this machine cannot honour
/// starts nothing.
fn partition_specs(ctx: &BootContext) -> (Vec<VmSpec>, Vec<ChannelSpec>) {
    let Some(config) = partition_config::embedded() else {
        let vms = default_partition::management_vm(ctx.fdt, ctx.info, ctx.info.cpus.len())
            .into_iter()
            .collect();
        return (vms, Vec::new());
    };
    match partition_config::specs(config, ctx.fdt, ctx.info) {
        Ok((vms, channels)) => {
            info!(
                "partition config: {} VMs, {} channels",
                vms.len(),
                channels.len()
            );
            (vms, channels)
        }
        Err(err) => {
            error!("partition config refused: {err}; no VM starts");
            (Vec::new(), Vec::new())
        }
    }
}

/// Places every channel's shared memory and returns both ends of each.
fn place_channels<const N: usize>(
    free: &mut RegionSet<N>,
    channels: Vec<ChannelSpec>,
) -> Vec<(String, ChannelEndSpec)> {
    let mut ends = Vec::new();
    for channel in channels {
        let Some(shared) = free.take(channel.size.next_multiple_of(FRAME_SIZE), FRAME_SIZE) else {
            error!(
                "channel {}: no {} KiB of free RAM",
                channel.name,
                channel.size >> 10
            );
            continue;
        };
        // SAFETY: fresh RAM, mapped at EL2, given to no one yet.
        unsafe { core::ptr::write_bytes(shared.start as *mut u8, 0, shared.size() as usize) };
        let [a, b] = channel.vms;
        for (vm, peer) in [(a.clone(), b.clone()), (b, a)] {
            let end = ChannelEndSpec {
                name: channel.name.clone(),
                peer,
                shared,
            };
            ends.push((vm, end));
        }
    }
    ends
}

/// Builds and starts every VM whose RAM could be placed and whose CPUs
/// are online; any other is refused with the reason.
fn start_vms(ctx: &BootContext, partitioning: Partitioning) {
    let Partitioning {
        vms: partitions,
        mut channel_ends,
    } = partitioning;
    if partitions.is_empty() {
        if partition_config::embedded().is_none() {
            info!("no VM to run (no config and no guest kernel among the boot modules); CPUs idle");
        }
        return;
    }
    let console = ctx
        .console
        .as_ref()
        .ok()
        .map(|(uart, path)| (uart.kind, *path));
    let board_ram_base = ctx.info.memory.iter().next().map_or(0, |bank| bank.start);
    for (index, (spec, ram)) in partitions.into_iter().enumerate() {
        let name = spec.name.clone();
        let (ends, rest): (Vec<_>, Vec<_>) =
            channel_ends.into_iter().partition(|(vm, _)| *vm == name);
        channel_ends = rest;
        let ends = ends.into_iter().map(|(_, end)| end).collect();
        let offline = spec.cpus.iter().find(|&&cpu| !cpu::is_online(cpu));
        let result = match (ram, offline) {
            (Err(err), _) => Err(format!("memory: {err}")),
            (_, Some(cpu)) => Err(format!("cpus: CPU {cpu} is not online")),
            (Ok(ram), None) => {
                let ipa_base = if spec.memory.identity {
                    ram.start
                } else {
                    board_ram_base
                };
                let vmid = index as u16 + 1;
                builder::build(spec, vmid, ram, ipa_base, ends, ctx.fdt, ctx.board, console)
                    .map_err(|err| err.to_string())
            }
        };
        match result {
            Ok(vm) => info!("VM {} started", vm.name),
            Err(err) => error!("VM {name} not started: {err}"),
        }
    }
}

pub fn secondary(id: usize) -> ! {
    gic::init_this_cpu(id);
    info!("cpu{id} online at EL2 (MPIDR {:#x})", arch_cpu::mpidr());
    cpu::mark_online(id);
    cpu::idle()
}

fn report_memory(ctx: &BootContext) {
    for bank in ctx.info.memory.iter() {
        info!("memory: {bank} ({} MiB)", bank.size() / MIB);
    }
    for (range, holder) in held_regions(ctx.info, ctx.image, ctx.dtb) {
        info!("reserved: {range} {holder}");
    }
}

fn report_board(board: &Board) {
    let gic = &board.gic;
    info!(
        "board: GICv2 GICD {:#x} GICC {:#x} GICH {:#x} GICV {:#x}, maintenance PPI {}",
        gic.gicd, gic.gicc, gic.gich, gic.gicv, gic.maintenance_ppi
    );
}

/// Gives the heap its RAM and the frame allocator the rest of free RAM.
/// Sets up the heap, sets RAM aside for each VM, and gives the rest of
/// free RAM to the frame allocator. Returns the VMs with their RAM.
fn setup_memory(ctx: &BootContext) -> Partitioning {
    let mut free = match free_memory(ctx.info, ctx.image, ctx.dtb) {
        Ok(free) => free,
        Err(_) => panic!("memory map too fragmented to track"),
    };
    let Some(heap_range) = free.take(heap::HEAP_SIZE, FRAME_SIZE) else {
        panic!("no {} MiB of free RAM for the heap", heap::HEAP_SIZE / MIB)
    };
    // SAFETY: taken out of free RAM, mapped read-write, given to nobody else.
    unsafe { heap::init(heap_range) };
    let (vm_specs, channels) = partition_specs(ctx);
    dma::configure(ctx.info);
    let vms: Vec<Partition> = vm_specs
        .into_iter()
        .filter_map(|mut spec| match dma::confine(&mut spec, ctx.fdt) {
            Ok(()) => {
                let ram = placement::place(&mut free, &spec.memory);
                Some((spec, ram))
            }
            Err(err) => {
                error!("VM {} not started: DMA: {err}", spec.name);
                None
            }
        })
        .collect();
    let channel_ends = place_channels(&mut free, channels);
    let frames = FrameAllocator::new(&free);
    info!(
        "heap: {} MiB at {heap_range}; frame allocator: {} MiB free",
        heap_range.size() / MIB,
        frames.free_bytes() / MIB
    );
    *FRAMES.lock() = Some(frames);
    Partitioning { vms, channel_ends }
}

/// `cordon.selftest=fault|panic`: deliberately fail, to check that failures
/// are reported and contained (used by the boot tests).
fn run_self_test(info: &BootInfo) {
    match info.option("selftest") {
        None => {}
        Some("fault") => {
            let guard = start::stack_guard_of_boot_cpu();
            info!("self-test: reading cpu0's stack guard page at {guard:#x}");
            // SAFETY: deliberately faults: the guard page is unmapped, and
            // the exception handler stops every CPU.
            let value = unsafe { core::ptr::read_volatile(guard as *const u8) };
            panic!("read {value} from an unmapped guard page");
        }
        Some("panic") => panic!("self-test panic requested by cordon.selftest=panic"),
        Some(other) => warn!("unknown cordon.selftest={other}; expected fault or panic"),
    }
}
