//! The machine's apt sources: read in both formats (deb822 `.sources` files
//! and one-line `.list` files), and new sources written like existing ones.

use std::fs;
use std::path::Path;

use crate::error::{Error, Result};

const SOURCES_LIST: &str = "/etc/apt/sources.list";
const SOURCES_DIR: &str = "/etc/apt/sources.list.d";

/// One apt source entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Source {
    pub types: Vec<String>,
    pub uris: Vec<String>,
    pub suites: Vec<String>,
    pub components: Vec<String>,
    /// The `Signed-By` value as written: a keyring path, or an inline key
    /// whose continuation lines keep their deb822 indentation.
    pub signed_by: Option<String>,
}

impl Source {
    /// Whether this entry provides binary packages of `suite`.
    pub fn serves(&self, suite: &str) -> bool {
        self.types.iter().any(|kind| kind == "deb") && self.suites.iter().any(|s| s == suite)
    }

    /// Whether this entry provides binary packages of `suite`'s `component`.
    pub fn serves_component(&self, suite: &str, component: &str) -> bool {
        self.serves(suite) && self.components.iter().any(|c| c == component)
    }

    /// This entry as a deb822 stanza.
    pub fn to_deb822(&self) -> String {
        let mut stanza = format!(
            "Types: {}\nURIs: {}\nSuites: {}\nComponents: {}\n",
            self.types.join(" "),
            self.uris.join(" "),
            self.suites.join(" "),
            self.components.join(" ")
        );
        if let Some(signed_by) = &self.signed_by {
            stanza.push_str(&format!("Signed-By: {signed_by}\n"));
        }
        stanza
    }
}

/// Every enabled apt source of this machine.
pub fn read_system() -> Result<Vec<Source>> {
    let mut sources = Vec::new();
    let list = Path::new(SOURCES_LIST);
    if list.exists() {
        sources.extend(parse_one_line(&read(list)?));
    }
    let mut files: Vec<_> = match fs::read_dir(SOURCES_DIR) {
        Ok(entries) => entries
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    for path in files {
        match path.extension().and_then(|ext| ext.to_str()) {
            Some("list") => sources.extend(parse_one_line(&read(&path)?)),
            Some("sources") => sources.extend(parse_deb822(&read(&path)?)),
            _ => {}
        }
    }
    Ok(sources)
}

fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path)
        .map_err(|error| Error::io(format!("cannot read {}", path.display()), error))
}

/// Parses deb822 `.sources` text; stanzas with `Enabled: no` are left out.
pub fn parse_deb822(text: &str) -> Vec<Source> {
    let mut sources = Vec::new();
    for stanza in stanzas(text) {
        let mut source = Source::default();
        let mut enabled = true;
        for (key, value) in stanza {
            let words = || value.split_whitespace().map(str::to_owned).collect();
            match key.to_ascii_lowercase().as_str() {
                "types" => source.types = words(),
                "uris" => source.uris = words(),
                "suites" => source.suites = words(),
                "components" => source.components = words(),
                "signed-by" => source.signed_by = Some(value),
                "enabled" => enabled = value.trim() != "no",
                _ => {}
            }
        }
        if enabled {
            sources.push(source);
        }
    }
    sources
}

/// The fields of each stanza, with continuation lines joined by newlines.
fn stanzas(text: &str) -> Vec<Vec<(String, String)>> {
    let mut stanzas = Vec::new();
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        if line.trim().is_empty() {
            if !fields.is_empty() {
                stanzas.push(std::mem::take(&mut fields));
            }
        } else if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = fields.last_mut() {
                value.push('\n');
                value.push_str(line);
            }
        } else if let Some((key, value)) = line.split_once(':') {
            fields.push((key.trim().to_owned(), value.trim().to_owned()));
        }
    }
    if !fields.is_empty() {
        stanzas.push(fields);
    }
    stanzas
}

/// Parses one-line `sources.list` text: `deb [options] URI SUITE COMPONENT...`.
pub fn parse_one_line(text: &str) -> Vec<Source> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<Source> {
    let line = line.split('#').next()?.trim();
    let (kind, rest) = line.split_once(char::is_whitespace)?;
    if kind != "deb" && kind != "deb-src" {
        return None;
    }
    let rest = rest.trim_start();
    let (options, rest) = match rest.strip_prefix('[') {
        Some(bracketed) => bracketed.split_once(']')?,
        None => ("", rest),
    };
    let mut words = rest.split_whitespace().map(str::to_owned);
    let uri = words.next()?;
    let suite = words.next()?;
    let signed_by = options
        .split_whitespace()
        .find_map(|option| option.strip_prefix("signed-by="))
        .map(str::to_owned);
    Some(Source {
        types: vec![kind.to_owned()],
        uris: vec![uri],
        suites: vec![suite],
        components: words.collect(),
        signed_by,
    })
}

