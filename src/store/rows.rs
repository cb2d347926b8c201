//! The plain values that cross the store interface, whatever the backend.

use crate::model::{Quality, TimestampMs};

/// One row of the alarm journal.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AlarmEventRow {
    pub ts: TimestampMs,
    pub sensor: String,
    pub condition: String,
    pub event: String,
    pub state: String,
    pub value: Option<f64>,
    pub priority: String,
    pub operator: String,
    pub comment: String,
    /// The console or recorder that wrote it (its console id); empty in
    /// rows written before the journal was shared.
    pub origin: String,
    /// For automatic transitions, what makes them one occurrence on every
    /// console evaluating the same readings: the time of the reading that
    /// caused it (or the end of a timed shelving that expired). The journal
    /// keeps one row per (sensor, condition, event, occurrence). `None` for
    /// operator actions.
    pub occurrence: Option<TimestampMs>,
}

/// A journal row with its position in the journal (append order).
#[derive(Clone, Debug, PartialEq)]
pub struct JournalEntry {
    pub event_id: i64,
    pub row: AlarmEventRow,
}

/// Which journal rows to read, newest first. `None` = any; labels as stored.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JournalQuery {
    /// Substring of the sensor id, case-insensitive.
    pub sensor_contains: Option<String>,
    pub priority: Option<String>,
    /// State after the event.
    pub state: Option<String>,
    pub event: Option<String>,
    pub from_ms: Option<TimestampMs>,
    /// Exclusive end.
    pub to_ms: Option<TimestampMs>,
    pub limit: usize,
}

/// A sensor as stored: its key in the history, tag and unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSensor {
    pub rowid: i64,
    pub tag: String,
    pub unit: String,
}

/// One stored reading of a known sensor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub ts: TimestampMs,
    pub value: f64,
    pub quality: Quality,
}

/// A reading in time order across sensors (for a replay): the sensor by its key.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KeyedPoint {
    pub sensor_id: i64,
    pub point: Point,
}

/// What `floorwatch db status` shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    pub schema_version: i64,
    pub sensors: u64,
    pub readings: u64,
    pub alarm_events: u64,
    pub first_ts: Option<TimestampMs>,
    pub last_ts: Option<TimestampMs>,
}
