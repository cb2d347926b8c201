//! Replay in the console, below the state: the file picker's contents, the
//! replay keys shown in the footer and help, and reading a seek target. The
//! keys themselves are handled in `state::replay`; the update loop starts
//! and stops the replay (`Effect::StartReplay`, `Effect::StopReplay`).

use crate::model::TimestampMs;
use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use std::path::PathBuf;

/// CSV files offered by the `r` key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Picker {
    pub files: Vec<PathBuf>,
    pub selected: usize,
}

/// The keys of a replay on screen, for the footer and the help.
pub const KEYS: &[(&str, &str)] = &[
    ("Space", "pause"),
    ("<>", "speed"),
    ("n", "step"),
    ("b/f", "∓1 min"),
    ("B/F", "∓1 h"),
    ("T", "seek"),
    ("0", "restart"),
];

/// `HH:MM[:SS]` on the replay's current day, or `YYYY-MM-DD HH:MM[:SS]`, in the plant's zone.
pub fn seek_target(text: &str, position: TimestampMs, tz: chrono_tz::Tz) -> Option<TimestampMs> {
    let text = text.trim();
    let time = |t: &str| {
        NaiveTime::parse_from_str(t, "%H:%M:%S")
            .or_else(|_| NaiveTime::parse_from_str(t, "%H:%M"))
            .ok()
    };
    let naive = match text.split_once(' ') {
        Some((date, t)) => {
            NaiveDateTime::new(NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?, time(t)?)
        }
        None => {
            let day = chrono::DateTime::from_timestamp_millis(position)?
                .with_timezone(&tz)
                .date_naive();
            NaiveDateTime::new(day, time(text)?)
        }
    };
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|t| t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seek_targets_in_the_plant_zone() {
        let tz = chrono_tz::America::Sao_Paulo;
        let position = chrono::DateTime::parse_from_rfc3339("2025-10-02T13:00:00Z")
            .unwrap()
            .timestamp_millis();
        let expect = |s: &str| {
            chrono::DateTime::parse_from_rfc3339(s)
                .unwrap()
                .timestamp_millis()
        };
        assert_eq!(
            seek_target("14:30", position, tz),
            Some(expect("2025-10-02T17:30:00Z"))
        );
        assert_eq!(
            seek_target("2025-10-01 00:00:10", position, tz),
            Some(expect("2025-10-01T03:00:10Z"))
        );
        assert_eq!(seek_target("noon", position, tz), None);
    }
}
