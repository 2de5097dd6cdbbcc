//! The EVE API v2 endpoints a device calls, under `/api/v2/edgedevice/`.

/// Every endpoint's prefix.
pub const PREFIX: &str = "/api/v2/edgedevice";

/// An endpoint; the per-device ones need the device UUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Certs,
    Register,
    Uuid,
    Attest,
    Config,
    Info,
    Metrics,
    NewLogs,
}

impl Endpoint {
    /// The path, under [`PREFIX`]; `device` is used by per-device ones.
    pub fn path(self, device: &str) -> String {
        let per_device = |name: &str| format!("{PREFIX}/id/{device}/{name}");
        match self {
            Self::Certs => format!("{PREFIX}/certs"),
            Self::Register => format!("{PREFIX}/register"),
            Self::Uuid => format!("{PREFIX}/uuid"),
            Self::Attest => per_device("attest"),
            Self::Config => per_device("config"),
            Self::Info => per_device("info"),
            Self::Metrics => per_device("metrics"),
            Self::NewLogs => per_device("newlogs"),
        }
    }

    /// The endpoint a request path names, and the device UUID in it.
    pub fn parse(path: &str) -> Option<(Self, Option<&str>)> {
        let rest = path.strip_prefix(PREFIX)?.strip_prefix('/')?;
        match rest {
            "certs" => return Some((Self::Certs, None)),
            "register" => return Some((Self::Register, None)),
            "uuid" => return Some((Self::Uuid, None)),
            _ => {}
        }
        let (device, name) = rest.strip_prefix("id/")?.split_once('/')?;
        let endpoint = match name {
            "attest" => Self::Attest,
            "config" => Self::Config,
            "info" => Self::Info,
            "metrics" => Self::Metrics,
            "newlogs" => Self::NewLogs,
            _ => return None,
        };
        Some((endpoint, Some(device)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Endpoint; 8] = [
        Endpoint::Certs,
        Endpoint::Register,
        Endpoint::Uuid,
        Endpoint::Attest,
        Endpoint::Config,
        Endpoint::Info,
        Endpoint::Metrics,
        Endpoint::NewLogs,
    ];

    #[test]
    fn per_device_paths_carry_the_uuid() {
        assert_eq!(
            Endpoint::Config.path("abc"),
            "/api/v2/edgedevice/id/abc/config"
        );
        assert_eq!(Endpoint::Certs.path("abc"), "/api/v2/edgedevice/certs");
    }

    #[test]
    fn every_path_parses_back() {
        for endpoint in ALL {
            let path = endpoint.path("d1");
            let (parsed, device) = Endpoint::parse(&path).expect("parses");
            assert_eq!(parsed, endpoint);
            assert!(device.is_none() || device == Some("d1"));
        }
        assert_eq!(Endpoint::parse("/api/v2/edgedevice/id/d1/nothing"), None);
    }
}
