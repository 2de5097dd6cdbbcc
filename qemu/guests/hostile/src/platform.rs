//! What the guest's device tree says it was given: its RAM, vCPUs, GIC,
//! console UART, passed-through virtio-mmio devices and DMA engine, and
//! first inter-VM channel.

use core::fmt;

use fdt::node::FdtNode;
use fdt::{Fdt, FdtError};

use crate::bus::{self, Windows};
use crate::console::UartKind;
use crate::span::{Full, Span, Spans};

/// Most vCPUs a VM has (a GICv2 serves at most 8 CPUs).
pub const MAX_CPUS: usize = 8;
/// Most passed-through devices remembered (QEMU `virt` has 32 virtio-mmio
/// transports).
const MAX_DEVICES: usize = 64;
/// The boot protocol puts the device tree at an 8-byte aligned address.
const DTB_ALIGN: u64 = 8;
/// `compatible` strings of the nodes the guest looks for.
const GIC_COMPATIBLE: [&str; 2] = ["arm,cortex-a15-gic", "arm,gic-400"];
const VIRTIO_MMIO: &str = "virtio,mmio";
const CHANNEL_COMPATIBLE: &str = "cordon,channel";
const DMA_COMPATIBLE: [&str; 2] = ["brcm,bcm2835-dma", "brcm,bcm2711-dma"];
/// A channel's `interrupts`: <0 (SPI), SPI number, flags>; SPI n is
/// interrupt ID n + 32.
const GIC_SPI: u32 = 0;
const SPI_BASE: u32 = 32;
const INTERRUPT_CELLS: usize = 3;
const CELL_BYTES: usize = 4;
/// `stdout-path` may end in `:<options>`.
const PATH_OPTIONS_SEPARATOR: char = ':';

/// Why the device tree is unusable.
#[derive(Debug)]
pub enum DtError {
    Misaligned(u64),
    Unreadable(FdtError),
    /// A node or property that must exist does not (or has no `reg`).
    Missing(&'static str),
    TooMany(&'static str),
}

impl fmt::Display for DtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Misaligned(addr) => write!(f, "address {addr:#x} is null or not 8-byte aligned"),
            Self::Unreadable(err) => write!(f, "not a device tree ({err})"),
            Self::Missing(what) => write!(f, "no {what}"),
            Self::TooMany(what) => write!(f, "too many {what}"),
        }
    }
}

pub struct Platform {
    pub ram: Span,
    /// MPIDRs of the vCPUs.
    cpus: [u64; MAX_CPUS],
    cpu_count: usize,
    pub gicd: Span,
    pub gicc: Span,
    pub uart: Span,
    pub uart_kind: UartKind,
    pub virtio: Spans<MAX_DEVICES>,
    /// A passed-through BCM2835 DMA engine, if the VM has one.
    pub dma: Option<DmaEngine>,
    pub bootargs: &'static str,
    /// The first `cordon,channel` node, if the VM is on a channel.
    pub channel: Option<Channel>,
}

/// A BCM2835 DMA engine: its registers, and how its bus maps DMA.
#[derive(Clone, Copy, Debug)]
pub struct DmaEngine {
    pub registers: Span,
    /// Its bus's `dma-ranges`, if it has any.
    pub windows: Option<Windows>,
}

/// An inter-VM channel cordon gives the VM (a `/channel@<ipa>` node).
#[derive(Clone, Copy, Debug)]
pub struct Channel {
    /// The VM at the other end.
    pub peer: &'static str,
    /// RAM mapped in both VMs.
    pub shared: Span,
    /// A write here raises the channel's interrupt in the peer.
    pub doorbell: Span,
    /// The interrupt ID the peer's doorbell raises here.
    pub intid: u32,
}

