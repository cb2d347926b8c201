//! Alarm-system performance figures (ISA-18.2 §16 / EEMUA 191) from the journal.

use super::Priority;
use super::journal::{self, Fold};
use super::machine::Phase;
use crate::model::TimestampMs;
use crate::store::{AlarmEventRow, Location, StoreError};
use std::collections::HashMap;

pub const TEN_MINUTES_MS: i64 = 10 * 60_000;
/// More than this many alarms in ten minutes is a flood.
pub const FLOOD_THRESHOLD: usize = 10;
/// This many raises of one alarm within a minute is chattering.
pub const CHATTER_CYCLES: usize = 3;
pub const STANDING_MS: i64 = 24 * 3_600_000;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct AlarmKpis {
    pub from_ms: TimestampMs,
    pub to_ms: TimestampMs,
    /// Alarms raised in the window.
    pub raised: usize,
    /// Average alarms per ten minutes over the window.
    pub per_10_min: f64,
    /// The most alarms in any ten-minute bucket.
    pub peak_10_min: usize,
    /// Ten-minute buckets with more than ten alarms.
    pub floods: usize,
    /// Alarms raised at least three times within one minute, by key.
    pub chattering: Vec<String>,
    /// Alarms active for more than 24 hours at `to_ms`, by key.
    pub standing: Vec<String>,
    /// Raised alarms per priority, most urgent first.
    pub priority_mix: [(Priority, usize); 4],
}

impl AlarmKpis {
    /// Share of each priority in percent.
    pub fn priority_percent(&self) -> [(Priority, f64); 4] {
        self.priority_mix.map(|(p, n)| {
            let pct = if self.raised == 0 {
                0.0
            } else {
                n as f64 * 100.0 / self.raised as f64
            };
            (p, pct)
        })
    }
}

/// KPIs over `[from_ms, to_ms)` from journal rows in time order. `history`
/// are all rows before `from_ms` as well (for standing alarms); pass the same
/// rows when the window covers the whole journal.
pub fn compute(
    window: &[AlarmEventRow],
    history: &[AlarmEventRow],
    from_ms: TimestampMs,
    to_ms: TimestampMs,
) -> AlarmKpis {
    let raised: Vec<&AlarmEventRow> = window
        .iter()
        .filter(|r| r.event == "raised" && r.ts >= from_ms && r.ts < to_ms)
        .filter(|r| r.state != "suppressed")
        .collect();
    let mut buckets: HashMap<i64, usize> = HashMap::new();
    for r in &raised {
        *buckets.entry(r.ts.div_euclid(TEN_MINUTES_MS)).or_default() += 1;
    }
    let span = (to_ms - from_ms).max(1) as f64;
    let mut mix = [
        (Priority::Critical, 0),
        (Priority::High, 0),
        (Priority::Medium, 0),
        (Priority::Low, 0),
    ];
    for r in &raised {
        if let Some(slot) = mix.iter_mut().find(|(p, _)| p.label() == r.priority) {
            slot.1 += 1;
        }
    }
    AlarmKpis {
        from_ms,
        to_ms,
        raised: raised.len(),
        per_10_min: raised.len() as f64 * TEN_MINUTES_MS as f64 / span,
        peak_10_min: buckets.values().copied().max().unwrap_or(0),
        floods: buckets.values().filter(|n| **n > FLOOD_THRESHOLD).count(),
        chattering: chattering(&raised),
        standing: standing(history, to_ms),
        priority_mix: mix,
    }
}

fn chattering(raised: &[&AlarmEventRow]) -> Vec<String> {
    let mut by_key: HashMap<String, Vec<TimestampMs>> = HashMap::new();
    for r in raised {
        by_key
            .entry(format!("{}/{}", r.sensor, r.condition))
            .or_default()
            .push(r.ts);
    }
    let mut keys: Vec<String> = by_key
        .into_iter()
        .filter(|(_, times)| {
            times
                .windows(CHATTER_CYCLES)
                .any(|w| w[CHATTER_CYCLES - 1] - w[0] < 60_000)
        })
        .map(|(k, _)| k)
        .collect();
    keys.sort();
    keys
}

