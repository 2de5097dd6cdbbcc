//! The device commands a config carries: `EdgeDevConfig.reboot` (reboot
//! the node) and `EdgeDevConfig.shutdown` (stop every app instance; the
//! node stays up, as the EVE API describes it: a controller cannot power a
//! node back on). Each is a counter: a counter that differs from the one in
//! the config in force means act, once. The last good config is kept, so
//! the counter that was acted on persists with it, and the node does not
//! act again after the reboot.
//!
//! As EVE does (`pkg/pillar/cmd/zedagent`, parseconfig.go), a counter seen
//! for the first time (no config in force, or the command absent from it)
//! is taken as it is, not acted on: a node that boots into a controller's
//! existing config must not reboot for it.

use cordon_eve::proto::config::{DeviceOpsCmd, EdgeDevConfig};

/// What the controller asks of the whole device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceCommand {
    Reboot,
    /// Stop every app instance.
    Shutdown,
}

impl DeviceCommand {
    pub fn name(self) -> &'static str {
        match self {
            Self::Reboot => "reboot",
            Self::Shutdown => "shutdown",
        }
    }

    fn of(self, config: &EdgeDevConfig) -> Option<&DeviceOpsCmd> {
        match self {
            Self::Reboot => config.reboot.as_ref(),
            Self::Shutdown => config.shutdown.as_ref(),
        }
    }
}

/// A command to carry out: its counter went from `from` to `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Order {
    pub command: DeviceCommand,
    pub from: u32,
    pub to: u32,
}

/// `config` with every app instance deactivated: what is in force once
/// the node was told to shut down.
pub fn all_apps_halted(config: &EdgeDevConfig) -> EdgeDevConfig {
    let mut halted = config.clone();
    for app in &mut halted.apps {
        app.activate = false;
    }
    halted
}

/// The commands of `config` whose counters changed since `in_force`.
pub fn new_orders(config: &EdgeDevConfig, in_force: Option<&EdgeDevConfig>) -> Vec<Order> {
    let Some(in_force) = in_force else {
        return Vec::new();
    };
    [DeviceCommand::Shutdown, DeviceCommand::Reboot]
        .into_iter()
        .filter_map(|command| {
            let from = command.of(in_force)?.counter;
            let to = command.of(config)?.counter;
            (from != to).then_some(Order { command, from, to })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(reboot: Option<u32>, shutdown: Option<u32>) -> EdgeDevConfig {
        let command = |counter| DeviceOpsCmd {
            counter,
            ..DeviceOpsCmd::default()
        };
        EdgeDevConfig {
            reboot: reboot.map(command),
            shutdown: shutdown.map(command),
            ..EdgeDevConfig::default()
        }
    }

    #[test]
    fn a_changed_counter_is_an_order() {
        let orders = new_orders(&config(Some(3), Some(1)), Some(&config(Some(2), Some(1))));
        assert_eq!(
            orders,
            [Order {
                command: DeviceCommand::Reboot,
                from: 2,
                to: 3
            }]
        );
        // Down counts as a change too (a controller that started over).
        let down = new_orders(&config(Some(0), Some(0)), Some(&config(Some(2), Some(5))));
        assert_eq!(down.len(), 2);
        assert_eq!(down[0].command, DeviceCommand::Shutdown);
    }

    #[test]
    fn shut_down_halts_every_app_and_keeps_the_rest() {
        let mut running = config(Some(1), Some(1));
        running.apps = vec![
            cordon_eve::proto::config::AppInstanceConfig {
                activate: true,
                displayname: "a".to_owned(),
                ..Default::default()
            };
            2
        ];
        let halted = all_apps_halted(&running);
        assert!(halted.apps.iter().all(|app| !app.activate));
        assert_eq!(halted.apps[0].displayname, "a");
        assert_eq!(halted.reboot, running.reboot);
    }

    #[test]
    fn the_same_counter_is_no_order_again() {
        let kept = config(Some(4), Some(2));
        assert!(new_orders(&kept, Some(&kept)).is_empty());
    }

    #[test]
    fn a_counter_seen_first_is_taken_as_it_is() {
        assert!(new_orders(&config(Some(7), Some(7)), None).is_empty());
        assert!(new_orders(&config(Some(7), Some(7)), Some(&config(None, None))).is_empty());
        assert!(new_orders(&config(None, None), Some(&config(Some(7), Some(7)))).is_empty());
    }
}
