//! Building a VM from its [`VmSpec`]: stage-2 tables, the virtual GIC, the
//! emulated console, passed-through devices, its device tree and boot
//! payload, then loading and starting it.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use cordon_abi::REGION_SIZE;
use cordon_guest_loader::GuestMemory;
use cordon_guest_loader::device_tree::{
    self, GuestChannel, GuestGic, GuestManagement, RamMapping, VmDescription,
};
use cordon_guest_loader::linux_boot;
use fdt::Fdt;
use log::info;
use spin::mutex::SpinMutex;

use crate::arch::aarch64::cpu as arch_cpu;
use crate::arch::aarch64::gic::{self, VIRTUAL_TIMER_PPI, distributor};
use crate::arch::aarch64::pagetable::{MapError, PAGE_SIZE, PageTable, TableStore};
use crate::arch::aarch64::stage2::{self, Stage2Attrs};
use crate::arch::aarch64::vgic::CPU_INTERFACE_SIZE;
use crate::arch::aarch64::vgic::distributor::VirtualDistributor;
use crate::board::{Board, UartKind};
use crate::dt;
use crate::management::ManagementPort;
use crate::management::ring::ByteRing;
use crate::mm::region::RegionSet;
use crate::mm::{FRAME_SIZE, PhysRange};
use crate::vdev::VirtualUart;
use crate::vm::channel::{ChannelEnd, DOORBELL_SIZE};
use crate::vm::exits::ExitCounters;
use crate::vm::images::VmImages;
use crate::vm::spec::{ChannelEndSpec, Role, VmSpec};
use crate::vm::{EmulatedUart, Lifecycle, Vcpu, Vm};

/// GIC interrupt specifier: type cell values and the trigger flag mask.
const IRQ_TYPE_SPI: u32 = 0;
const SPI_BASE: u32 = 32;
const IRQ_TRIGGER_EDGE_MASK: u32 = 0b0011;
const INTERRUPT_CELLS: usize = 3;
/// Unmapped guest-physical space between RAM and the first channel, so a
/// run past the end of RAM faults.
const CHANNEL_GUARD_GAP: u64 = 2 << 20;
/// Channel windows start on this boundary in guest-physical space.
const CHANNEL_WINDOW_ALIGN: u64 = 64 << 10;
/// Most disjoint register ranges of passed-through devices.
const MAX_DEVICE_RANGES: usize = 32;

#[derive(Debug)]
pub enum BuildError {
    /// No RAM for the management interface's region.
    NoManagementRegion,
    Stage2(MapError),
    Device {
        path: String,
        reason: String,
    },
    DeviceTree(device_tree::GuestDtError),
    Boot(linux_boot::BootPlanError),
}

impl core::fmt::Display for BuildError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NoManagementRegion => write!(f, "no RAM for the management interface"),
            Self::Stage2(err) => write!(f, "stage-2 tables: {err:?}"),
            Self::Device { path, reason } => write!(f, "device {path}: {reason}"),
            Self::DeviceTree(err) => write!(f, "device tree: {err}"),
            Self::Boot(err) => write!(f, "kernel: {err}"),
        }
    }
}

/// Stage-2 tables in frames from the frame allocator (identity-mapped).
struct FrameTables;

impl TableStore for FrameTables {
    fn alloc_table(&mut self) -> Option<u64> {
        let frame = crate::boot::FRAMES.lock().as_mut()?.alloc(1)?;
        // SAFETY: a fresh frame of RAM, mapped read-write at EL2.
        unsafe { core::ptr::write_bytes(frame.start as *mut u8, 0, FRAME_SIZE as usize) };
        Some(frame.start)
    }

    fn table(&mut self, pa: u64) -> &mut [u64; 512] {
        // SAFETY: `pa` is a table frame from `alloc_table`, mapped at EL2.
        unsafe { &mut *(pa as *mut [u64; 512]) }
    }
}

/// A passed-through device: where its registers are, which SPIs it raises.
struct Device {
    registers: PhysRange,
    spis: Vec<(u32, bool)>,
}

