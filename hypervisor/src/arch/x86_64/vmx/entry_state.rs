//! The state a guest's first vCPU starts in: real mode at an entry point
//! (the selftest's guests), or 64-bit mode as Linux's 64-bit boot protocol
//! wants it (paging on, flat `__BOOT_CS`/`__BOOT_DS` segments, RSI pointing
//! at the zero page, interrupts off). Plain data; `vcpu` writes it into the
//! VMCS.

/// Segment access rights (VMCS format): accessed read/write data, accessed
/// execute/read code, present, a code or data segment.
const TYPE_DATA: u32 = 0x3;
const TYPE_CODE: u32 = 0xb;
const CODE_OR_DATA: u32 = 1 << 4;
const PRESENT: u32 = 1 << 7;
/// 64-bit code segment (L), 32-bit default size (D/B), 4 KiB granularity.
const LONG: u32 = 1 << 13;
const DEFAULT_32: u32 = 1 << 14;
const GRANULARITY: u32 = 1 << 15;
/// A busy TSS (type 11): the only TR type VM entry accepts, as a 32-bit
/// TSS outside IA-32e mode and a 64-bit one in it.
const TSS_BUSY: u32 = 0xb | PRESENT;
/// The segment is unusable (the LDTR here).
pub const UNUSABLE: u32 = 1 << 16;
/// 64 KiB real-mode segments; flat 4 GiB ones; the smallest TSS.
const REAL_MODE_LIMIT: u32 = 0xffff;
const FLAT_LIMIT: u32 = 0xffff_ffff;
const TSS_LIMIT: u32 = 0x67;

/// Control-register and EFER bits.
const CR0_PE: u64 = 1 << 0;
const CR0_ET: u64 = 1 << 4;
const CR0_NE: u64 = 1 << 5;
const CR0_PG: u64 = 1 << 31;
const CR4_PAE: u64 = 1 << 5;
const EFER_LME: u64 = 1 << 8;
pub const EFER_LMA: u64 = 1 << 10;

/// A segment register as the VMCS holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub selector: u16,
    pub base: u64,
    pub limit: u32,
    pub access: u32,
}

/// The registers a guest starts with. `cr0` and `cr4` are what the guest
/// sees; `vcpu` adds the bits VMX needs underneath.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryState {
    /// CS; SS, DS, ES, FS and GS get `data`; TR `task`.
    pub code: Segment,
    pub data: Segment,
    pub task: Segment,
    pub gdtr: (u64, u32),
    /// Real mode's interrupt vector table at 0; none in 64-bit mode until
    /// the guest loads its IDT.
    pub idtr: (u64, u32),
    pub cr0: u64,
    pub cr3: u64,
    pub cr4: u64,
    pub efer: u64,
    pub rip: u64,
    pub rsp: u64,
    /// RSI: the zero page for Linux.
    pub rsi: u64,
}

impl EntryState {
    /// Real mode at `rip` (CS = 0) with the stack at `rsp`.
    pub fn real_mode(rip: u64, rsp: u64) -> Self {
        let segment = |access| Segment {
            selector: 0,
            base: 0,
            limit: REAL_MODE_LIMIT,
            access,
        };
        Self {
            code: segment(TYPE_CODE | CODE_OR_DATA | PRESENT),
            data: segment(TYPE_DATA | CODE_OR_DATA | PRESENT),
            task: segment(TSS_BUSY),
            gdtr: (0, REAL_MODE_LIMIT),
            idtr: (0, REAL_MODE_LIMIT),
            cr0: CR0_ET | CR0_NE,
            cr3: 0,
            cr4: 0,
            efer: 0,
            rip,
            rsp,
            rsi: 0,
        }
    }

    /// 64-bit mode at `rip` with the page tables at `cr3`, the GDT at
    /// `gdt` (`gdt_limit`) holding flat segments `code` and `data`, and RSI
    /// = `rsi`; no stack (the 64-bit boot protocol gives none).
    pub fn long_mode(rip: u64, cr3: u64, gdt: (u64, u16), selectors: (u16, u16), rsi: u64) -> Self {
        let (code, data) = selectors;
        let flat = |selector, access| Segment {
            selector,
            base: 0,
            limit: FLAT_LIMIT,
            access: access | CODE_OR_DATA | PRESENT | GRANULARITY,
        };
        Self {
            code: flat(code, TYPE_CODE | LONG),
            data: flat(data, TYPE_DATA | DEFAULT_32),
            task: Segment {
                selector: 0,
                base: 0,
                limit: TSS_LIMIT,
                access: TSS_BUSY,
            },
            gdtr: (gdt.0, u32::from(gdt.1)),
            idtr: (0, 0),
            cr0: CR0_PE | CR0_ET | CR0_NE | CR0_PG,
            cr3,
            cr4: CR4_PAE,
            efer: EFER_LME | EFER_LMA,
            rip,
            rsp: 0,
            rsi,
        }
    }

    /// Whether the guest starts in IA-32e mode (the VM-entry control).
    pub fn long(&self) -> bool {
        self.efer & EFER_LMA != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_mode_has_64_kib_segments_and_no_paging() {
        let state = EntryState::real_mode(0x1000, 0x8000);
        assert_eq!(state.code.access, 0x9b);
        assert_eq!(state.data.access, 0x93);
        assert_eq!(state.task.access, 0x8b);
        assert_eq!(state.code.limit, 0xffff);
        assert_eq!(state.cr0 & (CR0_PE | CR0_PG), 0);
        assert!(!state.long());
        assert_eq!((state.rip, state.rsp), (0x1000, 0x8000));
    }

    #[test]
    fn long_mode_is_what_the_64_bit_boot_protocol_wants() {
        let state = EntryState::long_mode(0x100_0200, 0x9000, (0x6000, 31), (0x10, 0x18), 0x7000);
        // A 64-bit code segment, flat 32-bit data, as a GDT would give.
        assert_eq!(state.code.access, 0xa09b);
        assert_eq!(state.data.access, 0xc093);
        assert_eq!((state.code.selector, state.data.selector), (0x10, 0x18));
        assert_eq!(state.cr0, 0x8000_0031);
        assert_eq!(state.cr4 & CR4_PAE, CR4_PAE);
        assert!(state.long());
        assert_eq!(state.efer & EFER_LME, EFER_LME);
        assert_eq!(
            (state.rip, state.cr3, state.rsi),
            (0x100_0200, 0x9000, 0x7000)
        );
        assert_eq!(state.gdtr, (0x6000, 31));
    }
}
