//! The alarm journal (`alarm_events`) as CSV: every transition with its
//! operator and comment, and for each `cleared` row how long the alarm was
//! active (from its `raised` row, even when that lies before `--from`).

use super::points::TimeRange;
use super::progress::Progress;
use super::table::Table;
use super::{OptionError, ReportError};
use crate::alarm::{EventKind, Priority};
use crate::model::TimestampMs;
use globset::GlobSet;
use rusqlite::{Connection, OptionalExtension, params};
use std::io::Write;

const RAISED: EventKind = EventKind::Raised;
const CLEARED: EventKind = EventKind::Cleared;

/// Parses a `--priority` value.
pub fn parse_priority(text: &str) -> Result<Priority, OptionError> {
    let all = [
        Priority::Critical,
        Priority::High,
        Priority::Medium,
        Priority::Low,
    ];
    all.into_iter()
        .find(|p| p.label().eq_ignore_ascii_case(text.trim()))
        .ok_or_else(|| OptionError::UnknownPriority { text: text.into() })
}

/// Which journal rows to export.
pub struct AlarmFilter {
    pub range: TimeRange,
    /// Empty: every priority.
    pub priorities: Vec<Priority>,
    /// `None`: every sensor.
    pub sensors: Option<GlobSet>,
}

struct JournalRow {
    event_id: i64,
    ts: TimestampMs,
    sensor: String,
    condition: String,
    event: String,
    state: String,
    value: Option<f64>,
    priority: String,
    operator: String,
    comment: String,
}

impl AlarmFilter {
    fn keeps(&self, row: &JournalRow) -> bool {
        let priority_ok = self.priorities.is_empty()
            || self
                .priorities
                .iter()
                .any(|p| p.label().eq_ignore_ascii_case(&row.priority));
        let sensor_ok = self
            .sensors
            .as_ref()
            .is_none_or(|s| s.is_match(&row.sensor));
        priority_ok && sensor_ok
    }
}

/// Writes `time,sensor,condition,event,state,priority,value,operator,comment,raised,duration_s`.
pub fn export_alarms<W: Write>(
    conn: &Connection,
    filter: &AlarmFilter,
    table: &mut Table<W>,
    progress: &mut Progress,
) -> Result<u64, ReportError> {
    let time = table.style().time_header("time");
    let raised = table.style().time_header("raised");
    table.header(&[
        time.as_str(),
        "sensor",
        "condition",
        "event",
        "state",
        "priority",
        "value",
        "operator",
        "comment",
        raised.as_str(),
        "duration_s",
    ])?;
    let mut stmt = conn.prepare(
        "SELECT event_id, ts, sensor, condition, event, state, value, priority, operator, comment
         FROM alarm_events WHERE ts >= ?1 AND ts < ?2 ORDER BY ts, event_id",
    )?;
    let mut rows = stmt.query(params![filter.range.from, filter.range.to])?;
    let mut written = 0;
    while let Some(r) = rows.next()? {
        progress.add(1);
        let row = JournalRow {
            event_id: r.get(0)?,
            ts: r.get(1)?,
            sensor: r.get(2)?,
            condition: r.get(3)?,
            event: r.get(4)?,
            state: r.get(5)?,
            value: r.get(6)?,
            priority: r.get(7)?,
            operator: r.get(8)?,
            comment: r.get(9)?,
        };
        if !filter.keeps(&row) {
            continue;
        }
        let raised_at = if row.event == CLEARED.label() {
            raised_before(conn, &row)?
        } else {
            None
        };
        write_row(table, &row, raised_at)?;
        written += 1;
    }
    Ok(written)
}

fn write_row<W: Write>(
    table: &mut Table<W>,
    row: &JournalRow,
    raised_at: Option<TimestampMs>,
) -> Result<(), ReportError> {
    table.time(row.ts)?;
    table.text(&row.sensor)?;
    table.text(&row.condition)?;
    table.text(&row.event)?;
    table.text(&row.state)?;
    table.text(&row.priority)?;
    table.optional_number(row.value)?;
    table.text(&row.operator)?;
    table.text(&row.comment)?;
    match raised_at {
        Some(at) => {
            table.time(at)?;
            table.number((row.ts - at) as f64 / 1000.0)?;
        }
        None => {
            table.empty()?;
            table.empty()?;
        }
    }
    table.end_row()?;
    Ok(())
}

/// When the alarm a `cleared` row ends was raised: the latest raise or clear of
/// the same sensor and condition before it, if that was a raise.
fn raised_before(conn: &Connection, row: &JournalRow) -> Result<Option<TimestampMs>, ReportError> {
    let mut stmt = conn.prepare_cached(
        "SELECT ts, event FROM alarm_events
         WHERE sensor = ?1 AND condition = ?2 AND event IN (?3, ?4) AND event_id < ?5
         ORDER BY ts DESC, event_id DESC LIMIT 1",
    )?;
    let last: Option<(TimestampMs, String)> = stmt
        .query_row(
            params![
                row.sensor,
                row.condition,
                RAISED.label(),
                CLEARED.label(),
                row.event_id
            ],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(last.and_then(|(ts, event)| (event == RAISED.label()).then_some(ts)))
}