fn device(fdt: &Fdt, path: &str) -> Result<Device, BuildError> {
    let fail = |reason: &dyn core::fmt::Display| BuildError::Device {
        path: path.to_string(),
        reason: reason.to_string(),
    };
    let node = fdt
        .find_node(path)
        .ok_or_else(|| fail(&"not in the device tree"))?;
    let (base, size) = dt::translate_to_cpu(fdt, path).map_err(|e| fail(&e))?;
    let registers = PhysRange::from_base_size(base, size)
        .ok_or_else(|| fail(&"reg wraps around"))?
        .align_outward(PAGE_SIZE);
    let mut spis = Vec::new();
    if let Some(interrupts) = node.property("interrupts") {
        for specifier in interrupts.value.chunks(INTERRUPT_CELLS * 4) {
            let cell = |n: usize| dt::read_cells(&specifier[n * 4..], 1).map(|v| v as u32);
            let (Some(kind), Some(number), Some(flags)) = (cell(0), cell(1), cell(2)) else {
                return Err(fail(&"malformed interrupts"));
            };
            if kind == IRQ_TYPE_SPI {
                spis.push((SPI_BASE + number, flags & IRQ_TRIGGER_EDGE_MASK != 0));
            }
        }
    }
    Ok(Device { registers, spis })
}

