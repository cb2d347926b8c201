//! The alarm journal in the history file (`alarm_events`, append-only):
//! rows for the writer, the state to restore at start, and filtered queries
//! for the journal view.

use super::condition::Condition;
use super::evaluator::AlarmEvent;
use super::machine::{EventKind, Phase, Shelve};
use super::{AlarmCommand, AlarmState, Priority, SharedAction};
use crate::model::TimestampMs;
use crate::store::{AlarmEventRow, HistoryReader, JournalQuery, Location, StoreError};
use std::collections::HashMap;

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
            origin: String::new(),
            occurrence: self.occurrence,
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

/// Reads the journal and returns every alarm that was not Normal at its end.
pub fn restore(path: impl Into<Location>) -> Result<Vec<Restored>, StoreError> {
    restore_from(&HistoryReader::open(path)?)
}

/// [`restore`] from an open history.
pub fn restore_from(history: &HistoryReader) -> Result<Vec<Restored>, StoreError> {
    let mut folded = Fold::default();
    history.for_each_journal_row(|row| folded.add(&row))?;
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

/// An operator action another console journaled, as a command for this
/// engine; `None` for rows that are not one (automatic transitions, which
/// every console evaluates for itself, comments and unreadable rows).
pub fn shared_action(row: &AlarmEventRow) -> Option<AlarmCommand> {
    if row.occurrence.is_some() || row.operator.is_empty() {
        return None;
    }
    let action = match EventKind::parse(&row.event)? {
        EventKind::Acked => SharedAction::Ack,
        EventKind::Shelved => SharedAction::Shelve(shelve_of(&row.comment)),
        EventKind::Unshelved => SharedAction::Unshelve,
        EventKind::Reset => SharedAction::Reset,
        EventKind::Raised | EventKind::Cleared | EventKind::Comment => return None,
    };
    Some(AlarmCommand::FromJournal {
        key: format!("{}/{}", row.sensor, row.condition),
        action,
        at_ms: row.ts,
        operator: row.operator.clone(),
        console: row.origin.clone(),
    })
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

impl JournalFilter {
    /// The store's query for this filter.
    pub fn to_query(&self) -> JournalQuery {
        JournalQuery {
            sensor_contains: self.sensor.clone(),
            priority: self.priority.map(|p| p.label().to_owned()),
            state: self.state.map(|s| s.label().to_owned()),
            event: self.event.map(|e| e.label().to_owned()),
            from_ms: self.from_ms,
            to_ms: self.to_ms,
            limit: self.limit.unwrap_or(1_000),
        }
    }
}

/// Journal rows matching `filter`, newest first.
pub fn query(
    path: impl Into<Location>,
    filter: &JournalFilter,
) -> Result<Vec<AlarmEventRow>, StoreError> {
    query_from(&HistoryReader::open(path)?, filter)
}

/// [`query`] on an open history.
pub fn query_from(
    history: &HistoryReader,
    filter: &JournalFilter,
) -> Result<Vec<AlarmEventRow>, StoreError> {
    history.journal_query(&filter.to_query())
}

/// Every journal row in `[from_ms, to_ms)`, oldest first (for KPIs).
pub fn rows_between(
    path: impl Into<Location>,
    from_ms: TimestampMs,
    to_ms: TimestampMs,
) -> Result<Vec<AlarmEventRow>, StoreError> {
    HistoryReader::open(path)?.journal_between(from_ms, to_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(event: &str, operator: &str, comment: &str, occurrence: Option<i64>) -> AlarmEventRow {
        AlarmEventRow {
            ts: 5_000,
            sensor: "line1.temp".into(),
            condition: "hh".into(),
            event: event.into(),
            state: String::new(),
            operator: operator.into(),
            comment: comment.into(),
            origin: "console-a".into(),
            occurrence,
            ..Default::default()
        }
    }

    #[test]
    fn only_operator_actions_are_shared_between_consoles() {
        let command = |event, operator, comment, occurrence| {
            shared_action(&row(event, operator, comment, occurrence))
        };
        let from_a = |action| {
            Some(AlarmCommand::FromJournal {
                key: "line1.temp/hh".into(),
                action,
                at_ms: 5_000,
                operator: "ana".into(),
                console: "console-a".into(),
            })
        };
        assert_eq!(command("acked", "ana", "", None), from_a(SharedAction::Ack));
        assert_eq!(
            command("shelved", "ana", "until 2026-12-01T10:00:00.250Z", None),
            from_a(SharedAction::Shelve(Shelve::Until(1_796_119_200_250)))
        );
        assert_eq!(
            command("shelved", "ana", "one-shot", None),
            from_a(SharedAction::Shelve(Shelve::OneShot))
        );
        assert_eq!(
            command("unshelved", "ana", "", None),
            from_a(SharedAction::Unshelve)
        );
        assert_eq!(
            command("reset", "ana", "", None),
            from_a(SharedAction::Reset)
        );
        // Every console evaluates these itself.
        assert_eq!(command("raised", "", "", Some(4_000)), None);
        assert_eq!(command("cleared", "", "", Some(4_500)), None);
        assert_eq!(command("unshelved", "system", "", Some(4_800)), None);
        // A comment changes no state; an unknown event is not guessed at.
        assert_eq!(command("comment", "ana", "valve checked", None), None);
        assert_eq!(command("exploded", "ana", "", None), None);
    }
}
