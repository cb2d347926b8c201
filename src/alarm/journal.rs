//! The alarm journal in the history file (`alarm_events`, append-only):
//! rows for the writer, the state to restore at start, and filtered queries
//! for the journal view.

use super::condition::Condition;
use super::evaluator::AlarmEvent;
use super::machine::{EventKind, Phase, Shelve};
use super::{AlarmState, Priority};
use crate::model::TimestampMs;
use crate::store::{AlarmEventRow, StoreError};
use rusqlite::{Connection, params_from_iter, types::Value};
use std::collections::HashMap;
use std::path::Path;

impl AlarmEvent {
    pub fn to_row(&self) -> AlarmEventRow {
        AlarmEventRow {
            ts: self.ts,
            sensor: self.sensor.to_string(),
            condition: self.condition.label().to_owned(),
            event: self.kind.label().to_owned(),
            state: self.state.label().to_owned(),
            value: self.value,
            priority: self.priority.label().to_owned(),
            operator: self.operator.clone(),
            comment: self.comment.clone(),
        }
    }
}

/// An alarm as the journal left it (not Normal).
#[derive(Clone, Debug, PartialEq)]
pub struct Restored {
    pub key: String,
    pub sensor: String,
    pub condition: Condition,
    pub phase: Phase,
    pub priority: Priority,
    pub value: Option<f64>,
    pub raised_ms: TimestampMs,
    pub acked_by: Option<String>,
    pub message: String,
}

fn sqlite(path: &Path) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    |source| StoreError::Sqlite {
        path: path.to_owned(),
        source,
    }
}

const COLUMNS: &str = "ts, sensor, condition, event, state, value, priority, operator, comment";

fn row_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<AlarmEventRow> {
    Ok(AlarmEventRow {
        ts: r.get(0)?,
        sensor: r.get(1)?,
        condition: r.get(2)?,
        event: r.get(3)?,
        state: r.get(4)?,
        value: r.get(5)?,
        priority: r.get(6)?,
        operator: r.get(7)?,
        comment: r.get(8)?,
    })
}

/// Reads the journal and returns every alarm that was not Normal at its end.
pub fn restore(path: &Path) -> Result<Vec<Restored>, StoreError> {
    let conn = crate::store::open_reader(path)?;
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {COLUMNS} FROM alarm_events ORDER BY event_id"
        ))
        .map_err(sqlite(path))?;
    let rows = stmt.query_map([], row_of).map_err(sqlite(path))?;
    let mut folded = Fold::default();
    for row in rows {
        folded.add(&row.map_err(sqlite(path))?);
    }
    Ok(folded.into_restored())
}

/// Replays journal rows in order to the state each alarm ended in.
#[derive(Default)]
pub struct Fold {
    alarms: HashMap<String, Restored>,
    order: Vec<String>,
}

impl Fold {
    pub fn add(&mut self, row: &AlarmEventRow) {
        let (Some(condition), Some(kind), Some(state)) = (
            Condition::parse(&row.condition),
            EventKind::parse(&row.event),
            AlarmState::parse(&row.state),
        ) else {
            tracing::warn!(?row, "alarm journal row not understood; skipped");
            return;
        };
        let key = format!("{}/{}", row.sensor, row.condition);
        let entry = self.alarms.entry(key.clone()).or_insert_with(|| {
            self.order.push(key.clone());
            Restored {
                key,
                sensor: row.sensor.clone(),
                condition,
                phase: Phase::Normal,
                priority: Priority::default(),
                value: None,
                raised_ms: row.ts,
                acked_by: None,
                message: String::new(),
            }
        });
        if kind == EventKind::Comment {
            return;
        }
        entry.phase = phase_of(state, &row.comment);
        entry.priority = Priority::parse(&row.priority).unwrap_or(entry.priority);
        if row.value.is_some() {
            entry.value = row.value;
        }
        match kind {
            EventKind::Raised => {
                entry.raised_ms = row.ts;
                entry.acked_by = None;
            }
            EventKind::Unshelved if state == AlarmState::Unacknowledged => {
                entry.raised_ms = row.ts;
                entry.acked_by = None;
            }
            EventKind::Acked => entry.acked_by = Some(row.operator.clone()),
            _ => {}
        }
    }

