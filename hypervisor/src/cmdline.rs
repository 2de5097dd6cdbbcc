//! cordon's options on its command line: `cordon.<name>=<value>` words,
//! whatever the loader (device tree `bootargs`, multiboot2) passed them in.

/// The value of `cordon.<name>=` in `command_line`, if given.
pub fn option<'a>(command_line: &'a str, name: &str) -> Option<&'a str> {
    command_line.split_ascii_whitespace().find_map(|arg| {
        let (key, value) = arg.split_once('=')?;
        (key.strip_prefix("cordon.")? == name).then_some(value)
    })
}

#[cfg(test)]
mod tests {
    use super::option;

    #[test]
    fn options_are_cordon_prefixed_words() {
        let line = "console=ttyS0 cordon.log=debug log=trace cordon.selftest=fault";
        assert_eq!(option(line, "log"), Some("debug"));
        assert_eq!(option(line, "selftest"), Some("fault"));
        assert_eq!(option(line, "console"), None);
        assert_eq!(option("", "log"), None);
    }
}
