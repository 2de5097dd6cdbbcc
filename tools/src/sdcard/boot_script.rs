//! The U-Boot script (`boot.scr`'s source) that boots cordon from the card:
//! it loads cordon's image and every boot module from the partition the
//! script was found on, describes each module in the device tree's `/chosen`
//! as cordon reads them (the Multiboot for Arm binding, which QEMU's
//! `guest-loader` follows too), and starts cordon with `booti`.
//!
//! Only U-Boot's standard variables are used, so one script works on every
//! board whose U-Boot runs it through distro boot: `devtype`, `devnum` and
//! `distro_bootpart` (where the script is), `kernel_addr_r` (where to load
//! an Image) and `fdt_addr` (the device tree the firmware or QEMU gave).

use std::fmt::{self, Write};

/// Two cells for an address and two for a size in the module nodes' `reg`:
/// set on `/chosen`, which cordon reads them from before the root's.
const MODULE_CELLS: u32 = 2;
/// Room the script makes in the device tree for the module nodes.
const DT_EXTRA_BYTES: u32 = 0x1000;
/// The compatible every boot module has, and the one saying what it holds.
const MODULE_COMPATIBLE: &str = "multiboot,module";
/// Set when a step fails. (U-Boot 2023.01's `exit` does not end a script
/// from inside `cmd || exit`: the steps go on, and only `booti` waits on this.)
const FAILED_VAR: &str = "cordon_failed";
/// Characters U-Boot's shell would take as the end of a quoted string, a
/// variable or an escape inside double quotes.
const SHELL_SPECIAL: [char; 3] = ['"', '$', '\\'];

/// What a boot module holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleKind {
    Kernel,
    Ramdisk,
}

impl ModuleKind {
    fn compatible(self) -> &'static str {
        match self {
            ModuleKind::Kernel => "multiboot,kernel",
            ModuleKind::Ramdisk => "multiboot,ramdisk",
        }
    }
}

/// A file on the card that the script puts into RAM for cordon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    /// Its path on the card's partition.
    pub file: String,
    /// Where the partition config places it.
    pub address: u64,
    pub kind: ModuleKind,
    /// A kernel's command line.
    pub bootargs: Option<String>,
}

/// Why no script could be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptError {
    /// A kernel command line holds a character U-Boot's shell would not
    /// pass on as it is.
    UnquotableBootargs { file: String, character: char },
    /// A path on the card with a character the script cannot name.
    UnquotableFile { file: String },
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScriptError::UnquotableBootargs { file, character } => write!(
                f,
                "the command line of {file} holds {character:?}, which U-Boot's shell would \
                 interpret inside the boot script's quotes"
            ),
            ScriptError::UnquotableFile { file } => write!(
                f,
                "{file:?} cannot be named in a U-Boot script (use letters, digits, `-`, `_`, \
                 `.` and `/`)"
            ),
        }
    }
}

impl std::error::Error for ScriptError {}

/// The script that loads `cordon` (its path on the card) and `modules`,
/// describes the modules in `/chosen` and boots cordon. Each step that
/// fails keeps `booti` from running: the script says so and returns, and
/// U-Boot goes on to its next boot device instead of starting cordon
/// without what it needs.
pub fn boot_script(cordon: &str, modules: &[Module]) -> Result<String, ScriptError> {
    check_file(cordon)?;
    let mut script = String::from(
        "# cordon's boot script, made by `cargo xtask sdcard`: loads cordon and its VMs'\n\
         # boot modules from this partition, describes the modules in /chosen of the\n\
         # device tree and starts cordon.\n",
    );
    line(
        &mut script,
        format_args!(
            "echo \"cordon: booting {cordon} from ${{devtype}} ${{devnum}}:${{distro_bootpart}}\""
        ),
    );
    line(&mut script, format_args!("setenv {FAILED_VAR}"));
    load(&mut script, "${kernel_addr_r}", cordon);
    step(&mut script, format_args!("fdt addr ${{fdt_addr}}"));
    if !modules.is_empty() {
        step(&mut script, format_args!("fdt resize {DT_EXTRA_BYTES:#x}"));
        for cells in ["#address-cells", "#size-cells"] {
            step(
                &mut script,
                format_args!("fdt set /chosen \"{cells}\" <{MODULE_CELLS:#x}>"),
            );
        }
    }
    for module in modules {
        describe(&mut script, module)?;
    }
    line(
        &mut script,
        format_args!(
            "if test -n \"${{{FAILED_VAR}}}\"; then echo \"cordon: a step above failed; not \
             starting cordon\"; else booti ${{kernel_addr_r}} - ${{fdt_addr}}; fi"
        ),
    );
    Ok(script)
}

/// Loads `module` and adds its node to `/chosen`.
fn describe(script: &mut String, module: &Module) -> Result<(), ScriptError> {
    check_file(&module.file)?;
    let address = format!("{:#x}", module.address);
    load(script, &address, &module.file);
    let node = format!("/chosen/module@{:x}", module.address);
    step(
        script,
        format_args!("fdt mknode /chosen module@{:x}", module.address),
    );
    step(
        script,
        format_args!(
            "fdt set {node} compatible \"{}\" \"{MODULE_COMPATIBLE}\"",
            module.kind.compatible()
        ),
    );
    let (high, low) = (
        module.address >> u32::BITS,
        module.address & u64::from(u32::MAX),
    );
    // `filesize` is what the `load` just before read, in hex without `0x`.
    step(
        script,
        format_args!("fdt set {node} reg <{high:#x} {low:#x} 0x0 0x${{filesize}}>"),
    );
    if let Some(bootargs) = &module.bootargs {
        if let Some(character) = bootargs.chars().find(|c| SHELL_SPECIAL.contains(c)) {
            return Err(ScriptError::UnquotableBootargs {
                file: module.file.clone(),
                character,
            });
        }
        step(
            script,
            format_args!("fdt set {node} bootargs \"{bootargs}\""),
        );
    }
    Ok(())
}

