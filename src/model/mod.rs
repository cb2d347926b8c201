//! Domain types shared by every part of floorwatch: readings, quality, sensor
//! definitions. Timestamps are UTC milliseconds since the Unix epoch.

mod status;

pub use status::{LinkState, SourceKind, SourceStatus};

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// Milliseconds since 1970-01-01T00:00:00Z.
pub type TimestampMs = i64;

/// A sensor's stable identifier, e.g. `line1.temp`. Cheap to clone.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SensorId(Arc<str>);

impl SensorId {
    pub fn new(id: impl AsRef<str>) -> Self {
        SensorId(Arc::from(id.as_ref()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SensorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for SensorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for SensorId {
    fn from(s: &str) -> Self {
        SensorId::new(s)
    }
}

impl From<String> for SensorId {
    fn from(s: String) -> Self {
        SensorId(Arc::from(s))
    }
}

impl std::borrow::Borrow<str> for SensorId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

/// How far a value can be trusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Quality {
    #[default]
    Good,
    /// The source reported the value as bad (device fault, decode problem).
    Bad,
    /// No fresh value arrived in time; the last value is shown but not live.
    Stale,
}

impl Quality {
    pub fn code(self) -> i64 {
        match self {
            Quality::Good => 0,
            Quality::Bad => 1,
            Quality::Stale => 2,
        }
    }
    /// How CSV files write it (`floorwatch export readings`, `import`).
    pub fn label(self) -> &'static str {
        match self {
            Quality::Good => "good",
            Quality::Bad => "bad",
            Quality::Stale => "stale",
        }
    }

    /// The quality written as [`Self::label`] (any ASCII case, surrounding blanks ignored).
    pub fn from_label(text: &[u8]) -> Option<Self> {
        let text = text.trim_ascii();
        [Quality::Good, Quality::Bad, Quality::Stale]
            .into_iter()
            .find(|q| text.eq_ignore_ascii_case(q.label().as_bytes()))
    }

    pub fn from_code(code: i64) -> Self {
        match code {
            0 => Quality::Good,
            2 => Quality::Stale,
            _ => Quality::Bad,
        }
    }
}

/// One value of one sensor at one instant.
#[derive(Clone, Debug, PartialEq)]
pub struct Reading {
    pub sensor: SensorId,
    pub ts: TimestampMs,
    pub value: f64,
    pub quality: Quality,
}

impl Reading {
    pub fn good(sensor: impl Into<SensorId>, ts: TimestampMs, value: f64) -> Self {
        Reading {
            sensor: sensor.into(),
            ts,
            value,
            quality: Quality::Good,
        }
    }
}

/// What the console knows about a sensor besides its values: enough to label
/// it, scale a gauge and store it. Built from config or discovered at run time.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SensorMeta {
    pub id: SensorId,
    pub name: String,
    pub unit: String,
    pub group: String,
    /// Display range for gauges (not a limit).
    pub range: Option<(f64, f64)>,
}

impl SensorMeta {
    /// Takes from `other` what this meta leaves unset (a name that is the
    /// id, an empty unit or group, no range); returns whether it changed.
    pub fn fill_from(&mut self, other: &SensorMeta) -> bool {
        let before = self.clone();
        if self.name.is_empty() || self.name == self.id.as_str() {
            self.name.clone_from(&other.name);
        }
        if self.unit.is_empty() {
            self.unit.clone_from(&other.unit);
        }
        if self.group.is_empty() {
            self.group.clone_from(&other.group);
        }
        self.range = self.range.or(other.range);
        *self != before
    }
}

impl Default for SensorId {
    fn default() -> Self {
        SensorId::new("")
    }
}

/// Current wall-clock time in ms.
pub fn now_ms() -> TimestampMs {
    chrono::Utc::now().timestamp_millis()
}

/// Formats a timestamp as RFC 3339 UTC with milliseconds.
pub fn format_ts(ts: TimestampMs) -> String {
    chrono::DateTime::from_timestamp_millis(ts)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_else(|| format!("{ts}ms"))
}
