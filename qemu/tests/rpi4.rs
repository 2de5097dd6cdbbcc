//! Boots cordon's partitions on QEMU `raspi4b`: the Linux management VM
//! (Debian's generic kernel, 1:1 below 1 GiB, on the emulated mini-UART) to
//! its `/init` on 4 vCPUs (`boards/rpi4/configs/mgmt-only.toml`); the DMA
//! quirk handled in cordon, shown by a VM that is not mapped 1:1 copying a
//! buffer with the BCM2835 DMA engine (`boards/rpi4/configs/dma-copy.toml`);
//! and the same VM failing when cordon leaves the board's `dma-ranges` as
//! they are (the test of the test); and a Linux VM not mapped 1:1 owning
//! the SD host controller, running on the clock cordon keeps, reading the
//! card in the SoC's slot (`boards/rpi4/configs/sd-card.toml`); and one
//! owning emmc2, the Pi's own SD controller, on the clock rate cordon
//! asked the firmware for (`boards/rpi4/configs/emmc2.toml`).
//!
//! Run these through `cargo xtask test`, which builds an image for each
//! example config of rpi4 and passes the machine that boots it in the
//! environment.

// Shared with the qemu-virt tests, some of whose inputs (cordon's image
// without a config, the management VM's virtio disk) this board lacks.
#[allow(dead_code)]
mod common;

use std::env;

use cordon_qemu::mgmt_vm::{marker, value_after};
use cordon_qemu::{Expect, Pattern, Transcript, test_disk};

use common::{
    DEADLINE, MGMT_VM_DEADLINE, SETTLE, boot_expecting, check_mgmt_vm_cpus, config_machine,
};

/// `boards/rpi4/configs/mgmt-only.toml`, as `cargo xtask test` names it.
const MGMT_ONLY: &str = "rpi4-mgmt-only";
/// Its VM: every CPU of the board.
const MGMT_VM_CPUS: u32 = 4;
/// What Linux says of the machine its device tree describes.
const PI_MODEL: &str = "Machine model: Raspberry Pi 4 Model B";
/// The interrupt handler of the mini-UART's 8250 driver (serial1 = ttyS1).
const MINI_UART_HANDLER: &str = "ttyS1";

/// Linux in the management VM reaches its `/init` on all 4 vCPUs, with
/// the mini-UART cordon emulates as its console, and cordonctl reaches
/// cordon.
#[test]
fn mgmt_vm_reaches_init_on_four_cpus() {
    let expect = Expect::within(MGMT_VM_DEADLINE)
        .line("VM mgmt: 4 vCPUs on CPUs [0, 1, 2, 3]")
        .line(PI_MODEL)
        .line(marker::INIT_STARTED)
        .line(marker::CPUS_ONLINE)
        .line(marker::CORDONCTL_END)
        .line(marker::INTERRUPTS_END)
        .forbid("Kernel panic");
    let transcript = boot_expecting(&config_machine(MGMT_ONLY).machine(), expect);
    let interrupts = check_mgmt_vm_cpus(&transcript, MGMT_VM_CPUS);
    assert!(
        interrupts.handled_by(MINI_UART_HANDLER).is_some(),
        "the console is not the mini-UART's driver\n{transcript}"
    );
}

/// `boards/rpi4/configs/dma-copy.toml`, as `cargo xtask test` names it.
const DMA_COPY: &str = "rpi4-dma-copy";
/// Its VM, which runs the hostile guest in `hostile.dma-copy` mode.
const DMA_VM: &str = "dma";
/// cordon's line about the VM: its RAM at physical 256 MiB is seen at
/// guest-physical 0.
const NOT_ONE_TO_ONE: [&str; 2] = [
    "VM dma: 1 vCPUs on CPUs [1], RAM 0x0000000010000000-0x000000002fffffff",
    "at guest-physical 0x0,",
];
/// What the guest prints when the copy arrived, and when it did not.
const COPIED: &str = "[dma] dma: copied 256 bytes from ";
const FAILED: &str = "dma: FAILED";
/// Where the config puts the VM's RAM, and the bus address of physical 0
/// on `/soc` (`dma-ranges = <0xc0000000 0x0 0x0 0x40000000>`).
const RAM_PHYSICAL: u64 = 0x1000_0000;
const SOC_BUS_OF_PHYSICAL_0: u64 = 0xc000_0000;
/// cordon's option that leaves the board's `dma-ranges` unchanged.
const DMA_RANGES_AS_ON_HOST: &str = "cordon.dma-ranges=as-on-host";