    /// Alarms whose last state is not Normal, in order of first appearance.
    pub fn into_restored(mut self) -> Vec<Restored> {
        self.order
            .iter()
            .filter_map(|k| self.alarms.remove(k))
            .filter(|r| r.phase != Phase::Normal)
            .map(|mut r| {
                r.message = format!(
                    "{} {} (restored from the journal)",
                    r.sensor,
                    r.condition.label()
                );
                r
            })
            .collect()
    }
}

fn phase_of(state: AlarmState, comment: &str) -> Phase {
    match state {
        AlarmState::Normal => Phase::Normal,
        AlarmState::Unacknowledged => Phase::Unacknowledged,
        AlarmState::Acknowledged => Phase::Acknowledged,
        AlarmState::ReturnToNormalUnacknowledged => Phase::ReturnToNormalUnacknowledged,
        AlarmState::Shelved => Phase::Shelved(shelve_of(comment)),
        AlarmState::Suppressed => Phase::Suppressed,
        AlarmState::OutOfService => Phase::OutOfService,
    }
}

/// The shelving comment is `until <RFC 3339>` or `one-shot`.
fn shelve_of(comment: &str) -> Shelve {
    match comment.strip_prefix("until ") {
        Some(ts) => chrono::DateTime::parse_from_rfc3339(ts.trim())
            .map(|t| Shelve::Until(t.timestamp_millis()))
            // An unreadable end: expire at once rather than hide an alarm forever.
            .unwrap_or(Shelve::Until(0)),
        None => Shelve::OneShot,
    }
}

/// Filters for the journal view. `None` = any.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JournalFilter {
    /// Substring of the sensor id.
    pub sensor: Option<String>,
    pub priority: Option<Priority>,
    /// State after the event.
    pub state: Option<AlarmState>,
    pub event: Option<EventKind>,
    pub from_ms: Option<TimestampMs>,
    /// Exclusive end.
    pub to_ms: Option<TimestampMs>,
    /// At most this many rows, newest first (default 1,000).
    pub limit: Option<usize>,
}

/// Journal rows matching `filter`, newest first.
pub fn query(path: &Path, filter: &JournalFilter) -> Result<Vec<AlarmEventRow>, StoreError> {
    let conn = crate::store::open_reader(path)?;
    query_conn(&conn, filter).map_err(sqlite(path))
}

pub fn query_conn(
    conn: &Connection,
    filter: &JournalFilter,
) -> rusqlite::Result<Vec<AlarmEventRow>> {
    let mut clauses = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    if let Some(sensor) = &filter.sensor {
        clauses.push("instr(lower(sensor), lower(?)) > 0");
        args.push(Value::Text(sensor.clone()));
    }
    if let Some(p) = filter.priority {
        clauses.push("priority = ?");
        args.push(Value::Text(p.label().to_owned()));
    }
    if let Some(s) = filter.state {
        clauses.push("state = ?");
        args.push(Value::Text(s.label().to_owned()));
    }
    if let Some(e) = filter.event {
        clauses.push("event = ?");
        args.push(Value::Text(e.label().to_owned()));
    }
    if let Some(from) = filter.from_ms {
        clauses.push("ts >= ?");
        args.push(Value::Integer(from));
    }
    if let Some(to) = filter.to_ms {
        clauses.push("ts < ?");
        args.push(Value::Integer(to));
    }
    let condition = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    let limit = filter.limit.unwrap_or(1_000).min(i64::MAX as usize) as i64;
    args.push(Value::Integer(limit));
    let sql = format!(
        "SELECT {COLUMNS} FROM alarm_events {condition} ORDER BY ts DESC, event_id DESC LIMIT ?"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params_from_iter(args), row_of)?;
    rows.collect()
}

/// Every journal row in `[from_ms, to_ms)`, oldest first (for KPIs).
pub fn rows_between(
    path: &Path,
    from_ms: TimestampMs,
    to_ms: TimestampMs,
) -> Result<Vec<AlarmEventRow>, StoreError> {
    let conn = crate::store::open_reader(path)?;
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {COLUMNS} FROM alarm_events WHERE ts >= ?1 AND ts < ?2 ORDER BY ts, event_id"
        ))
        .map_err(sqlite(path))?;
    let rows = stmt
        .query_map([from_ms, to_ms], row_of)
        .map_err(sqlite(path))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(sqlite(path))?;
    Ok(rows)
}
