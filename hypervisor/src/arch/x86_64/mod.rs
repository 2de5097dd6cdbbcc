//! x86-64 with Intel VT-x, booted by a multiboot2 loader (GRUB).
//!
//! Pure, host-testable pieces: [`acpi`] (finding firmware tables),
//! [`madt`] (the CPUs the firmware lists), [`exception`] (naming and
//! decoding exceptions) and [`vmx`] (VT-x feature checks, control words,
//! extended page tables, bitmaps, exit reasons). The rest drives the CPU:
//! `entry` (multiboot2 header, 32-bit entry, long mode, the AP trampoline),
//! [`start`] (from entry to the boot report), [`console`] (COM1 and the
//! logger), [`gdt`] (each CPU's GDT and TSS), [`memory`] (free RAM and the
//! heap), [`idt`] (exception vectors and their report), [`lapic`] (the
//! local APIC), [`pic`] (the legacy PICs, masked), [`partition`] (the
//! VMs of the embedded partition config), [`smp`]
//! (INIT-SIPI-SIPI) and [`cpu`] (instructions and registers).

pub mod acpi;
pub mod exception;
pub mod madt;
pub mod vmx;

#[cfg(all(target_arch = "x86_64", target_os = "none"))]
pub mod board;
#[cfg(all(target_arch = "x86_64", target_os = "none"))]
pub mod console;
#[cfg(all(target_arch = "x86_64", target_os = "none"))]
pub mod cpu;
#[cfg(all(target_arch = "x86_64", target_os = "none"))]
pub mod entry;
#[cfg(all(target_arch = "x86_64", target_os = "none"))]
mod fatal;
#[cfg(all(target_arch = "x86_64", target_os = "none"))]
pub mod gdt;
#[cfg(all(target_arch = "x86_64", target_os = "none"))]
pub mod idt;
#[cfg(all(target_arch = "x86_64", target_os = "none"))]
pub mod lapic;
#[cfg(all(target_arch = "x86_64", target_os = "none"))]
pub mod memory;
#[cfg(all(target_arch = "x86_64", target_os = "none"))]
pub mod partition;
#[cfg(all(target_arch = "x86_64", target_os = "none"))]
pub mod pic;
#[cfg(all(target_arch = "x86_64", target_os = "none"))]
pub mod smp;
#[cfg(all(target_arch = "x86_64", target_os = "none"))]
pub mod start;