/// A source for `new_suite` (component main) on the mirror that serves
/// `suite`, with the same keyring, so apt sees no conflicting `Signed-By`.
pub fn sibling_source(sources: &[Source], suite: &str, new_suite: &str) -> Option<Source> {
    mirrored_source(sources, suite, new_suite, "main")
}

/// A source for `component` of `suite` (e.g. `non-free-firmware`) on the
/// mirror that serves `suite`, with the same keyring.
pub fn component_source(sources: &[Source], suite: &str, component: &str) -> Option<Source> {
    mirrored_source(sources, suite, suite, component)
}

/// A source for `new_suite`'s `component` on the mirror that serves `suite`.
fn mirrored_source(
    sources: &[Source],
    suite: &str,
    new_suite: &str,
    component: &str,
) -> Option<Source> {
    let mirror = sources.iter().find(|source| source.serves(suite))?;
    Some(Source {
        types: vec!["deb".to_owned()],
        uris: vec![mirror.uris.first()?.clone()],
        suites: vec![new_suite.to_owned()],
        components: vec![component.to_owned()],
        signed_by: mirror.signed_by.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEBIAN_SOURCES: &str = "\
Types: deb
# a comment
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://off.example/
Suites: bookworm
Components: main
Enabled: no
";

    #[test]
    fn reads_deb822_stanzas() {
        let sources = parse_deb822(DEBIAN_SOURCES);
        assert_eq!(sources.len(), 2);
        assert_eq!(sources[0].uris, ["http://mirror.example/debian"]);
        assert_eq!(sources[0].suites, ["bookworm", "bookworm-updates"]);
        assert!(sources[0].serves("bookworm"));
        assert!(!sources[1].serves("bookworm"));
    }

    #[test]
    fn backports_use_the_mirror_and_keyring_of_the_release() {
        let backports = sibling_source(
            &parse_deb822(DEBIAN_SOURCES),
            "bookworm",
            "bookworm-backports",
        )
        .unwrap();
        assert_eq!(
            backports.to_deb822(),
            "Types: deb\n\
             URIs: http://mirror.example/debian\n\
             Suites: bookworm-backports\n\
             Components: main\n\
             Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
        );
    }

    #[test]
    fn inline_keys_are_copied_verbatim() {
        let text = "Types: deb\nURIs: http://m/\nSuites: noble\nComponents: main\n\
                    Signed-By:\n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n abc\n";
        let source = &parse_deb822(text)[0];
        assert_eq!(
            source.signed_by.as_deref(),
            Some("\n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n abc")
        );
        assert!(
            source
                .to_deb822()
                .ends_with("Signed-By: \n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n abc\n")
        );
    }

    #[test]
    fn reads_one_line_sources() {
        let text = "\
# comment
deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://m/debian bookworm main contrib
deb-src http://m/debian bookworm main
deb http://m/debian bookworm-updates main # trailing comment
";
        let sources = parse_one_line(text);
        assert_eq!(sources.len(), 3);
        assert!(sources[0].serves("bookworm"));
        assert_eq!(sources[0].components, ["main", "contrib"]);
        assert_eq!(
            sources[0].signed_by.as_deref(),
            Some("/usr/share/keyrings/k.gpg")
        );
        assert!(!sources[1].serves("bookworm"));
        assert_eq!(sources[2].suites, ["bookworm-updates"]);
        let backports = sibling_source(&sources[1..], "bookworm-updates", "x").unwrap();
        assert_eq!(backports.signed_by, None);
        assert!(!backports.to_deb822().contains("Signed-By"));
    }

    #[test]
    fn a_component_of_the_release_on_its_mirror() {
        let sources = parse_deb822(DEBIAN_SOURCES);
        assert!(!sources[0].serves_component("bookworm", "non-free-firmware"));
        let firmware = component_source(&sources, "bookworm", "non-free-firmware").unwrap();
        assert!(firmware.serves_component("bookworm", "non-free-firmware"));
        assert_eq!(
            firmware.to_deb822(),
            "Types: deb\n\
             URIs: http://mirror.example/debian\n\
             Suites: bookworm\n\
             Components: non-free-firmware\n\
             Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
        );
    }

    #[test]
    fn no_mirror_for_an_unknown_suite() {
        assert_eq!(
            sibling_source(&parse_deb822(DEBIAN_SOURCES), "trixie", "x"),
            None
        );
    }
}