/// Builds VM number `vmid` from `spec` with physical RAM `ram` seen at
/// guest-physical `ipa_base`, loads its images and starts its vCPU 0.
/// `console` is the boot DT's console UART (kind and path), where an
/// emulated UART of the same kind appears if the VM asks for a console.
#[allow(clippy::too_many_arguments)]
pub fn build(
    spec: VmSpec,
    vmid: u16,
    ram: PhysRange,
    ipa_base: u64,
    channel_specs: Vec<ChannelEndSpec>,
    fdt: &Fdt,
    board: &Board,
    console: Option<(UartKind, &str)>,
) -> Result<&'static Vm, BuildError> {
    let vcpu_count = spec.cpus.len();

    // Stage 2: RAM, the virtual CPU interface where the guest expects its
    // GICC, and the passed-through devices. The distributor and the
    // console stay unmapped: every access traps and is emulated.
    let (pa_bits, pa_range) = arch_cpu::physical_address_bits();
    let ipa_bits = stage2::ipa_bits(pa_bits);
    let mut store = FrameTables;
    let mut tables = PageTable::new(&mut store, ipa_bits).map_err(BuildError::Stage2)?;
    let mut map = |ipa, pa, size, attrs| {
        tables
            .map(&mut store, ipa, pa, size, attrs)
            .map_err(BuildError::Stage2)
    };
    map(ipa_base, ram.start, ram.size(), Stage2Attrs::RAM)?;
    map(
        board.gic.gicc,
        board.gic.gicv,
        CPU_INTERFACE_SIZE,
        Stage2Attrs::DEVICE,
    )?;

    let gicd = distributor::get();
    let mut vdist = VirtualDistributor::new(vcpu_count, gicd.irq_count(), gicd.iidr());
    vdist.give(VIRTUAL_TIMER_PPI);
    let console = console.filter(|_| spec.console);
    let uart = match console {
        Some((kind, path)) => {
            let console_device = device(fdt, path)?;
            let &(spi, _) = console_device
                .spis
                .first()
                .ok_or_else(|| BuildError::Device {
                    path: path.to_string(),
                    reason: "the console UART has no SPI".to_string(),
                })?;
            vdist.give_emulated(spi);
            crate::arch::aarch64::trap::route_console_input(spi);
            Some(EmulatedUart {
                ipa: console_device.registers.start,
                spi,
                model: SpinMutex::new(VirtualUart::new(kind)),
                pending_line: SpinMutex::new(heapless::Vec::new()),
                pending_since: core::sync::atomic::AtomicU64::new(0),
            })
        }
        None => None,
    };

    // Devices share pages (QEMU packs eight virtio-mmio transports into
    // one): merge their ranges before mapping. Their SPIs go to the
    // physical CPU of vCPU 0 until the guest routes them.
    let mut device_pages = RegionSet::<MAX_DEVICE_RANGES>::new();
    for path in &spec.devices {
        let device = device(fdt, path)?;
        device_pages
            .insert(device.registers)
            .map_err(|_| BuildError::Device {
                path: path.clone(),
                reason: "too many separate device ranges".to_string(),
            })?;
        for &(spi, edge) in &device.spis {
            vdist.give(spi);
            gicd.set_edge_triggered(spi, edge);
            gicd.set_targets(spi, gic::interface_mask(spec.cpus[0]));
        }
    }
    for range in device_pages.iter() {
        map(range.start, range.start, range.size(), Stage2Attrs::DEVICE)?;
    }

    // Channels: shared memory after the VM's RAM, each followed by its
    // (unmapped, trapped) doorbell page; their interrupts are SPIs from the
    // top of the range, emulated.
    let mut next_ipa =
        (ipa_base + ram.size() + CHANNEL_GUARD_GAP).next_multiple_of(CHANNEL_WINDOW_ALIGN);
    let mut next_spi = gicd.irq_count() - 1;
    let mut channels = Vec::new();
    for end in channel_specs {
        let spi = take_free_spi(&mut vdist, &mut next_spi);
        let shared_ipa = next_ipa;
        let doorbell_ipa = shared_ipa + end.shared.size();
        next_ipa = (doorbell_ipa + DOORBELL_SIZE).next_multiple_of(CHANNEL_WINDOW_ALIGN);
        map(
            shared_ipa,
            end.shared.start,
            end.shared.size(),
            Stage2Attrs::RAM,
        )?;
        channels.push(ChannelEnd::new(
            end.name,
            end.peer,
            end.shared,
            shared_ipa,
            doorbell_ipa,
            spi,
        ));
    }

    // The guest's device tree (describing the emulated console as the UART
    // it stands for) and where kernel, initrd and DTB go.
    let paths: Vec<&str> = spec.devices.iter().map(String::as_str).collect();
    let console_path = console.map(|(_, path)| path);
    let ram_region = GuestMemory {
        ipa: ipa_base,
        size: ram.size(),
    };
    let ram_mapping = RamMapping {
        ipa: ipa_base,
        pa: ram.start,
        size: ram.size(),
    };
    let bus_dma = crate::vm::dma::bus_view(&spec, core::slice::from_ref(&ram_mapping));
    let kernel_bytes = module_bytes(spec.kernel);
    let initrd_len = spec.initrd.map_or(0, |m| m.size() as usize);
    // The management interface: its region after the channels, then the
    // doorbell page (unmapped: writes trap), events on an emulated SPI.
    let management_port = if spec.role == Role::Management {
        let region = crate::boot::FRAMES
            .lock()
            .as_mut()
            .and_then(|frames| frames.alloc(REGION_SIZE / FRAME_SIZE as usize))
            .ok_or(BuildError::NoManagementRegion)?;
        let spi = take_free_spi(&mut vdist, &mut next_spi);
        map(next_ipa, region.start, region.size(), Stage2Attrs::RAM)?;
        Some(ManagementPort::new(region, next_ipa, spi))
    } else {
        None
    };
    let guest_channels: Vec<GuestChannel> = channels
        .iter()
        .map(|end| GuestChannel {
            name: &end.name,
            peer: &end.peer,
            shared_ipa: end.shared_ipa,
            size: end.shared.size(),
            doorbell_ipa: end.doorbell_ipa,
            spi: end.spi,
        })
        .collect();
    let description = |initrd| VmDescription {
        vcpus: vcpu_count,
        memory: core::slice::from_ref(&ram_region),
        devices: &paths,
        bootargs: &spec.bootargs,
        initrd,
        stdout_path: console_path,
        emulated_console: console_path,
        gic: GuestGic {
            distributor: board.gic.gicd,
            cpu_interface: board.gic.gicc,
        },
        channels: &guest_channels,
        management: management_port.as_ref().map(|port| GuestManagement {
            region_ipa: port.region_ipa,
            size: port.region.size(),
            spi: port.spi,
        }),
        dma: bus_dma,
        firmware_clocks: crate::firmware::clock_rates(),
    };
    // The DTB's size does not depend on where the initrd goes: size it
    // first with a placeholder, then build it for real.
    let probe = device_tree::build(fdt, &description(spec.initrd.map(|_| (0, 0))))
        .map_err(BuildError::DeviceTree)?;
    let plan = linux_boot::plan(kernel_bytes, initrd_len, probe.len(), ram_region)
        .map_err(BuildError::Boot)?;
    let dtb = device_tree::build(fdt, &description(plan.initrd)).map_err(BuildError::DeviceTree)?;

    info!(
        "VM {}: {vcpu_count} vCPUs on CPUs {:?}, RAM {ram}{}, {} devices passed through{}",
        spec.name,
        spec.cpus,
        if spec.memory.identity {
            " (1:1)".to_string()
        } else {
            format!(" at guest-physical {ipa_base:#x}")
        },
        spec.devices.len(),
        if uart.is_some() {
            ", console emulated"
        } else {
            ""
        },
    );
    let vcpus = spec.cpus.iter().map(|&cpu| Vcpu::new(cpu)).collect();
    let vm: &'static Vm = Box::leak(Box::new(Vm {
        name: spec.name.clone(),
        console_prefix: format!("[{}] ", spec.name),
        uart,
        channels,
        management_port,
        console_ring: SpinMutex::new(ByteRing::new()),
        faults_seen: core::sync::atomic::AtomicU64::new(0),
        vmid,
        vttbr: stage2::vttbr(tables.root(), vmid),
        vtcr: stage2::vtcr(ipa_bits, tables.start_level(), pa_range),
        vcpus,
        distributor: SpinMutex::new(vdist),
        gicd_ipa: board.gic.gicd,
        exits: ExitCounters::new(),
        ram,
        ipa_base,
        images: SpinMutex::new(VmImages::from_boot_modules(
            spec.kernel,
            spec.initrd,
            plan,
            dtb,
        )),
        lifecycle: Lifecycle::new(),
        spec,
    }));
    load(vm, false);
    crate::vm::register(vm);
    for vcpu in 0..vcpu_count {
        crate::vm::assign(vm, vcpu);
    }
    crate::vm::lifecycle::first_start(vm);
    Ok(vm)
}

