//! The Linux management VM, built at boot from the boot modules the loader
//! placed in RAM (a `multiboot,kernel` Image with its command line and a
//! `multiboot,ramdisk` initramfs).
//!
//! Until partitions are configured, its shape is fixed here: up to
//! [`VCPUS`] vCPUs on the first CPUs, [`RAM_SIZE`] of RAM mapped 1:1 (so
//! devices it owns can DMA to guest-physical addresses), every virtio-mmio
//! transport passed through, and an emulated PL011 where the console UART
//! is, multiplexed onto cordon's console.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use cordon_guest_loader::GuestMemory;
use cordon_guest_loader::device_tree::{self, GuestGic, VmDescription};
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
use crate::board::Board;
use crate::dt::{self, BootInfo, ModuleKind};
use crate::mm::region::RegionSet;
use crate::mm::{FRAME_SIZE, PhysRange};
use crate::vdev::pl011::VirtualPl011;
use crate::vm::exits::ExitCounters;
use crate::vm::{EmulatedUart, Vcpu, Vm};

/// vCPUs of the management VM (fewer if fewer CPUs are online).
pub const VCPUS: usize = 2;
/// RAM of the management VM.
pub const RAM_SIZE: u64 = 512 << 20;
const NAME: &str = "mgmt";
const VMID: u16 = 1;
/// Device-tree `compatible` of the devices the management VM gets.
const VIRTIO_MMIO: &str = "virtio,mmio";
/// GIC interrupt specifier: type cell values and the trigger flag mask.
const IRQ_TYPE_SPI: u32 = 0;
const SPI_BASE: u32 = 32;
const IRQ_TRIGGER_EDGE_MASK: u32 = 0b0011;
const INTERRUPT_CELLS: usize = 3;
/// Most disjoint register ranges of passed-through devices.
const MAX_DEVICE_RANGES: usize = 32;

#[derive(Debug)]
pub enum ManagementVmError {
    /// No RAM of the requested size is free.
    NoMemory,
    Stage2(MapError),
    Device {
        path: String,
        reason: String,
    },
    DeviceTree(device_tree::GuestDtError),
    Boot(linux_boot::BootPlanError),
}

impl core::fmt::Display for ManagementVmError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NoMemory => write!(f, "no {} MiB of free RAM", RAM_SIZE >> 20),
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

