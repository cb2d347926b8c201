//! Data sources (MQTT, Modbus, simulated, replay) and the typed messages they
//! send to the engine over a bounded channel.

pub mod arrival;
pub mod modbus;
pub mod mqtt;
pub mod payload;
pub mod raw;
pub mod replay;
pub mod sim;

use crate::model::{Reading, SensorMeta, TimestampMs};
use tokio::sync::oneshot;

/// What a source tells the engine.
#[derive(Debug)]
pub enum SourceEvent {
    /// New readings. `ack` fires once the history transaction holding them has
    /// committed (MQTT sends its PUBACKs only then); it is dropped unanswered
    /// when they could not be stored.
    Readings {
        readings: Vec<Reading>,
        ack: Option<oneshot::Sender<()>>,
    },
    /// What the source received for the readings it just sent (payloads,
    /// registers), for the detail view.
    Raw(raw::RawBatch),
    /// A sensor found at run time (e.g. from an MQTT topic pattern).
    Discovered(SensorMeta),
    /// The health of one broker, device or feed.
    Status(SourceStatus),
    /// A replay's clock and controls; the engine then runs on replayed time.
    Replay(replay::ReplayStatus),
    /// A replay's files are being loaded (before its first [`SourceEvent::Replay`]).
    ReplayLoading(replay::LoadProgress),
    /// Sent by a replay right after it moved (start, seek, jump, restart):
    /// what the alarm evaluator needs from before the new position.
    ReplaySeed(Vec<crate::alarm::SeedSeries>),
}

impl SourceEvent {
    pub fn readings(readings: Vec<Reading>) -> Self {
        SourceEvent::Readings {
            readings,
            ack: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SourceKind {
    Mqtt,
    Modbus,
    Simulated,
    Replay,
}

impl SourceKind {
    pub fn label(self) -> &'static str {
        match self {
            SourceKind::Mqtt => "mqtt",
            SourceKind::Modbus => "modbus",
            SourceKind::Simulated => "sim",
            SourceKind::Replay => "replay",
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

/// Starts every source the config describes. Each stops when `cancel` fires.
pub async fn spawn_all(
    config: &crate::config::Config,
    events: tokio::sync::mpsc::Sender<SourceEvent>,
    cancel: tokio_util::sync::CancellationToken,
) -> Result<tokio::task::JoinSet<()>, SourceError> {
    let mut set = tokio::task::JoinSet::new();
    let simulated: Vec<_> = config
        .sensor
        .iter()
        .filter_map(|s| Some((crate::model::SensorId::new(s.id.get_ref()), s.sim.clone()?)))
        .collect();
    if !simulated.is_empty() {
        let status = sim::status(simulated.len(), crate::model::now_ms());
        let _ = events.send(SourceEvent::Status(status)).await;
    }
    for (id, binding) in simulated {
        set.spawn(sim::run_sensor(id, binding, events.clone(), cancel.clone()));
    }
    mqtt::spawn_all(config, &events, &cancel, &mut set)?;
    modbus::spawn(config, events.clone(), cancel.clone(), &mut set).await?;
    Ok(set)
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{0}")]
    Setup(String),
}