impl Platform {
    /// Reads the device tree at `dtb` (the address the guest got in x0).
    pub fn read(dtb: u64) -> Result<Self, DtError> {
        if dtb == 0 || !dtb.is_multiple_of(DTB_ALIGN) {
            return Err(DtError::Misaligned(dtb));
        }
        // SAFETY: cordon put the device tree in the guest's RAM at `dtb`;
        // the parser reads its header, then no more than its total size.
        let fdt = unsafe { Fdt::from_ptr(dtb as *const u8) }.map_err(DtError::Unreadable)?;
        let memory = fdt
            .find_node("/memory")
            .ok_or(DtError::Missing("/memory"))?;
        let ram = first_reg(memory).ok_or(DtError::Missing("/memory reg"))?;
        let gic = fdt
            .find_compatible(&GIC_COMPATIBLE)
            .ok_or(DtError::Missing("GICv2 node"))?;
        let mut gic_regs = regs(gic).ok_or(DtError::Missing("GIC reg"))?;
        let gicd = gic_regs.next().ok_or(DtError::Missing("GIC distributor"))?;
        let gicc = gic_regs
            .next()
            .ok_or(DtError::Missing("GIC CPU interface"))?;
        let stdout = stdout(&fdt).ok_or(DtError::Missing("/chosen stdout-path UART"))?;
        let uart = stdout
            .first_reg()
            .ok_or(DtError::Missing("stdout-path reg"))?;
        let uart_kind = stdout
            .node
            .compatible()
            .and_then(|c| c.all().find_map(UartKind::from_compatible))
            .ok_or(DtError::Missing("stdout-path UART of a known kind"))?;
        let dma = match bus::find_compatible(&fdt, &DMA_COMPATIBLE) {
            Some(engine) => Some(DmaEngine {
                registers: engine
                    .first_reg()
                    .ok_or(DtError::Missing("DMA engine reg"))?,
                windows: engine.dma_windows(),
            }),
            None => None,
        };
        let bootargs = fdt
            .find_node("/chosen")
            .and_then(|chosen| chosen.property("bootargs"))
            .and_then(|bootargs| bootargs.as_str())
            .unwrap_or("");

        let mut platform = Self {
            ram,
            cpus: [0; MAX_CPUS],
            cpu_count: 0,
            gicd,
            gicc,
            uart,
            uart_kind,
            virtio: Spans::new(),
            dma,
            bootargs,
            channel: None,
        };
        let cpus = fdt.find_node("/cpus").ok_or(DtError::Missing("/cpus"))?;
        for cpu in cpus.children().filter(|node| node.name.starts_with("cpu@")) {
            let mpidr = first_reg(cpu).ok_or(DtError::Missing("cpu reg"))?.start;
            let slot = platform
                .cpus
                .get_mut(platform.cpu_count)
                .ok_or(DtError::TooMany("CPUs"))?;
            *slot = mpidr;
            platform.cpu_count += 1;
        }
        let virtio = fdt.all_nodes().filter(|node| {
            node.compatible()
                .is_some_and(|compatible| compatible.all().any(|c| c == VIRTIO_MMIO))
        });
        for device in virtio {
            let span = first_reg(device).ok_or(DtError::Missing("virtio-mmio reg"))?;
            platform
                .virtio
                .push(span)
                .map_err(|Full| DtError::TooMany("virtio-mmio devices"))?;
        }
        if let Some(node) = fdt.find_compatible(&[CHANNEL_COMPATIBLE]) {
            platform.channel = Some(channel(node)?);
        }
        Ok(platform)
    }

    pub fn cpu_count(&self) -> usize {
        self.cpu_count
    }

    pub fn has_cpu(&self, mpidr: u64) -> bool {
        self.cpus[..self.cpu_count].contains(&mpidr)
    }

    /// The device the device tree lists at `addr`, if any.
    pub fn device_at(&self, addr: u64) -> Option<&'static str> {
        if self.gicd.contains(addr) {
            Some("GIC distributor")
        } else if self.gicc.contains(addr) {
            Some("GIC CPU interface")
        } else if self.uart.contains(addr) {
            Some("console UART")
        } else if self.virtio.iter().any(|span| span.contains(addr)) {
            Some("virtio-mmio")
        } else {
            None
        }
    }
}

fn channel(node: FdtNode<'_, 'static>) -> Result<Channel, DtError> {
    let string = |name: &'static str| {
        node.property(name)
            .and_then(|property| property.as_str())
            .ok_or(DtError::Missing(name))
    };
    let mut regs = regs(node).ok_or(DtError::Missing("channel reg"))?;
    let shared = regs
        .next()
        .ok_or(DtError::Missing("channel shared memory"))?;
    let doorbell = regs.next().ok_or(DtError::Missing("channel doorbell"))?;
    let interrupts = node
        .property("interrupts")
        .map(|property| property.value)
        .filter(|value| value.len() >= INTERRUPT_CELLS * CELL_BYTES)
        .ok_or(DtError::Missing("channel interrupts"))?;
    let mut cells = interrupts
        .chunks_exact(CELL_BYTES)
        .map(|cell| u32::from_be_bytes([cell[0], cell[1], cell[2], cell[3]]));
    let (kind, spi) = (cells.next(), cells.next());
    let intid = match (kind, spi) {
        (Some(GIC_SPI), Some(spi)) => spi + SPI_BASE,
        _ => return Err(DtError::Missing("channel SPI")),
    };
    Ok(Channel {
        peer: string("cordon,peer")?,
        shared,
        doorbell,
        intid,
    })
}

fn regs<'a>(node: FdtNode<'_, 'a>) -> Option<impl Iterator<Item = Span> + 'a> {
    Some(node.reg()?.filter_map(|region| {
        Span::from_base_size(
            region.starting_address as u64,
            region.size.unwrap_or(0) as u64,
        )
    }))
}

fn first_reg(node: FdtNode) -> Option<Span> {
    regs(node)?.next()
}

/// The node `/chosen/stdout-path` names (a full path), with its bus.
fn stdout<'b, 'a>(fdt: &'b Fdt<'a>) -> Option<bus::OnBus<'b, 'a>> {
    let path = fdt
        .find_node("/chosen")?
        .property("stdout-path")?
        .as_str()?;
    let path = path.split(PATH_OPTIONS_SEPARATOR).next().unwrap_or(path);
    bus::find_path(fdt, path)
}