#[test]
fn dma_of_a_vm_not_mapped_one_to_one_arrives() {
    let expect = Expect::within(DEADLINE)
        .line("is trusted with DMA")
        .line(Pattern::line_with(&NOT_ONE_TO_ONE))
        .line(COPIED)
        .line(format!("VM {DMA_VM} powered off").as_str())
        .forbid(FAILED)
        .settle(SETTLE);
    let transcript = boot_expecting(&config_machine(DMA_COPY).machine(), expect);
    // The guest programmed the buffers' physical addresses on /soc's bus,
    // as the rewritten dma-ranges say, not their guest-physical ones.
    let copied = transcript
        .lines()
        .find(|line| line.contains(COPIED))
        .unwrap_or_else(|| panic!("no copy line\n{transcript}"));
    let buffers = buffer_addresses(copied);
    assert_eq!(buffers.len(), 2, "source and destination: {copied}");
    for (ipa, bus) in buffers {
        assert_eq!(
            bus,
            ipa + RAM_PHYSICAL + SOC_BUS_OF_PHYSICAL_0,
            "buffer at guest-physical {ipa:#x}: {copied}\n{transcript}"
        );
    }
}

/// The `(guest-physical start, bus address)` pairs of a copy line,
/// `... from <start>-<end> (bus <addr>) to <start>-<end> (bus <addr>)`.
fn buffer_addresses(line: &str) -> Vec<(u64, u64)> {
    let hex = |text: &str| u64::from_str_radix(text.trim_start_matches("0x"), 16).ok();
    line.split(" (bus ")
        .zip(line.split(" (bus ").skip(1))
        .filter_map(|(before, after)| {
            let span = before.rsplit(' ').next()?;
            let ipa = hex(span.split('-').next()?)?;
            let bus = hex(after.split(')').next()?)?;
            Some((ipa, bus))
        })
        .collect()
}

#[test]
fn copy_lines_are_read() {
    let line = "[dma] dma: copied 256 bytes from 0x1fc01000-0x1fc01100 (bus 0xefc01000) \
                to 0x1fc02000-0x1fc02100 (bus 0xefc02000)";
    assert_eq!(
        buffer_addresses(line),
        [(0x1fc0_1000, 0xefc0_1000), (0x1fc0_2000, 0xefc0_2000)]
    );
    assert_eq!(buffer_addresses("dma: FAILED"), []);
}

/// Without the rewrite the guest programs bus addresses for physical
/// addresses equal to its guest-physical ones: the copy does not arrive.
#[test]
fn dma_without_the_rewrite_does_not_arrive() {
    let machine = config_machine(DMA_COPY)
        .machine()
        .append(DMA_RANGES_AS_ON_HOST);
    let expect = Expect::within(DEADLINE)
        .line(DMA_RANGES_AS_ON_HOST)
        .line(Pattern::line_with(&NOT_ONE_TO_ONE))
        .line("[dma] dma: FAILED the data did not arrive")
        .forbid(COPIED)
        .settle(SETTLE);
    boot_expecting(&machine, expect);
}

/// `boards/rpi4/configs/sd-card.toml`, as `cargo xtask test` names it.
const SD_CARD: &str = "rpi4-sd-card";
/// cordon's line about its VM: RAM at physical 256 MiB seen at
/// guest-physical 0, one device (the SD host controller).
const SD_VM_NOT_ONE_TO_ONE: [&str; 3] = [
    "VM sd: 1 vCPUs on CPUs [0], RAM 0x0000000010000000-0x000000002fffffff",
    "at guest-physical 0x0,",
    "1 devices passed through",
];
/// Linux's SD host controller driver took the controller, and the card.
const SD_HOST_UP: &str = "mmc0: SDHCI controller on fe300000.mmc";
const SD_CARD_FOUND: &str = "mmcblk0: mmc0:";

