//! What the client needs of the shared region and the doorbell, so that
//! tests can put a fake cordon behind them.

/// The management region, by offsets from its start (all below
/// [`cordon_abi::REGION_SIZE`]), and its doorbell.
pub trait SharedRegion {
    /// Copies `out.len()` bytes from `offset`.
    fn read(&self, offset: usize, out: &mut [u8]);
    /// Copies `bytes` to `offset`.
    fn write(&mut self, offset: usize, bytes: &[u8]);
    /// Reads the 4-byte aligned word at `offset` in one access, as cordon
    /// writes it.
    fn read_word(&self, offset: usize) -> u32;
    /// Writes the doorbell, after every earlier write: cordon reads the
    /// request with sequence number `sequence`.
    fn ring(&mut self, sequence: u32);
}
