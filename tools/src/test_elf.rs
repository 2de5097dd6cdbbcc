//! Minimal ELF files for unit tests.

use object::elf;

/// A minimal aarch64 ELF: a file header, then program headers, then data.
pub struct TestElf {
    pub machine: elf::Machine,
    /// (type, vaddr, file bytes, memsz)
    pub segments: Vec<(elf::ProgramType, u64, Vec<u8>, u64)>,
}

impl TestElf {
    const EHDR_SIZE: usize = 64;
    const PHDR_SIZE: usize = 56;

    pub fn bytes(&self) -> Vec<u8> {
        let data_start = Self::EHDR_SIZE + Self::PHDR_SIZE * self.segments.len();
        let mut out = Vec::new();
        // e_ident: magic, ELFCLASS64, ELFDATA2LSB, EV_CURRENT, padding.
        out.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1]);
        out.resize(16, 0);
        out.extend_from_slice(&elf::ET_DYN.0.to_le_bytes());
        out.extend_from_slice(&self.machine.0.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes()); // e_version
        out.extend_from_slice(&0u64.to_le_bytes()); // e_entry
        out.extend_from_slice(&(Self::EHDR_SIZE as u64).to_le_bytes()); // e_phoff
        out.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
        out.extend_from_slice(&0u32.to_le_bytes()); // e_flags
        out.extend_from_slice(&(Self::EHDR_SIZE as u16).to_le_bytes());
        out.extend_from_slice(&(Self::PHDR_SIZE as u16).to_le_bytes());
        out.extend_from_slice(&(self.segments.len() as u16).to_le_bytes());
        out.extend_from_slice(&[0; 6]); // e_shentsize, e_shnum, e_shstrndx
        assert_eq!(out.len(), Self::EHDR_SIZE);

        let mut offset = data_start as u64;
        for (p_type, vaddr, data, memsz) in &self.segments {
            out.extend_from_slice(&p_type.0.to_le_bytes());
            out.extend_from_slice(&(elf::PF_R | elf::PF_X).0.to_le_bytes());
            out.extend_from_slice(&offset.to_le_bytes());
            out.extend_from_slice(&vaddr.to_le_bytes()); // p_vaddr
            out.extend_from_slice(&vaddr.to_le_bytes()); // p_paddr
            out.extend_from_slice(&(data.len() as u64).to_le_bytes());
            out.extend_from_slice(&memsz.to_le_bytes());
            out.extend_from_slice(&0x1000u64.to_le_bytes()); // p_align
            offset += data.len() as u64;
        }
        for (_, _, data, _) in &self.segments {
            out.extend_from_slice(data);
        }
        out
    }
}
