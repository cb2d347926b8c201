//! Billing periods in the plant timezone: a calendar month (or a month that
//! starts on another day), or arbitrary `--from/--to` instants. Boundaries are
//! local midnights converted to UTC, so a month with a DST change is 1 hour
//! shorter or longer than 24 × days.

use crate::model::TimestampMs;
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Period {
    /// Inclusive start, UTC ms.
    pub from: TimestampMs,
    /// Exclusive end, UTC ms.
    pub to: TimestampMs,
    /// `2026-10`, or `2026-10-15..2026-11-15`.
    pub label: String,
    #[serde(skip)]
    pub tz: Tz,
    #[serde(skip)]
    shape: Shape,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    Month {
        year: i32,
        month: u32,
        start_day: u32,
    },
    Custom,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PeriodError {
    #[error("period {0:?} must be a month like 2026-10")]
    BadMonth(String),
    #[error(
        "{0:?} must be a date (2026-10-01), a local date and time (2026-10-01T06:00) or an RFC 3339 instant"
    )]
    BadInstant(String),
    #[error("--from {from} must be before --to {to}")]
    Empty { from: String, to: String },
}

impl Period {
    /// The month `year-month` starting on `start_day` (1–28) at local midnight.
    pub fn month(tz: Tz, year: i32, month: u32, start_day: u32) -> Option<Period> {
        let start = NaiveDate::from_ymd_opt(year, month, start_day)?;
        let (ny, nm) = if month == 12 {
            (year + 1, 1)
        } else {
            (year, month + 1)
        };
        let end = NaiveDate::from_ymd_opt(ny, nm, start_day)?;
        let label = if start_day == 1 {
            format!("{year:04}-{month:02}")
        } else {
            format!("{start}..{end}")
        };
        Some(Period {
            from: local_midnight(tz, start),
            to: local_midnight(tz, end),
            label,
            tz,
            shape: Shape::Month {
                year,
                month,
                start_day,
            },
        })
    }

    /// Parses `--period 2026-10`.
    pub fn parse_month(tz: Tz, text: &str, start_day: u32) -> Result<Period, PeriodError> {
        let bad = || PeriodError::BadMonth(text.to_owned());
        let (y, m) = text.trim().split_once('-').ok_or_else(bad)?;
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u32 = m.parse().map_err(|_| bad())?;
        Period::month(tz, year, month, start_day.clamp(1, 28)).ok_or_else(bad)
    }

    /// `--from A --to B` (B exclusive): local dates, local date-times or RFC 3339.
    pub fn custom(tz: Tz, from: &str, to: &str) -> Result<Period, PeriodError> {
        let start = parse_instant(tz, from)?;
        let end = parse_instant(tz, to)?;
        if start >= end {
            return Err(PeriodError::Empty {
                from: from.to_owned(),
                to: to.to_owned(),
            });
        }
        Ok(Period::between(tz, start, end))
    }

    pub fn between(tz: Tz, from: TimestampMs, to: TimestampMs) -> Period {
        Period {
            from,
            to,
            label: format!("{}..{}", local_text(tz, from), local_text(tz, to)),
            tz,
            shape: Shape::Custom,
        }
    }

    /// The period just before this one: the previous month, or a span of the same length.
    pub fn previous(&self) -> Period {
        match self.shape {
            Shape::Month {
                year,
                month,
                start_day,
            } => {
                let (py, pm) = if month == 1 {
                    (year - 1, 12)
                } else {
                    (year, month - 1)
                };
                Period::month(self.tz, py, pm, start_day)
                    .unwrap_or_else(|| Period::between(self.tz, self.from - self.len(), self.from))
            }
            Shape::Custom => Period::between(self.tz, self.from - self.len(), self.from),
        }
    }

    /// The period that contains `ts` with the same shape as a month period.
    pub fn month_containing(tz: Tz, ts: TimestampMs, start_day: u32) -> Period {
        let local = tz.timestamp_millis_opt(ts).single().map(|t| t.date_naive());
        let date = local.unwrap_or_default();
        let (mut y, mut m) = (date.year(), date.month());
        if date.day() < start_day {
            if m == 1 {
                y -= 1;
                m = 12;
            } else {
                m -= 1;
            }
        }
        Period::month(tz, y, m, start_day.clamp(1, 28))
            .unwrap_or_else(|| Period::between(tz, ts, ts + 1))
    }

    pub fn len(&self) -> i64 {
        self.to - self.from
    }

    pub fn is_empty(&self) -> bool {
        self.to <= self.from
    }

