//! The Rust targets that `rust-toolchain.toml` lists, added with rustup when
//! missing.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::error::{Error, Result};
use crate::exec;

const TOOLCHAIN_FILE: &str = "rust-toolchain.toml";

/// Adds the targets of the workspace's `rust-toolchain.toml` that rustup lacks.
pub fn ensure_targets(workspace_root: &Path) -> Result<()> {
    let path = workspace_root.join(TOOLCHAIN_FILE);
    let text = fs::read_to_string(&path)
        .map_err(|error| Error::io(format!("cannot read {}", path.display()), error))?;
    let wanted = targets(&text)
        .map_err(|reason| Error::Prerequisite(format!("{}: {reason}", path.display())))?;
    let installed = exec::output(Command::new("rustup").current_dir(workspace_root).args([
        "target",
        "list",
        "--installed",
    ]))?;
    let missing: Vec<&str> = wanted
        .iter()
        .map(String::as_str)
        .filter(|target| !installed.lines().any(|line| line.trim() == *target))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    exec::run(
        Command::new("rustup")
            .current_dir(workspace_root)
            .args(["target", "add"])
            .args(&missing),
    )
}

/// The `toolchain.targets` list of a `rust-toolchain.toml`.
fn targets(toml_text: &str) -> Result<Vec<String>, String> {
    let table: toml::Table = toml_text.parse().map_err(|error| format!("{error}"))?;
    let Some(targets) = table
        .get("toolchain")
        .and_then(|toolchain| toolchain.get("targets"))
    else {
        return Ok(Vec::new());
    };
    let targets = targets
        .as_array()
        .ok_or("toolchain.targets is not a list")?;
    targets
        .iter()
        .map(|target| {
            target
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("toolchain.targets has a non-string entry: {target:?}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_target_list() {
        let text = "[toolchain]\nchannel = \"1.95.0\"\ntargets = [\n    \"aarch64-unknown-none\",\n    \"x86_64-unknown-none\",\n]\n";
        assert_eq!(
            targets(text).unwrap(),
            ["aarch64-unknown-none", "x86_64-unknown-none"]
        );
    }

    #[test]
    fn no_list_means_no_targets() {
        assert_eq!(
            targets("[toolchain]\nchannel = \"stable\"\n").unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn malformed_lists_are_errors() {
        assert!(targets("[toolchain]\ntargets = \"aarch64\"\n").is_err());
        assert!(targets("[toolchain]\ntargets = [1]\n").is_err());
        assert!(targets("[toolchain\n").is_err());
    }
}
