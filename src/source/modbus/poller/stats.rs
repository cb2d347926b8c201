//! A device's polling counters and the status line they make.

use crate::source::{LinkState, SourceKind, SourceStatus};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Per-device counters, shown in the status pane and headless log.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DeviceStats {
    pub connected: bool,
    pub cycles: u64,
    pub last_poll: Option<Duration>,
    pub requests_per_cycle: usize,
    pub timeouts: u64,
    pub transport_errors: u64,
    pub busy_retries: u64,
    /// Exception replies by code.
    pub exceptions: BTreeMap<u8, u64>,
    /// Fields dropped from polling because the device rejected their address.
    pub config_errors: Vec<String>,
    pub last_error: Option<String>,
    pub last_ok_ms: Option<i64>,
}

impl DeviceStats {
    pub fn status(&self, name: &str, state: LinkState, started: Instant) -> SourceStatus {
        let mut status = SourceStatus::new(name, SourceKind::Modbus);
        status.state = state;
        status.last_error = self.last_error.clone();
        status.messages = self.cycles;
        status.errors =
            self.timeouts + self.transport_errors + self.exceptions.values().sum::<u64>();
        let elapsed = started.elapsed().as_secs_f64();
        status.rate = if elapsed > 0.0 {
            self.cycles as f64 / elapsed
        } else {
            0.0
        };
        status.last_message_ms = self.last_ok_ms;
        let exceptions = if self.exceptions.is_empty() {
            "none".to_owned()
        } else {
            self.exceptions
                .iter()
                .map(|(code, n)| format!("{code}×{n}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        status.detail = vec![
            ("connected".into(), self.connected.to_string()),
            (
                "poll".into(),
                self.last_poll
                    .map_or("—".into(), |d| format!("{:.1} ms", d.as_secs_f64() * 1e3)),
            ),
            ("requests/cycle".into(), self.requests_per_cycle.to_string()),
            ("timeouts".into(), self.timeouts.to_string()),
            ("busy retries".into(), self.busy_retries.to_string()),
            ("exceptions".into(), exceptions),
        ];
        if !self.config_errors.is_empty() {
            status
                .detail
                .push(("map errors".into(), self.config_errors.join("; ")));
        }
        status
    }
}
