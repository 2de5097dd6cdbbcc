//! What the guest does, from its bootargs (`/chosen/bootargs`, the
//! config's `bootargs`): probe (the default), `hostile.heartbeat`,
//! `hostile.reset-loop`, `hostile.abort-storm`, `hostile.channel-send`,
//! `hostile.channel-receive` or `hostile.dma-copy`.

/// Bootargs words that choose a mode. `hostile.reset-loop` may carry a
/// value (`hostile.reset-loop=N`), which is ignored: the guest keeps
/// nothing from one life to the next, so it cannot count its lives.
const HEARTBEAT: &str = "hostile.heartbeat";
const RESET_LOOP: &str = "hostile.reset-loop";
const ABORT_STORM: &str = "hostile.abort-storm";
const CHANNEL_SEND: &str = "hostile.channel-send";
const CHANNEL_RECEIVE: &str = "hostile.channel-receive";
const DMA_COPY: &str = "hostile.dma-copy";
const VALUE_SEPARATOR: char = '=';

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    /// Run every probe, print the summary, power off.
    Probe,
    /// Print `heartbeat <n>` every 100 ms, forever: the neighbour whose
    /// heartbeat must not stop while another VM attacks.
    Heartbeat,
    /// Print `reset-loop: life` and reset the VM (PSCI SYSTEM_RESET) at once.
    ResetLoop,
    /// Access memory it was not given, forever, counting the aborts.
    AbortStorm,
    /// Write a message into its channel's shared memory, ring the peer's
    /// doorbell, power off.
    ChannelSend,
    /// Wait for its channel's doorbell, print the message, power off.
    ChannelReceive,
    /// Copy a buffer with its BCM2835 DMA engine, at the bus addresses its
    /// device tree's `dma-ranges` give, check the copy, power off.
    DmaCopy,
}

impl Mode {
    /// The mode the first word that names one asks for; `Probe` if none.
    pub fn of(bootargs: &str) -> Self {
        bootargs
            .split_whitespace()
            .find_map(|word| {
                let name = word.split(VALUE_SEPARATOR).next().unwrap_or(word);
                match name {
                    HEARTBEAT => Some(Self::Heartbeat),
                    RESET_LOOP => Some(Self::ResetLoop),
                    ABORT_STORM => Some(Self::AbortStorm),
                    CHANNEL_SEND => Some(Self::ChannelSend),
                    CHANNEL_RECEIVE => Some(Self::ChannelReceive),
                    DMA_COPY => Some(Self::DmaCopy),
                    _ => None,
                }
            })
            .unwrap_or(Self::Probe)
    }
}
