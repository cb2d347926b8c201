//! Data sources (MQTT, Modbus, simulated, replay) and the typed messages they
//! send to the engine over a bounded channel.

pub mod alarm_journal;
pub mod arrival;
pub mod discover;
pub mod listen;
pub mod modbus;
pub mod mqtt;
pub mod payload;
pub mod raw;
pub mod replay;
pub mod report;
pub mod sim;

use crate::config::{AlarmLimits, SensorDefaults};
pub use crate::model::{LinkState, SourceKind, SourceStatus};
use crate::model::{Reading, SensorId, SensorMeta};
use std::sync::Arc;
use tokio::sync::oneshot;

/// A sensor found at run time (from an MQTT pattern or a Modbus template),
/// or a configured sensor a pattern or template also makes: the engine adds
/// the former, and fills in what the latter's config leaves unset.
#[derive(Clone, Debug, PartialEq)]
pub struct Discovery {
    pub meta: SensorMeta,
    /// The pattern's or template's alarm limits.
    pub alarm: Option<Arc<AlarmLimits>>,
    /// The pattern or template it came from, for the detail view.
    pub source: Option<String>,
}

impl Discovery {
    /// A sensor with nothing but its metadata.
    pub fn meta(meta: SensorMeta) -> Discovery {
        Discovery {
            meta,
            alarm: None,
            source: None,
        }
    }

    /// Sensor `id` as `defaults` describe it; what the payload says
    /// (`name`, `unit`, `group`) comes first.
    pub fn of(id: SensorId, defaults: &SensorDefaults, payload: Named<'_>) -> Discovery {
        let or = |found: Option<&str>, default: &Option<String>| {
            found.map(str::to_owned).or_else(|| default.clone())
        };
        Discovery {
            meta: SensorMeta {
                name: or(payload.name, &defaults.name).unwrap_or_else(|| id.to_string()),
                unit: or(payload.unit, &defaults.unit).unwrap_or_default(),
                group: or(payload.group, &defaults.group).unwrap_or_default(),
                range: defaults.range,
                id,
            },
            alarm: defaults.alarm.clone(),
            source: defaults.source.clone(),
        }
    }
}

/// What a payload says about its sensor, when it says anything.
#[derive(Clone, Copy, Debug, Default)]
pub struct Named<'a> {
    pub name: Option<&'a str>,
    pub unit: Option<&'a str>,
    pub group: Option<&'a str>,
}

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
    Discovered(Discovery),
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
    listen::spawn_all(config, &events, &cancel, &mut set).await?;
    Ok(set)
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{0}")]
    Setup(String),
    #[error("listen {listener}: cannot bind {url}: {source} (is another program using it?)")]
    Bind {
        listener: String,
        url: String,
        #[source]
        source: std::io::Error,
    },
}