fn device(fdt: &Fdt, path: &str) -> Result<Device, ManagementVmError> {
    let fail = |reason: &dyn core::fmt::Display| ManagementVmError::Device {
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

/// The devices the management VM owns: every virtio-mmio transport.
fn passthrough_paths(fdt: &Fdt) -> Vec<String> {
    let mut paths = Vec::new();
    if let Some(root) = fdt.find_node("/") {
        for node in root.children() {
            let is_virtio = node
                .compatible()
                .is_some_and(|c| c.all().any(|s| s == VIRTIO_MMIO));
            if is_virtio {
                paths.push(format!("/{}", node.name));
            }
        }
    }
    paths
}

/// Builds the management VM, loads its kernel and starts vCPU 0. `None`
/// if the loader gave no kernel module (nothing to run).
pub fn start(
    fdt: &Fdt,
    info: &BootInfo,
    board: &Board,
    console: Option<&str>,
) -> Option<Result<&'static Vm, ManagementVmError>> {
    let kernel = info.module(ModuleKind::Kernel)?;
    Some(build(fdt, info, board, console, kernel))
}

fn build(
    fdt: &Fdt,
    info: &BootInfo,
    board: &Board,
    console: Option<&str>,
    kernel: &dt::BootModule,
) -> Result<&'static Vm, ManagementVmError> {
    let vcpu_count = VCPUS.min(crate::cpu::online_count());
    let ram = crate::boot::FRAMES
        .lock()
        .as_mut()
        .and_then(|frames| frames.alloc((RAM_SIZE / FRAME_SIZE) as usize))
        .ok_or(ManagementVmError::NoMemory)?;

    // Stage 2: RAM 1:1, the virtual CPU interface where the guest expects
    // its GICC, and the passed-through devices. The distributor stays
    // unmapped: every access traps and is emulated.
    let (pa_bits, pa_range) = arch_cpu::physical_address_bits();
    let ipa_bits = stage2::ipa_bits(pa_bits);
    let mut store = FrameTables;
    let mut tables = PageTable::new(&mut store, ipa_bits).map_err(ManagementVmError::Stage2)?;
    let mut map = |ipa, pa, size, attrs| {
        tables
            .map(&mut store, ipa, pa, size, attrs)
            .map_err(ManagementVmError::Stage2)
    };
    map(ram.start, ram.start, ram.size(), Stage2Attrs::RAM)?;
    map(
        board.gic.gicc,
        board.gic.gicv,
        CPU_INTERFACE_SIZE,
        Stage2Attrs::DEVICE,
    )?;

    let gicd = distributor::get();
    let mut vdist = VirtualDistributor::new(vcpu_count, gicd.irq_count(), gicd.iidr());
    vdist.give(VIRTUAL_TIMER_PPI);
    // The console is emulated at the physical UART's address and SPI.
    let uart = match console {
        Some(path) => {
            let console_device = device(fdt, path)?;
            let &(spi, _) =
                console_device
                    .spis
                    .first()
                    .ok_or_else(|| ManagementVmError::Device {
                        path: path.to_string(),
                        reason: "the console UART has no SPI".to_string(),
                    })?;
            vdist.give_emulated(spi);
            crate::arch::aarch64::trap::route_console_input(spi);
            Some(EmulatedUart {
                ipa: console_device.registers.start,
                spi,
                model: SpinMutex::new(VirtualPl011::new()),
            })
        }
        None => None,
    };

    // Devices share pages (QEMU packs eight virtio-mmio transports into
    // one): merge their ranges before mapping.
    let passed_through = passthrough_paths(fdt);
    let mut device_pages = RegionSet::<MAX_DEVICE_RANGES>::new();
    for path in &passed_through {
        let device = device(fdt, path)?;
        device_pages
            .insert(device.registers)
            .map_err(|_| ManagementVmError::Device {
                path: path.clone(),
                reason: "too many separate device ranges".to_string(),
            })?;
        for &(spi, edge) in &device.spis {
            vdist.give(spi);
            gicd.set_edge_triggered(spi, edge);
            gicd.set_targets(spi, gic::interface_mask(0));
        }
    }
    for range in device_pages.iter() {
        map(range.start, range.start, range.size(), Stage2Attrs::DEVICE)?;
    }
    info!(
        "VM {NAME}: {} virtio-mmio transports passed through; console emulated",
        passed_through.len()
    );
    // Its device tree describes the console too (as the UART it emulates).
    let paths: Vec<String> = console
        .map(ToString::to_string)
        .into_iter()
        .chain(passed_through)
        .collect();

    // The guest's device tree and the Linux boot layout.
    let ram_region = GuestMemory {
        ipa: ram.start,
        size: ram.size(),
    };
    let ramdisk = info.module(ModuleKind::Ramdisk);
    let kernel_bytes = module_bytes(kernel.range);
    let ramdisk_len = ramdisk.map_or(0, |m| m.range.size() as usize);
    let path_refs: Vec<&str> = paths.iter().map(String::as_str).collect();
    let description = |initrd| VmDescription {
        vcpus: vcpu_count,
        memory: core::slice::from_ref(&ram_region),
        devices: &path_refs,
        bootargs: kernel.bootargs.unwrap_or(""),
        initrd,
        stdout_path: console,
        gic: GuestGic {
            distributor: board.gic.gicd,
            cpu_interface: board.gic.gicc,
        },
    };
    // The DTB's size does not depend on where the initrd goes: size it
    // first with a placeholder, then build it for real.
    let probe = device_tree::build(fdt, &description(ramdisk.map(|_| (0, 0))))
        .map_err(ManagementVmError::DeviceTree)?;
    let plan = linux_boot::plan(kernel_bytes, ramdisk_len, probe.len(), ram_region)
        .map_err(ManagementVmError::Boot)?;
    let guest_dtb = device_tree::build(fdt, &description(plan.initrd))
        .map_err(ManagementVmError::DeviceTree)?;

    copy_into(plan.kernel, kernel_bytes);
    if let (Some(module), Some((start, _))) = (ramdisk, plan.initrd) {
        copy_into(start, module_bytes(module.range));
    }
    copy_into(plan.dtb, &guest_dtb);
    info!(
        "VM {NAME}: {vcpu_count} vCPUs, RAM {ram} (1:1), kernel at {:#x}, device tree at {:#x}",
        plan.kernel, plan.dtb
    );

    let vm: &'static Vm = Box::leak(Box::new(Vm {
        name: NAME.to_string(),
        console_prefix: format!("[{NAME}] "),
        uart,
        vmid: VMID,
        vttbr: stage2::vttbr(tables.root(), VMID),
        vtcr: stage2::vtcr(ipa_bits, tables.start_level(), pa_range),
        vcpus: (0..vcpu_count).map(Vcpu::new).collect(),
        distributor: SpinMutex::new(vdist),
        gicd_ipa: board.gic.gicd,
        exits: ExitCounters::new(),
    }));
    crate::vm::set_input_focus(vm);
    for vcpu in 0..vcpu_count {
        crate::vm::assign(vm, vcpu);
    }
    vm.vcpus[0].start(plan.kernel, plan.dtb);
    Ok(vm)
}

/// The bytes of a boot module (RAM, mapped at EL2).
fn module_bytes(range: PhysRange) -> &'static [u8] {
    // SAFETY: boot modules lie in RAM that cordon reserved for them and
    // maps read-write; nothing writes them.
    unsafe { core::slice::from_raw_parts(range.start as *const u8, range.size() as usize) }
}

/// Copies `bytes` to guest RAM at `pa` (identity-mapped at EL2, 1:1 in the
/// guest) and pushes them to memory: the guest starts with caches off.
fn copy_into(pa: u64, bytes: &[u8]) {
    // SAFETY: `pa` is inside the VM's RAM (the boot plan checked it), which
    // no one else uses yet.
    unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), pa as *mut u8, bytes.len()) };
    arch_cpu::clean_dcache_range(pa as usize, bytes.len());
}
