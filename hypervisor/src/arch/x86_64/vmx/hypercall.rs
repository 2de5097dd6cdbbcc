//! cordon's hypercalls on x86: VMCALL with the call number in EAX and its
//! argument in RBX; the result comes back in RAX.

/// Log RBX on cordon's console, tagged with the VM.
pub const LOG: u32 = 1;
/// RAX after a call that succeeded.
pub const SUCCESS: u64 = 0;
/// RAX after a call cordon does not know.
pub const UNKNOWN: u64 = u64::MAX;

/// A hypercall, decoded from the guest's RAX and RBX.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hypercall {
    Log(u64),
    Unknown(u32),
}

impl Hypercall {
    /// The call in the guest's registers. Only EAX counts: a guest in real
    /// or protected mode leaves RAX's upper half undefined.
    pub fn decode(rax: u64, rbx: u64) -> Self {
        match rax as u32 {
            LOG => Self::Log(rbx),
            other => Self::Unknown(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_decode_from_eax() {
        assert_eq!(Hypercall::decode(1, 0x1335), Hypercall::Log(0x1335));
        assert_eq!(
            Hypercall::decode(0xdead_0000_0000_0001, 7),
            Hypercall::Log(7)
        );
        assert_eq!(Hypercall::decode(0x7777, 0), Hypercall::Unknown(0x7777));
    }
}
