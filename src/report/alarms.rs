//! The alarm journal (`alarm_events`) as CSV: every transition with its
//! operator and comment, and for each `cleared` row how long the alarm was
//! active (from its `raised` row, even when that lies before `--from`).

use super::points::TimeRange;
use super::progress::Progress;
use super::table::Table;
use super::{OptionError, ReportError};
use crate::alarm::{AlarmState, EventKind, Priority};
use crate::model::TimestampMs;
use crate::store::{AlarmEventRow, HistoryReader, JournalEntry};
use globset::GlobSet;
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
    /// Empty: every event.
    pub events: Vec<EventKind>,
    /// States after the event; empty: every state.
    pub states: Vec<AlarmState>,
}

impl AlarmFilter {
    fn keeps(&self, row: &AlarmEventRow) -> bool {
        let sensor_ok = self
            .sensors
            .as_ref()
            .is_none_or(|s| s.is_match(&row.sensor));
        sensor_ok
            && any_label(&self.priorities, Priority::label, &row.priority)
            && any_label(&self.events, EventKind::label, &row.event)
            && any_label(&self.states, AlarmState::label, &row.state)
    }
}

/// Whether `written` is the label of one of `wanted` (or nothing is wanted).
fn any_label<T: Copy>(wanted: &[T], label: fn(T) -> &'static str, written: &str) -> bool {
    wanted.is_empty()
        || wanted
            .iter()
            .any(|w| label(*w).eq_ignore_ascii_case(written))
}

/// Writes `time,sensor,condition,event,state,priority,value,operator,comment,raised,duration_s`.
pub fn export_alarms<W: Write>(
    history: &HistoryReader,
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
    let mut written = 0;
    let mut after = (filter.range.from.saturating_sub(1), i64::MAX);
    loop {
        let chunk = history.journal_chunk(after, filter.range.to, JOURNAL_CHUNK)?;
        for entry in &chunk {
            progress.add(1);
            if !filter.keeps(&entry.row) {
                continue;
            }
            let raised_at = if entry.row.event == CLEARED.label() {
                raised_before(history, entry)?
            } else {
                None
            };
            write_row(table, &entry.row, raised_at)?;
            written += 1;
        }
        match chunk.last() {
            Some(last) if chunk.len() == JOURNAL_CHUNK => after = (last.row.ts, last.event_id),
            _ => return Ok(written),
        }
    }
}

/// Journal rows read at once: constant memory, however long the journal.
const JOURNAL_CHUNK: usize = 4096;

fn write_row<W: Write>(
    table: &mut Table<W>,
    row: &AlarmEventRow,
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
fn raised_before(
    history: &HistoryReader,
    entry: &JournalEntry,
) -> Result<Option<TimestampMs>, ReportError> {
    let row = &entry.row;
    let last = history.last_of_events_before(
        &row.sensor,
        &row.condition,
        [RAISED.label(), CLEARED.label()],
        entry.event_id,
    )?;
    Ok(last.and_then(|(ts, event)| (event == RAISED.label()).then_some(ts)))
}