/// Gives the VM, as an emulated interrupt, the highest SPI from `next` down
/// that it does not own yet, and moves `next` below it.
fn take_free_spi(vdist: &mut VirtualDistributor, next: &mut u32) -> u32 {
    while vdist.owns(*next) {
        *next -= 1;
    }
    let spi = *next;
    *next -= 1;
    vdist.give_emulated(spi);
    spi
}

/// Copies the VM's kernel, initrd and device tree into its RAM (after
/// clearing it, on a restart).
pub fn load(vm: &Vm, clear: bool) {
    if clear {
        // SAFETY: the VM's RAM, mapped at EL2; every vCPU is stopped.
        unsafe { core::ptr::write_bytes(vm.ram.start as *mut u8, 0, vm.ram.size() as usize) };
    }
    let images = vm.images.lock();
    let plan = images.plan();
    let pa = |ipa: u64| vm.ram.start + (ipa - vm.ipa_base);
    copy_into(pa(plan.kernel), images.kernel());
    if let (Some(initrd), Some((start, _))) = (images.initrd(), plan.initrd) {
        copy_into(pa(start), initrd);
    }
    copy_into(pa(plan.dtb), images.dtb());
}

/// The bytes of a boot module (RAM, mapped at EL2).
fn module_bytes(range: PhysRange) -> &'static [u8] {
    // SAFETY: boot modules lie in RAM that cordon reserved for them and
    // maps read-write; nothing writes them.
    unsafe { core::slice::from_raw_parts(range.start as *const u8, range.size() as usize) }
}

/// Copies `bytes` to guest RAM at physical address `pa` and pushes them to
/// memory: the guest starts with caches off.
fn copy_into(pa: u64, bytes: &[u8]) {
    // SAFETY: `pa` is inside the VM's RAM (the boot plan checked it), whose
    // vCPUs are all stopped.
    unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), pa as *mut u8, bytes.len()) };
    arch_cpu::clean_dcache_range(pa as usize, bytes.len());
}