    pub fn contains(&self, ts: TimestampMs) -> bool {
        self.from <= ts && ts < self.to
    }
}

/// UTC ms of local midnight starting `date`; where midnight does not exist (a DST
/// jump at 00:00) the first local instant of the day.
pub fn local_midnight(tz: Tz, date: NaiveDate) -> TimestampMs {
    local_instant(tz, date.and_hms_opt(0, 0, 0).unwrap_or_default())
}

fn local_instant(tz: Tz, local: NaiveDateTime) -> TimestampMs {
    let mut t = local;
    // A DST gap is at most a few hours; step forward until the local time exists.
    for _ in 0..24 * 4 {
        if let Some(at) = tz.from_local_datetime(&t).earliest() {
            return at.timestamp_millis();
        }
        t += Duration::minutes(15);
    }
    tz.from_utc_datetime(&local).timestamp_millis()
}

fn parse_instant(tz: Tz, text: &str) -> Result<TimestampMs, PeriodError> {
    let text = text.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.timestamp_millis());
    }
    if let Some(date) = crate::config::parse_local_date(text) {
        return Ok(local_midnight(tz, date));
    }
    for format in ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(local_instant(tz, t));
        }
    }
    Err(PeriodError::BadInstant(text.to_owned()))
}

/// `2026-10-01 00:00` in the plant timezone.
pub fn local_text(tz: Tz, ts: TimestampMs) -> String {
    tz.timestamp_millis_opt(ts)
        .single()
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| crate::model::format_ts(ts))
}

/// `2026-10-01 00:00:00 -03` in the plant timezone, for readings.
pub fn local_text_full(tz: Tz, ts: TimestampMs) -> String {
    tz.timestamp_millis_opt(ts)
        .single()
        .map(|t| t.format("%Y-%m-%d %H:%M:%S %Z").to_string())
        .unwrap_or_else(|| crate::model::format_ts(ts))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    #[test]
    fn a_calendar_month_runs_between_local_midnights() {
        let p = Period::parse_month(chrono_tz::UTC, "2026-10", 1).unwrap();
        assert_eq!(p.label, "2026-10");
        assert_eq!(crate::model::format_ts(p.from), "2026-10-01T00:00:00.000Z");
        assert_eq!(crate::model::format_ts(p.to), "2026-11-01T00:00:00.000Z");
        assert_eq!(p.len(), 31 * 24 * HOUR);
    }

    #[test]
    fn a_month_with_a_dst_change_is_an_hour_short_or_long() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let march = Period::parse_month(berlin, "2026-03", 1).unwrap();
        assert_eq!(march.len(), 31 * 24 * HOUR - HOUR);
        assert_eq!(
            crate::model::format_ts(march.from),
            "2026-02-28T23:00:00.000Z"
        );
        let october = Period::parse_month(berlin, "2026-10", 1).unwrap();
        assert_eq!(october.len(), 31 * 24 * HOUR + HOUR);
    }

    #[test]
    fn a_missing_local_midnight_starts_the_day_at_its_first_instant() {
        // Sao Paulo jumped from 00:00 to 01:00 on 2018-11-04.
        let sp: Tz = "America/Sao_Paulo".parse().unwrap();
        let day = local_midnight(sp, NaiveDate::from_ymd_opt(2018, 11, 4).unwrap());
        assert_eq!(crate::model::format_ts(day), "2018-11-04T03:00:00.000Z");
    }

    #[test]
    fn custom_start_day_and_previous_periods() {
        let p = Period::parse_month(chrono_tz::UTC, "2026-01", 15).unwrap();
        assert_eq!(p.label, "2026-01-15..2026-02-15");
        let prev = p.previous();
        assert_eq!(prev.label, "2025-12-15..2026-01-15");
        assert_eq!(prev.to, p.from);
        let custom = Period::custom(chrono_tz::UTC, "2026-10-01", "2026-10-11T12:00").unwrap();
        assert_eq!(custom.len(), 10 * 24 * HOUR + 12 * HOUR);
        assert_eq!(custom.previous().to, custom.from);
        assert_eq!(custom.previous().len(), custom.len());
    }

    #[test]
    fn bad_periods_are_refused_with_the_text_named() {
        assert!(matches!(
            Period::parse_month(chrono_tz::UTC, "2026-13", 1),
            Err(PeriodError::BadMonth(_))
        ));
        assert!(Period::custom(chrono_tz::UTC, "2026-10-02", "2026-10-01").is_err());
        let err = Period::custom(chrono_tz::UTC, "yesterday", "2026-10-01").unwrap_err();
        assert!(err.to_string().contains("\"yesterday\""));
    }
}
