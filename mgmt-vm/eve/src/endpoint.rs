//! The EVE API v2 endpoints a device calls, under `/api/v2/edgedevice/`:
//! [`Endpoint`] for the device's own, [`app_logs_path`] for an app's logs.

/// Every endpoint's prefix.
pub const PREFIX: &str = "/api/v2/edgedevice";
/// What comes between the device and the app in an app logs path.
const APP_LOGS_INFIX: &str = "apps/instanceid";

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

/// The path of one app instance's logs (`newlogs` of app `app` of device
/// `device`), under [`PREFIX`].
pub fn app_logs_path(device: &str, app: &str) -> String {
    format!("{PREFIX}/id/{device}/{APP_LOGS_INFIX}/{app}/newlogs")
}

/// The device and app UUIDs an app logs path names.
pub fn parse_app_logs(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix(PREFIX)?.strip_prefix("/id/")?;
    let (device, rest) = rest.split_once('/')?;
    let app = rest
        .strip_prefix(APP_LOGS_INFIX)?
        .strip_prefix('/')?
        .strip_suffix("/newlogs")?;
    let single = |id: &str| !id.is_empty() && !id.contains('/');
    (single(device) && single(app)).then_some((device, app))
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

    #[test]
    fn app_logs_path_names_device_and_app() {
        let path = app_logs_path("d1", "a1");
        assert_eq!(path, "/api/v2/edgedevice/id/d1/apps/instanceid/a1/newlogs");
        assert_eq!(parse_app_logs(&path), Some(("d1", "a1")));
        assert_eq!(Endpoint::parse(&path), None, "not a device endpoint");
        for bad in [
            "/api/v2/edgedevice/id/d1/apps/instanceid//newlogs",
            "/api/v2/edgedevice/id/d1/apps/instanceid/a1/b/newlogs",
            "/api/v2/edgedevice/id/d1/apps/instanceid/a1/logs",
            "/api/v2/edgedevice/id/d1/newlogs",
        ] {
            assert_eq!(parse_app_logs(bad), None, "{bad}");
        }
    }
}
