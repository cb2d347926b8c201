//! The health of a source (broker, device, feed) as the status pane, the
//! recorder's log and the source-down alarms see it: plain data, set by the
//! sources and read by everyone above them.

use super::TimestampMs;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SourceKind {
    Mqtt,
    Modbus,
    Simulated,
    Replay,
    /// A `[[listen]]`: UDP datagrams or TCP lines.
    Listen,
}

impl SourceKind {
    pub fn label(self) -> &'static str {
        match self {
            SourceKind::Mqtt => "mqtt",
            SourceKind::Modbus => "modbus",
            SourceKind::Simulated => "sim",
            SourceKind::Replay => "replay",
            SourceKind::Listen => "listen",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LinkState {
    #[default]
    Connecting,
    Connected,
    /// Waiting before the next reconnect attempt.
    BackingOff,
    Stopped,
}

impl LinkState {
    pub fn label(self) -> &'static str {
        match self {
            LinkState::Connecting => "connecting",
            LinkState::Connected => "up",
            LinkState::BackingOff => "backing off",
            LinkState::Stopped => "stopped",
        }
    }
    pub fn is_up(self) -> bool {
        self == LinkState::Connected
    }
}

/// Health of one source, shown in the status pane and the headless log.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SourceStatus {
    pub name: String,
    pub kind: Option<SourceKind>,
    pub state: LinkState,
    pub last_error: Option<String>,
    /// Messages (MQTT) or poll cycles (Modbus) since start.
    pub messages: u64,
    /// Decode errors, timeouts, exceptions.
    pub errors: u64,
    /// Recent rate of `messages` per second.
    pub rate: f64,
    pub last_message_ms: Option<TimestampMs>,
    /// Source-specific facts for the status pane, e.g. ("poll", "12 ms").
    pub detail: Vec<(String, String)>,
    /// Source-specific counters, e.g. ("dropped_rate", 3): in the status
    /// pane's details and, as `name=value`, in the recorder's status lines.
    pub counts: Vec<(&'static str, u64)>,
}

impl SourceStatus {
    pub fn new(name: impl Into<String>, kind: SourceKind) -> Self {
        SourceStatus {
            name: name.into(),
            kind: Some(kind),
            ..Default::default()
        }
    }
}
