//! How a payload writes its times (`time_format`) and in which zone a time
//! without an offset is (`tz`, default the plant's). The parsing itself is
//! the CSV import's (`csvio::timestamp`), so both read the same text the
//! same way.

use chrono::format::{Item, StrftimeItems};
use chrono::{NaiveDate, NaiveDateTime};
use std::fmt::Write;

/// `time_format`: `auto`, `rfc3339`, `s`, `ms`, or a strftime pattern.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum TimeFormat {
    /// Strings as RFC 3339 or `YYYY-MM-DD HH:MM:SS` (local without an
    /// offset), numbers as epoch seconds (or ms when above 10^11).
    #[default]
    Auto,
    /// Text times only (RFC 3339, or local `YYYY-MM-DD HH:MM:SS`).
    Rfc3339,
    /// Epoch seconds (fractions allowed).
    S,
    /// Epoch milliseconds.
    Ms,
    /// A chrono strftime pattern, e.g. `%d/%m/%Y %H:%M:%S`, local time.
    Pattern(String),
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TimeFormatError {
    #[error(
        "unknown time_format {0:?}: expected auto, rfc3339, s, ms or a strftime pattern like \"%d/%m/%Y %H:%M:%S\""
    )]
    Unknown(String),
    #[error("time_format {0:?} is not a valid strftime pattern (see chrono's strftime specifiers)")]
    BadPattern(String),
    #[error(
        "time_format {0:?} does not read a whole date and time: it needs the year, month, day, hour and minute (e.g. \"%d/%m/%Y %H:%M:%S\")"
    )]
    Incomplete(String),
}

impl std::str::FromStr for TimeFormat {
    type Err = TimeFormatError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(TimeFormat::Auto),
            "rfc3339" => Ok(TimeFormat::Rfc3339),
            "s" => Ok(TimeFormat::S),
            "ms" => Ok(TimeFormat::Ms),
            p if p.contains('%') => check_pattern(p).map(|()| TimeFormat::Pattern(p.to_owned())),
            other => Err(TimeFormatError::Unknown(other.to_owned())),
        }
    }
}

/// A pattern must be valid and read back a date and time it wrote.
fn check_pattern(p: &str) -> Result<(), TimeFormatError> {
    if StrftimeItems::new(p).any(|item| matches!(item, Item::Error)) {
        return Err(TimeFormatError::BadPattern(p.to_owned()));
    }
    let sample = NaiveDate::from_ymd_opt(2025, 10, 1)
        .and_then(|d| d.and_hms_opt(13, 14, 15))
        .ok_or_else(|| TimeFormatError::BadPattern(p.to_owned()))?;
    let mut text = String::new();
    write!(text, "{}", sample.format(p)).map_err(|_| TimeFormatError::BadPattern(p.to_owned()))?;
    match NaiveDateTime::parse_from_str(&text, p) {
        Ok(back) if back.date() == sample.date() => Ok(()),
        _ => Err(TimeFormatError::Incomplete(p.to_owned())),
    }
}

/// A timezone name chrono-tz does not know.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown timezone {0:?}: expected an IANA name like \"Europe/Paris\" or \"UTC\"")]
pub struct UnknownTimezone(pub String);

/// An IANA zone name, e.g. `Europe/Madrid` or `UTC`.
pub fn parse_timezone(name: &str) -> Result<chrono_tz::Tz, UnknownTimezone> {
    name.parse().map_err(|_| UnknownTimezone(name.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_patterns() {
        assert_eq!("auto".parse(), Ok(TimeFormat::Auto));
        assert_eq!("ms".parse(), Ok(TimeFormat::Ms));
        assert_eq!(
            "%d/%m/%Y %H:%M:%S".parse(),
            Ok(TimeFormat::Pattern("%d/%m/%Y %H:%M:%S".into()))
        );
        assert!(matches!(
            "%d/%m/%Y %Q".parse::<TimeFormat>(),
            Err(TimeFormatError::BadPattern(_))
        ));
        assert!(matches!(
            "%d/%m/%Y".parse::<TimeFormat>(),
            Err(TimeFormatError::Incomplete(_))
        ));
        assert!(matches!(
            "iso".parse::<TimeFormat>(),
            Err(TimeFormatError::Unknown(_))
        ));
        assert!(parse_timezone("Europe/Madrid").is_ok());
        assert_eq!(
            parse_timezone("Mars/Olympus").unwrap_err().to_string(),
            "unknown timezone \"Mars/Olympus\": expected an IANA name like \"Europe/Paris\" or \"UTC\""
        );
    }
}
