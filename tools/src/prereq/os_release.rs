//! Which Linux distribution this is, from `/etc/os-release`.

use std::fs;

const OS_RELEASE: &str = "/etc/os-release";

/// The fields of `/etc/os-release` that choose how to install packages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OsRelease {
    /// `ID`, e.g. `debian` or `ubuntu`.
    pub id: String,
    /// `ID_LIKE`, e.g. `debian` on Ubuntu.
    pub id_like: Vec<String>,
    /// `VERSION_CODENAME`, e.g. `bookworm`.
    pub codename: String,
    /// `PRETTY_NAME`, for messages.
    pub pretty_name: String,
}

impl OsRelease {
    /// Reads this machine's `/etc/os-release`; empty if it has none.
    pub fn read() -> Self {
        fs::read_to_string(OS_RELEASE)
            .map(|text| Self::parse(&text))
            .unwrap_or_default()
    }

    /// Parses `KEY=value` lines, with optional shell quotes.
    pub fn parse(text: &str) -> Self {
        let mut release = Self::default();
        for line in text.lines() {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let value = unquote(value.trim());
            match key.trim() {
                "ID" => release.id = value,
                "ID_LIKE" => {
                    release.id_like = value.split_whitespace().map(str::to_owned).collect()
                }
                "VERSION_CODENAME" => release.codename = value,
                "PRETTY_NAME" => release.pretty_name = value,
                _ => {}
            }
        }
        release
    }

    /// Whether this is Debian or a distribution based on it (apt, dpkg).
    pub fn is_debian_like(&self) -> bool {
        self.id == "debian" || self.id_like.iter().any(|like| like == "debian")
    }

    /// Whether this is Debian 12.
    pub fn is_debian_bookworm(&self) -> bool {
        self.id == "debian" && self.codename == "bookworm"
    }

    /// A name for messages.
    pub fn describe(&self) -> &str {
        match (self.pretty_name.as_str(), self.id.as_str()) {
            ("", "") => "this system",
            ("", id) => id,
            (pretty, _) => pretty,
        }
    }
}

fn unquote(value: &str) -> String {
    let quoted = |q: char| value.len() >= 2 && value.starts_with(q) && value.ends_with(q);
    if quoted('"') || quoted('\'') {
        value[1..value.len() - 1].to_owned()
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_debian_bookworm() {
        let release = OsRelease::parse(
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n",
        );
        assert!(release.is_debian_bookworm());
        assert!(release.is_debian_like());
        assert_eq!(release.describe(), "Debian GNU/Linux 12 (bookworm)");
    }

    #[test]
    fn ubuntu_is_debian_like_but_not_bookworm() {
        let release = OsRelease::parse("ID=ubuntu\nID_LIKE=debian\nVERSION_CODENAME=noble\n");
        assert!(release.is_debian_like());
        assert!(!release.is_debian_bookworm());
    }

    #[test]
    fn other_systems_are_neither() {
        let release = OsRelease::parse("ID='fedora'\n");
        assert_eq!(release.id, "fedora");
        assert!(!release.is_debian_like());
        assert_eq!(OsRelease::default().describe(), "this system");
    }
}