/// Loads `file` from the script's partition to `address`.
fn load(script: &mut String, address: &str, file: &str) {
    step(
        script,
        format_args!("load ${{devtype}} ${{devnum}}:${{distro_bootpart}} {address} {file}"),
    );
}

/// A command whose failure sets [`FAILED_VAR`].
fn step(script: &mut String, command: fmt::Arguments<'_>) {
    line(script, format_args!("{command} || setenv {FAILED_VAR} 1"));
}

fn line(script: &mut String, text: fmt::Arguments<'_>) {
    script.write_fmt(text).expect("writing to a String");
    script.push('\n');
}

/// Paths go into the script unquoted: only plain characters.
fn check_file(file: &str) -> Result<(), ScriptError> {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./".contains(c);
    if !file.is_empty() && file.chars().all(plain) {
        Ok(())
    } else {
        Err(ScriptError::UnquotableFile {
            file: file.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The last line: boot unless a step failed.
    const BOOT: &str = "if test -n \"${cordon_failed}\"; then echo \"cordon: a step above failed; \
                        not starting cordon\"; else booti ${kernel_addr_r} - ${fdt_addr}; fi";

    /// The lines that are not comments.
    fn commands(script: &str) -> Vec<&str> {
        script
            .lines()
            .filter(|line| !line.starts_with('#'))
            .collect()
    }

    #[test]
    fn cordon_alone_is_loaded_and_booted_with_the_given_device_tree() {
        let script = boot_script("cordon.bin", &[]).unwrap();
        assert_eq!(
            commands(&script),
            [
                "echo \"cordon: booting cordon.bin from ${devtype} ${devnum}:${distro_bootpart}\"",
                "setenv cordon_failed",
                "load ${devtype} ${devnum}:${distro_bootpart} ${kernel_addr_r} cordon.bin || setenv cordon_failed 1",
                "fdt addr ${fdt_addr} || setenv cordon_failed 1",
                BOOT,
            ]
        );
    }

    #[test]
    fn each_module_is_loaded_where_placed_and_described_in_chosen() {
        let modules = [
            Module {
                file: "vms/mgmt/kernel".to_owned(),
                address: 0x3000_0000,
                kind: ModuleKind::Kernel,
                bootargs: Some("console=ttyAMA0 rdinit=/init".to_owned()),
            },
            Module {
                file: "vms/mgmt/initrd".to_owned(),
                address: 0x1_3200_0000,
                kind: ModuleKind::Ramdisk,
                bootargs: None,
            },
        ];
        let script = boot_script("cordon.bin", &modules).unwrap();
        let commands = commands(&script);
        assert_eq!(
            commands[4..],
            [
                "fdt resize 0x1000 || setenv cordon_failed 1",
                "fdt set /chosen \"#address-cells\" <0x2> || setenv cordon_failed 1",
                "fdt set /chosen \"#size-cells\" <0x2> || setenv cordon_failed 1",
                "load ${devtype} ${devnum}:${distro_bootpart} 0x30000000 vms/mgmt/kernel || setenv cordon_failed 1",
                "fdt mknode /chosen module@30000000 || setenv cordon_failed 1",
                "fdt set /chosen/module@30000000 compatible \"multiboot,kernel\" \
                 \"multiboot,module\" || setenv cordon_failed 1",
                "fdt set /chosen/module@30000000 reg <0x0 0x30000000 0x0 0x${filesize}> || setenv cordon_failed 1",
                "fdt set /chosen/module@30000000 bootargs \"console=ttyAMA0 rdinit=/init\" || setenv cordon_failed 1",
                "load ${devtype} ${devnum}:${distro_bootpart} 0x132000000 vms/mgmt/initrd || setenv cordon_failed 1",
                "fdt mknode /chosen module@132000000 || setenv cordon_failed 1",
                "fdt set /chosen/module@132000000 compatible \"multiboot,ramdisk\" \
                 \"multiboot,module\" || setenv cordon_failed 1",
                "fdt set /chosen/module@132000000 reg <0x1 0x32000000 0x0 0x${filesize}> || setenv cordon_failed 1",
                BOOT,
            ]
        );
    }

    #[test]
    fn refuses_what_the_shell_would_interpret() {
        let module = |bootargs: &str| Module {
            file: "k".to_owned(),
            address: 0,
            kind: ModuleKind::Kernel,
            bootargs: Some(bootargs.to_owned()),
        };
        for (bootargs, character) in [("a=\"b c\"", '"'), ("x=$HOME", '$'), ("a\\b", '\\')] {
            assert_eq!(
                boot_script("cordon.bin", &[module(bootargs)]),
                Err(ScriptError::UnquotableBootargs {
                    file: "k".to_owned(),
                    character
                })
            );
        }
        for file in ["my vm", "", "a;reset"] {
            assert_eq!(
                boot_script(file, &[]),
                Err(ScriptError::UnquotableFile {
                    file: file.to_owned()
                })
            );
        }
    }
}
