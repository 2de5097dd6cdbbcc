//! `config.txt`, which the Raspberry Pi's firmware reads from the card
//! before it starts anything on the ARM cores.

/// The file's name on the card.
pub const CONFIG_TXT: &str = "config.txt";

/// The settings that start `kernel` (U-Boot) at EL2 in AArch64 state, with
/// the mini-UART on GPIO 14/15 usable: `enable_uart=1` holds the core clock
/// steady, which the mini-UART's baud rate is derived from.
pub fn config_txt(kernel: &str) -> String {
    format!(
        "# Made by `cargo xtask sdcard` (cordon): start U-Boot in 64-bit mode with the\n\
         # serial console on GPIO 14 (TXD) and 15 (RXD).\n\
         arm_64bit=1\n\
         enable_uart=1\n\
         kernel={kernel}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_the_given_kernel_in_64_bit_mode_with_the_uart() {
        let text = config_txt("u-boot.bin");
        let settings: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            settings,
            ["arm_64bit=1", "enable_uart=1", "kernel=u-boot.bin"]
        );
    }
}
