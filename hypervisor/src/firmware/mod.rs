//! What only the board's firmware knows. On a Raspberry Pi, cordon asks the
//! VideoCore firmware once at boot, through its mailbox, for the rates of
//! the clocks that passed-through devices keep
//! (`FirmwareClock::KEPT`): a VM's SD controller then runs on a fixed
//! clock of the rate the firmware set (see guest-loader's
//! `device_tree::kept_resources`). Boards without such firmware name no
//! mailbox, and VMs there keep no clocks.

pub mod property;

#[cfg(all(target_arch = "aarch64", target_os = "none"))]
mod mailbox;

use alloc::vec::Vec;

use cordon_guest_loader::device_tree::FirmwareClockRate;
use fdt::Fdt;
use spin::Once;

use crate::board::Board;
use crate::dt::{self, AddressError};

static CLOCK_RATES: Once<Vec<FirmwareClockRate>> = Once::new();

/// The board's firmware mailbox: its device-tree path, and its CPU
/// address (cordon maps it as device memory) or why it has none.
#[derive(Clone, Copy, Debug)]
pub struct MailboxAt {
    pub path: &'static str,
    pub base: Result<u64, AddressError<'static>>,
}

/// Where the board's firmware mailbox is, if the board names one.
pub fn mailbox_address(fdt: &Fdt, board: &'static Board) -> Option<MailboxAt> {
    let path = board.firmware_mailbox?;
    Some(MailboxAt {
        path,
        base: dt::translate_to_cpu(fdt, path).map(|(base, _)| base),
    })
}

/// The clock rates the firmware reported at boot (none if it was not
/// asked or did not answer).
pub fn clock_rates() -> &'static [FirmwareClockRate] {
    CLOCK_RATES.get().map_or(&[], Vec::as_slice)
}

/// Asks the firmware, through the mailbox at `at`, for the rate of every
/// kept clock and logs what it says. Call once, on the boot CPU, after the
/// mailbox's page was mapped.
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub fn query_clock_rates(fdt: &Fdt, at: MailboxAt) {
    use cordon_guest_loader::device_tree::FirmwareClock;
    use log::{info, warn};

    let MailboxAt { path, base } = at;
    let base = match base {
        Ok(base) => base,
        Err(err) => {
            warn!("firmware: no mailbox: {err}; clock rates unknown");
            return;
        }
    };
    // SAFETY: `mmu::build` mapped the mailbox's page as device memory; only
    // the boot CPU runs, before any VM that could own the mailbox.
    let mailbox = unsafe { mailbox::Mailbox::new(base) };
    let mut rates = Vec::new();
    for clock in FirmwareClock::KEPT {
        match clock_rate(fdt, path, &mailbox, clock) {
            Ok(rate_hz) => {
                info!("firmware: {} clock at {rate_hz} Hz", clock.name());
                rates.push(FirmwareClockRate { clock, rate_hz });
            }
            Err(err) => warn!(
                "firmware: {} clock rate unknown ({err}): a VM whose device runs on it \
                 will not start",
                clock.name()
            ),
        }
    }
    CLOCK_RATES.call_once(|| rates);
}

/// Why the firmware did not give a clock's rate.
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
enum QueryError {
    /// The message buffer is beyond the reach of the firmware's bus.
    BufferOutOfReach {
        pa: u64,
    },
    DeviceTree(cordon_guest_loader::device_tree::GuestDtError),
    Mailbox(mailbox::MailboxError),
    Reply(property::PropertyError),
}

#[cfg(all(target_arch = "aarch64", target_os = "none"))]
impl core::fmt::Display for QueryError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::BufferOutOfReach { pa } => {
                write!(
                    f,
                    "the message buffer at {pa:#x} is out of the firmware's reach"
                )
            }
            Self::DeviceTree(err) => write!(f, "{err}"),
            Self::Mailbox(err) => write!(f, "mailbox: {err}"),
            Self::Reply(err) => write!(f, "{err}"),
        }
    }
}

/// One clock-rate request, in a buffer on this CPU's stack (cordon's image
/// is identity-mapped, so its address is physical).
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
fn clock_rate(
    fdt: &Fdt,
    mailbox_path: &str,
    mailbox: &mailbox::Mailbox,
    clock: cordon_guest_loader::device_tree::FirmwareClock,
) -> Result<u32, QueryError> {
    let mut buffer = mailbox::MessageBuffer(property::clock_rate_request(clock.id()));
    let pa = &raw const buffer as u64;
    let bus = cordon_guest_loader::device_tree::bus_address(fdt, mailbox_path, pa)
        .map_err(QueryError::DeviceTree)?
        .ok_or(QueryError::BufferOutOfReach { pa })?;
    mailbox
        .exchange(&mut buffer, bus)
        .map_err(QueryError::Mailbox)?;
    property::clock_rate(&buffer.0, clock.id()).map_err(QueryError::Reply)
}