/// The VM reads the first sector of a card made for this run, through the
/// controller whose clock, regulators and pins stay with cordon.
///
/// Its one vCPU also sleeps on the virtual timer alone, with no other vCPU
/// to wake it: the test that cordon's timer path never loses a tick (see
/// `virtual_timer` in `hypervisor/src/arch/aarch64/trap.rs`).
#[test]
fn vm_not_mapped_one_to_one_reads_the_sd_card() {
    let card = env::temp_dir().join(format!("cordon-sd-card-{}.img", std::process::id()));
    let text = test_disk::create(&card).expect("write the test card");
    let machine = config_machine(SD_CARD).machine().sd_card(&card);
    let expect = Expect::within(MGMT_VM_DEADLINE)
        .line(Pattern::line_with(&SD_VM_NOT_ONE_TO_ONE))
        .line(SD_HOST_UP)
        .line(SD_CARD_FOUND)
        .line(marker::SD_CARD_SAYS)
        .line(marker::POWERING_OFF)
        .forbid("Kernel panic")
        .forbid("sdhci-iproc: probe of");
    let transcript = boot_expecting(&machine, expect);
    let _ = std::fs::remove_file(&card);
    assert_eq!(
        value_after(transcript.lines(), marker::SD_CARD_SAYS),
        Some(text.as_str()),
        "the VM did not read this card\n{transcript}"
    );
    check_kept_clock(&transcript, "EMMC", "cprman-clock-28");
}

/// The rate cordon's log says the firmware reported for its clock
/// `firmware_name` is the rate Linux in the VM runs the clock `guest_name`
/// at.
fn check_kept_clock(transcript: &Transcript, firmware_name: &str, guest_name: &str) {
    let reported = value_after(
        transcript.lines(),
        &format!("firmware: {firmware_name} clock at "),
    );
    let in_guest = value_after(
        transcript.lines(),
        &format!("{}{guest_name} at ", marker::CLOCK),
    );
    assert!(
        reported.is_some(),
        "cordon reported no {firmware_name} rate\n{transcript}"
    );
    assert_eq!(
        reported, in_guest,
        "the VM's {guest_name} does not run at the firmware's {firmware_name} rate\n{transcript}"
    );
}

/// `boards/rpi4/configs/emmc2.toml`, as `cargo xtask test` names it.
const EMMC2: &str = "rpi4-emmc2";
/// cordon's line about the VM: not mapped 1:1, owning emmc2.
const EMMC2_VM_NOT_ONE_TO_ONE: [&str; 3] = [
    "VM emmc2: 1 vCPUs on CPUs [0], RAM 0x0000000010000000-0x000000002fffffff",
    "at guest-physical 0x0,",
    "1 devices passed through",
];
/// Linux's SD host driver took emmc2.
const EMMC2_HOST_UP: &str = "SDHCI controller on fe340000.mmc";

/// A Linux VM not mapped 1:1 owns emmc2, the controller of the Pi's own
/// card slot; its clock runs at the rate cordon asked the firmware for
/// through the VideoCore mailbox. QEMU's `raspi4b` puts no card on emmc2,
/// so the VM finds none: only a Pi shows the card read.
#[test]
fn vm_owning_emmc2_runs_it_on_the_firmware_clock_rate() {
    let expect = Expect::within(MGMT_VM_DEADLINE)
        .line(Pattern::line_with(&EMMC2_VM_NOT_ONE_TO_ONE))
        .line(EMMC2_HOST_UP)
        .line(marker::CLOCK)
        .line(marker::POWERING_OFF)
        .forbid("Kernel panic")
        .forbid("sdhci-iproc: probe of");
    let transcript = boot_expecting(&config_machine(EMMC2).machine(), expect);
    check_kept_clock(&transcript, "EMMC2", "cprman-clock-51");
}
