//! Times inside JSON payloads. Text is read by the CSV import's parser
//! ([`TimeParser`]): RFC 3339 with its offset, a time without one (`2025-10-01
//! 00:00:00`) in the binding's zone, or a strftime pattern; a time in a DST
//! gap is refused and one in a repeated hour keeps time moving forward.
//! Numbers are epoch seconds or milliseconds.

use super::{DecodeError, short_json};
use crate::config::TimeFormat;
use crate::csvio::timestamp::{DateFormat, TimeError, TimeParser};
use crate::model::TimestampMs;
use serde_json::Value;

/// ±10^15 ms is year ±33658: anything beyond is not a time.
const EPOCH_LIMIT_MS: f64 = 1e15;

#[derive(Clone, Debug)]
pub(super) struct Times {
    format: TimeFormat,
    text: TimeParser,
    zone: chrono_tz::Tz,
}

impl Times {
    pub(super) fn new(format: &TimeFormat, zone: chrono_tz::Tz) -> Times {
        let date_format = match format {
            TimeFormat::Auto | TimeFormat::Rfc3339 => DateFormat::Auto,
            TimeFormat::S => DateFormat::EpochSeconds,
            TimeFormat::Ms => DateFormat::EpochMillis,
            TimeFormat::Pattern(p) => DateFormat::Pattern(p.clone()),
        };
        Times {
            format: format.clone(),
            text: TimeParser::new(date_format, zone),
            zone,
        }
    }

    /// A timestamp in ms from the JSON value at `pointer`.
    pub(super) fn parse(&mut self, pointer: &str, v: &Value) -> Result<TimestampMs, DecodeError> {
        let bad = |expected| DecodeError::BadTime {
            pointer: pointer.to_owned(),
            found: short_json(v),
            expected,
        };
        match (v, &self.format) {
            (Value::Number(n), TimeFormat::Auto) => {
                epoch(n.as_f64(), None).ok_or_else(|| bad(PLAUSIBLE))
            }
            (Value::Number(n), TimeFormat::S) => {
                epoch(n.as_f64(), Some(false)).ok_or_else(|| bad(PLAUSIBLE))
            }
            (Value::Number(n), TimeFormat::Ms) => {
                epoch(n.as_f64(), Some(true)).ok_or_else(|| bad(PLAUSIBLE))
            }
            (Value::Number(n), TimeFormat::Pattern(_)) => self.text(pointer, v, &n.to_string()),
            (Value::Number(_), TimeFormat::Rfc3339) => Err(bad(TEXT_TIME)),
            (Value::String(s), TimeFormat::S) => {
                epoch(s.trim().parse().ok(), Some(false)).ok_or_else(|| bad(PLAUSIBLE))
            }
            (Value::String(s), TimeFormat::Ms) => {
                epoch(s.trim().parse().ok(), Some(true)).ok_or_else(|| bad(PLAUSIBLE))
            }
            (Value::String(s), TimeFormat::Rfc3339) if s.trim().parse::<f64>().is_ok() => {
                Err(bad(TEXT_TIME))
            }
            (Value::String(s), TimeFormat::Auto) => match s.trim().parse::<f64>() {
                Ok(number) => epoch(Some(number), None).ok_or_else(|| bad(PLAUSIBLE)),
                Err(_) => self.text(pointer, v, s),
            },
            (Value::String(s), _) => self.text(pointer, v, s),
            _ => Err(bad("a timestamp")),
        }
    }

    /// Text through the import's parser.
    fn text(&mut self, pointer: &str, v: &Value, s: &str) -> Result<TimestampMs, DecodeError> {
        let bad = |expected| DecodeError::BadTime {
            pointer: pointer.to_owned(),
            found: short_json(v),
            expected,
        };
        self.text.parse(s, None).map_err(|e| match e {
            TimeError::Nonexistent => DecodeError::LocalTimeGap {
                pointer: pointer.to_owned(),
                found: short_json(v),
                zone: self.zone.name().to_owned(),
            },
            TimeError::AmbiguousOrder => bad(
                "a date whose day/month order is known: set time_format, e.g. \"%d/%m/%Y %H:%M:%S\"",
            ),
            TimeError::Unreadable => bad(match self.format {
                TimeFormat::Pattern(_) => "a time written as time_format says",
                TimeFormat::Rfc3339 => TEXT_TIME,
                _ => "an RFC 3339 time or an epoch number",
            }),
        })
    }
}

const PLAUSIBLE: &str = "a plausible epoch time";
const TEXT_TIME: &str = "an RFC 3339 time";

/// Epoch seconds (`Some(false)`), milliseconds (`Some(true)`), or chosen by
/// magnitude (`None`: ms from 10^11 up).
fn epoch(x: Option<f64>, ms: Option<bool>) -> Option<TimestampMs> {
    let x = x?;
    let ms = ms.unwrap_or(x.abs() >= 1e11);
    let ms_value = if ms { x } else { x * 1000.0 };
    (ms_value.is_finite() && ms_value.abs() < EPOCH_LIMIT_MS)
        .then(|| ms_value.round() as TimestampMs)
}