fn standing(history: &[AlarmEventRow], at: TimestampMs) -> Vec<String> {
    let mut fold = Fold::default();
    for r in history.iter().filter(|r| r.ts < at) {
        fold.add(r);
    }
    let mut keys: Vec<String> = fold
        .into_restored()
        .into_iter()
        .filter(|r| matches!(r.phase, Phase::Unacknowledged | Phase::Acknowledged))
        .filter(|r| at - r.raised_ms > STANDING_MS)
        .map(|r| r.key)
        .collect();
    keys.sort();
    keys
}

/// KPIs of the last `window_ms` before `now` from a history file.
pub fn from_journal(
    path: impl Into<Location>,
    now: TimestampMs,
    window_ms: i64,
) -> Result<AlarmKpis, StoreError> {
    let history = journal::rows_between(path, i64::MIN, now)?;
    let from = now - window_ms;
    let start = history.partition_point(|r| r.ts < from);
    Ok(compute(&history[start..], &history, from, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        ts: TimestampMs,
        sensor: &str,
        event: &str,
        state: &str,
        priority: &str,
    ) -> AlarmEventRow {
        AlarmEventRow {
            ts,
            sensor: sensor.into(),
            condition: "h".into(),
            event: event.into(),
            state: state.into(),
            value: Some(1.0),
            priority: priority.into(),
            operator: String::new(),
            comment: String::new(),
            ..Default::default()
        }
    }

    #[test]
    fn rates_floods_and_priority_mix_counted_by_hand() {
        let min = 60_000;
        let mut rows = Vec::new();
        // Bucket 0 (0–10 min): 11 alarms on 11 sensors → one flood.
        for i in 0..11 {
            rows.push(row(i * 30_000, &format!("s{i}"), "raised", "unack", "high"));
        }
        // Bucket 1: 2 alarms.
        rows.push(row(12 * min, "a", "raised", "unack", "low"));
        rows.push(row(13 * min, "b", "raised", "unack", "critical"));
        // A clear is not an alarm; a suppressed raise is not annunciated.
        rows.push(row(14 * min, "b", "cleared", "rtn unack", "critical"));
        rows.push(row(15 * min, "c", "raised", "suppressed", "low"));
        let k = compute(&rows, &rows, 0, 20 * min);
        assert_eq!(k.raised, 13);
        assert_eq!(k.per_10_min, 6.5);
        assert_eq!(k.peak_10_min, 11);
        assert_eq!(k.floods, 1);
        assert_eq!(
            k.priority_mix,
            [
                (Priority::Critical, 1),
                (Priority::High, 11),
                (Priority::Medium, 0),
                (Priority::Low, 1)
            ]
        );
        assert!(k.chattering.is_empty());
        let pct = k.priority_percent();
        assert!((pct[1].1 - 11.0 * 100.0 / 13.0).abs() < 1e-9);
    }

    #[test]
    fn three_raises_within_a_minute_is_chattering() {
        let rows = vec![
            row(0, "x", "raised", "unack", "high"),
            row(10_000, "x", "cleared", "rtn unack", "high"),
            row(20_000, "x", "raised", "unack", "high"),
            row(30_000, "x", "cleared", "rtn unack", "high"),
            row(59_999, "x", "raised", "unack", "high"),
            // y: three raises spread over exactly a minute is not chattering
            row(0, "y", "raised", "unack", "high"),
            row(30_000, "y", "raised", "unack", "high"),
            row(60_000, "y", "raised", "unack", "high"),
        ];
        let mut sorted = rows.clone();
        sorted.sort_by_key(|r| r.ts);
        let k = compute(&sorted, &sorted, 0, 120_000);
        assert_eq!(k.chattering, vec!["x/h".to_owned()]);
    }

    #[test]
    fn alarms_active_for_more_than_a_day_are_standing() {
        let day = 24 * 3_600_000;
        let rows = vec![
            row(0, "old", "raised", "unack", "high"),
            row(1_000, "old", "acked", "acked", "high"),
            row(0, "gone", "raised", "unack", "high"),
            row(5_000, "gone", "cleared", "rtn unack", "high"),
            row(2 * day - 10, "new", "raised", "unack", "high"),
        ];
        let k = compute(&rows, &rows, day, 2 * day);
        assert_eq!(k.standing, vec!["old/h".to_owned()]);
    }
}
