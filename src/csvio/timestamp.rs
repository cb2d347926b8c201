//! Timestamps as CSV exports write them: RFC 3339, `YYYY-MM-DD HH:MM[:SS[.fff]]`,
//! `DD/MM/YYYY` or `MM/DD/YYYY` (order given or proven by the data, never
//! guessed), epoch seconds or milliseconds, or a chrono pattern. Naive times
//! are local to a timezone; DST gaps are errors, DST overlaps resolve to the
//! reading that keeps time moving forward.
//!
//! The digit scanner is hand-written because it runs once per row on
//! multi-million-row files; chrono does the calendar and timezone work.

use crate::model::TimestampMs;
use chrono::{LocalResult, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

pub use crate::config::csv::{DateFormat, DateOrder};

/// Why a timestamp was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimeError {
    /// Not a timestamp in any accepted shape.
    Unreadable,
    /// A `dd/dd/yyyy` date with no proven day/month order.
    AmbiguousOrder,
    /// The local time falls into a DST gap.
    Nonexistent,
}

/// Fields scanned from the text, before calendar checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
struct Civil {
    year: i32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    nanos: u32,
    /// Offset east of UTC in seconds, when the text carries one.
    offset: Option<i32>,
}

/// Parses one column's (or a date + time pair's) timestamps to UTC ms.
#[derive(Clone, Debug)]
pub struct TimeParser {
    format: DateFormat,
    order: Option<DateOrder>,
    tz: Tz,
    /// (local hour since epoch, offset seconds) known to hold for the whole hour.
    hour_cache: Option<(i64, i64)>,
    last_utc: Option<TimestampMs>,
}

impl TimeParser {
    pub fn new(format: DateFormat, tz: Tz) -> Self {
        let order = match format {
            DateFormat::Order(order) => Some(order),
            _ => None,
        };
        TimeParser {
            format,
            order,
            tz,
            hour_cache: None,
            last_utc: None,
        }
    }

    pub fn order(&self) -> Option<DateOrder> {
        self.order
    }

    /// Fixes the day/month order found in the data (auto mode only).
    pub fn set_order(&mut self, order: DateOrder) {
        if self.format == DateFormat::Auto {
            self.order = Some(order);
        }
    }

    /// Parses a timestamp in one field, or a date and a time field joined.
    pub fn parse(&mut self, date: &str, time: Option<&str>) -> Result<TimestampMs, TimeError> {
        let date = date.trim();
        let time = time.map(str::trim);
        let utc = match &self.format {
            DateFormat::EpochSeconds => epoch(date, 1000.0)?,
            DateFormat::EpochMillis => epoch(date, 1.0)?,
            DateFormat::Pattern(pattern) => {
                let naive = match time {
                    Some(t) => NaiveDateTime::parse_from_str(&format!("{date} {t}"), pattern),
                    None => NaiveDateTime::parse_from_str(date, pattern),
                }
                .map_err(|_| TimeError::Unreadable)?;
                self.local_to_utc(naive)?
            }
            DateFormat::Auto | DateFormat::Order(_) => self.parse_shaped(date, time)?,
        };
        self.last_utc = Some(utc);
        Ok(utc)
    }

    fn parse_shaped(&mut self, date: &str, time: Option<&str>) -> Result<TimestampMs, TimeError> {
        if time.is_none() && looks_like_epoch(date) {
            let value: f64 = date.parse().map_err(|_| TimeError::Unreadable)?;
            return epoch(date, if value.abs() >= 1e11 { 1.0 } else { 1000.0 });
        }
        let civil = self.scan(date, time)?;
        let naive = civil_to_naive(&civil)?;
        match civil.offset {
            Some(offset) => Ok(naive.and_utc().timestamp_millis() - i64::from(offset) * 1000),
            None => self.local_to_utc(naive),
        }
    }

    fn scan(&self, date: &str, time: Option<&str>) -> Result<Civil, TimeError> {
        let mut s = Scanner::new(date.as_bytes());
        let mut civil = if s.peek_digits() == 4 {
            scan_iso_date(&mut s)?
        } else {
            let (first, second, year) = scan_slash_date(&mut s)?;
            let (day, month) = match self.order {
                Some(DateOrder::DayFirst) => (first, second),
                Some(DateOrder::MonthFirst) => (second, first),
                None => return Err(TimeError::AmbiguousOrder),
            };
            Civil {
                year,
                month,
                day,
                ..Civil::default()
            }
        };
        match time {
            Some(t) => {
                if !s.at_end() {
                    return Err(TimeError::Unreadable);
                }
                let mut ts = Scanner::new(t.as_bytes());
                scan_time(&mut ts, &mut civil)?;
                scan_offset(&mut ts, &mut civil)?;
            }
            None => {
                if s.eat_any(b"T ") {
                    scan_time(&mut s, &mut civil)?;
                }
                scan_offset(&mut s, &mut civil)?;
            }
        }
        Ok(civil)
    }

    /// Local wall time in the parser's zone → UTC ms.
    fn local_to_utc(&mut self, naive: NaiveDateTime) -> Result<TimestampMs, TimeError> {
        let local_ms = naive.and_utc().timestamp_millis();
        let hour = local_ms.div_euclid(3_600_000);
        if let Some((cached_hour, offset)) = self.hour_cache
            && cached_hour == hour
        {
            return Ok(local_ms - offset * 1000);
        }
        let utc = match self.tz.from_local_datetime(&naive) {
            LocalResult::Single(t) => {
                let utc = t.timestamp_millis();
                self.remember_hour(hour, (local_ms - utc) / 1000);
                utc
            }
            LocalResult::Ambiguous(early, late) => {
                let early = early.timestamp_millis();
                // The second pass through a repeated hour: time must not run backwards.
                match self.last_utc {
                    Some(last) if early < last => late.timestamp_millis(),
                    _ => early,
                }
            }
            LocalResult::None => return Err(TimeError::Nonexistent),
        };
        Ok(utc)
    }

    /// Caches an hour's offset only when its first and last second agree.
    fn remember_hour(&mut self, hour: i64, offset: i64) {
        let start = hour * 3600;
        let ends_agree = [start, start + 3599].iter().all(|&secs| {
            chrono::DateTime::from_timestamp(secs, 0).is_some_and(|t| {
                matches!(self.tz.from_local_datetime(&t.naive_utc()),
                    LocalResult::Single(x) if secs - x.timestamp() == offset)
            })
        });
        self.hour_cache = ends_agree.then_some((hour, offset));
    }
}

/// What a `dd/dd/yyyy` value says about the day/month order.
pub fn order_evidence(value: &str) -> Option<DateOrder> {
    let mut s = Scanner::new(value.trim().as_bytes());
    let (first, second, _) = scan_slash_date(&mut s).ok()?;
    match (first > 12, second > 12) {
        (true, false) => Some(DateOrder::DayFirst),
        (false, true) => Some(DateOrder::MonthFirst),
        _ => None,
    }
}

/// Whether a value is a `dd/dd/yyyy` date (so its order matters).
pub fn is_slash_date(value: &str) -> bool {
    let mut s = Scanner::new(value.trim().as_bytes());
    scan_slash_date(&mut s).is_ok()
}

fn looks_like_epoch(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && digits.bytes().filter(|&b| b == b'.').count() <= 1
        && digits.len() >= 9
}

fn epoch(s: &str, ms_per_unit: f64) -> Result<TimestampMs, TimeError> {
    let value: f64 = s.trim().parse().map_err(|_| TimeError::Unreadable)?;
    let ms = (value * ms_per_unit).round();
    // chrono's representable range, so every stored timestamp can be shown.
    if ms.is_finite() && ms.abs() < 8.2e15 {
        Ok(ms as i64)
    } else {
        Err(TimeError::Unreadable)
    }
}

fn civil_to_naive(c: &Civil) -> Result<NaiveDateTime, TimeError> {
    NaiveDate::from_ymd_opt(c.year, c.month, c.day)
        .and_then(|d| d.and_hms_nano_opt(c.hour, c.minute, c.second, c.nanos))
        .ok_or(TimeError::Unreadable)
}

fn scan_iso_date(s: &mut Scanner) -> Result<Civil, TimeError> {
    let year = s.number(4, 4)? as i32;
    s.expect(b'-')?;
    let month = s.number(1, 2)?;
    s.expect(b'-')?;
    let day = s.number(1, 2)?;
    Ok(Civil {
        year,
        month,
        day,
        ..Civil::default()
    })
}

/// `a/b/yyyy` (also with `.` or `-`): returns (a, b, year).
fn scan_slash_date(s: &mut Scanner) -> Result<(u32, u32, i32), TimeError> {
    let first = s.number(1, 2)?;
    let sep = s.next().ok_or(TimeError::Unreadable)?;
    if !matches!(sep, b'/' | b'.' | b'-') {
        return Err(TimeError::Unreadable);
    }
    let second = s.number(1, 2)?;
    s.expect(sep)?;
    let year = s.number(4, 4)? as i32;
    Ok((first, second, year))
}

fn scan_time(s: &mut Scanner, c: &mut Civil) -> Result<(), TimeError> {
    c.hour = s.number(1, 2)?;
    s.expect(b':')?;
    c.minute = s.number(2, 2)?;
    if s.eat(b':') {
        c.second = s.number(2, 2)?;
        if s.eat(b'.') || s.eat(b',') {
            c.nanos = s.fraction_nanos()?;
        }
    }
    Ok(())
}

fn scan_offset(s: &mut Scanner, c: &mut Civil) -> Result<(), TimeError> {
    s.skip_spaces();
    if s.at_end() {
        return Ok(());
    }
    if s.eat(b'Z') || s.eat(b'z') {
        c.offset = Some(0);
    } else {
        let sign = match s.next() {
            Some(b'+') => 1,
            Some(b'-') => -1,
            _ => return Err(TimeError::Unreadable),
        };
        let hours = s.number(2, 2)? as i32;
        s.eat(b':');
        let minutes = s.number(2, 2)? as i32;
        if hours > 23 || minutes > 59 {
            return Err(TimeError::Unreadable);
        }
        c.offset = Some(sign * (hours * 3600 + minutes * 60));
    }
    if s.at_end() {
        Ok(())
    } else {
        Err(TimeError::Unreadable)
    }
}

struct Scanner<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Scanner<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Scanner { bytes, pos: 0 }
    }
    fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }
    fn next(&mut self) -> Option<u8> {
        let b = self.bytes.get(self.pos).copied();
        self.pos += 1;
        b
    }
    fn eat(&mut self, b: u8) -> bool {
        if self.bytes.get(self.pos) == Some(&b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn eat_any(&mut self, set: &[u8]) -> bool {
        match self.bytes.get(self.pos) {
            Some(b) if set.contains(b) => {
                self.pos += 1;
                true
            }
            _ => false,
        }
    }
    fn expect(&mut self, b: u8) -> Result<(), TimeError> {
        if self.eat(b) {
            Ok(())
        } else {
            Err(TimeError::Unreadable)
        }
    }
    fn skip_spaces(&mut self) {
        while self.eat(b' ') {}
    }
    fn peek_digits(&self) -> usize {
        self.bytes[self.pos.min(self.bytes.len())..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    }
    /// A run of `min..=max` digits (stops after `max`).
    fn number(&mut self, min: usize, max: usize) -> Result<u32, TimeError> {
        let n = self.peek_digits().min(max);
        if n < min {
            return Err(TimeError::Unreadable);
        }
        let mut value = 0u32;
        for _ in 0..n {
            value = value * 10 + u32::from(self.bytes[self.pos] - b'0');
            self.pos += 1;
        }
        Ok(value)
    }
    fn fraction_nanos(&mut self) -> Result<u32, TimeError> {
        let n = self.peek_digits();
        if n == 0 {
            return Err(TimeError::Unreadable);
        }
        let mut nanos = 0u32;
        for i in 0..n {
            let digit = u32::from(self.bytes[self.pos] - b'0');
            if i < 9 {
                nanos = nanos * 10 + digit;
            }
            self.pos += 1;
        }
        Ok(nanos * 10u32.pow(9u32.saturating_sub(n as u32)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .timestamp_millis()
    }

    fn auto(tz: Tz) -> TimeParser {
        TimeParser::new(DateFormat::Auto, tz)
    }

    #[test]
    fn rfc3339_with_zone_or_offset() {
        let mut p = auto(chrono_tz::Europe::Paris);
        assert_eq!(
            p.parse("2025-10-02T12:00:00Z", None),
            Ok(ms("2025-10-02T12:00:00Z"))
        );
        assert_eq!(
            p.parse("2025-10-02T12:00:00.250-03:00", None),
            Ok(ms("2025-10-02T15:00:00.250Z"))
        );
        assert_eq!(
            p.parse("2025-10-02 12:00:00+0530", None),
            Ok(ms("2025-10-02T06:30:00Z"))
        );
    }

    #[test]
    fn naive_iso_times_are_local_to_the_zone() {
        let mut p = auto(chrono_tz::America::Sao_Paulo);
        assert_eq!(
            p.parse("2025-10-02 12:00", None),
            Ok(ms("2025-10-02T15:00:00Z"))
        );
        assert_eq!(
            p.parse("2025-10-02T12:00:30", None),
            Ok(ms("2025-10-02T15:00:30Z"))
        );
        assert_eq!(p.parse("2025-10-02", None), Ok(ms("2025-10-02T03:00:00Z")));
    }

    #[test]
    fn split_date_and_time_with_explicit_order() {
        let mut dmy = TimeParser::new(
            DateFormat::Order(DateOrder::DayFirst),
            chrono_tz::Europe::Paris,
        );
        assert_eq!(
            dmy.parse("16/12/2006", Some("17:24:00")),
            Ok(ms("2006-12-16T16:24:00Z"))
        );
        assert_eq!(
            dmy.parse("01/02/2024", Some("00:00")),
            Ok(ms("2024-01-31T23:00:00Z"))
        );
        let mut mdy = TimeParser::new(DateFormat::Order(DateOrder::MonthFirst), chrono_tz::UTC);
        assert_eq!(
            mdy.parse("01/02/2024 06:30", None),
            Ok(ms("2024-01-02T06:30:00Z"))
        );
        assert_eq!(
            mdy.parse("13/02/2024 06:30", None),
            Err(TimeError::Unreadable)
        );
    }

    #[test]
    fn slash_dates_are_never_guessed() {
        let mut p = auto(chrono_tz::UTC);
        assert_eq!(
            p.parse("01/02/2024 00:00", None),
            Err(TimeError::AmbiguousOrder)
        );
        assert_eq!(order_evidence("16/12/2006"), Some(DateOrder::DayFirst));
        assert_eq!(order_evidence("12/16/2006"), Some(DateOrder::MonthFirst));
        assert_eq!(order_evidence("01/02/2006"), None);
        p.set_order(DateOrder::DayFirst);
        assert_eq!(
            p.parse("01/02/2024 00:00", None),
            Ok(ms("2024-02-01T00:00:00Z"))
        );
    }

    #[test]
    fn epoch_seconds_and_millis_by_magnitude_or_option() {
        let mut p = auto(chrono_tz::UTC);
        assert_eq!(p.parse("1759406400", None), Ok(1_759_406_400_000));
        assert_eq!(p.parse("1759406400123", None), Ok(1_759_406_400_123));
        assert_eq!(p.parse("1759406400.5", None), Ok(1_759_406_400_500));
        let mut s = TimeParser::new(DateFormat::EpochSeconds, chrono_tz::UTC);
        assert_eq!(s.parse("86400", None), Ok(86_400_000));
        let mut m = TimeParser::new(DateFormat::EpochMillis, chrono_tz::UTC);
        assert_eq!(m.parse("86400", None), Ok(86_400));
    }

    #[test]
    fn dst_gap_is_an_error_and_overlap_keeps_time_moving_forward() {
        let mut p = auto(chrono_tz::Europe::Paris);
        // 2025-03-30 02:30 does not exist in Paris.
        assert_eq!(
            p.parse("2025-03-30 02:30", None),
            Err(TimeError::Nonexistent)
        );
        // 2025-10-26 02:30 happens twice: CEST (00:30Z) then CET (01:30Z).
        let mut p = auto(chrono_tz::Europe::Paris);
        assert_eq!(
            p.parse("2025-10-26 02:00", None),
            Ok(ms("2025-10-26T00:00:00Z"))
        );
        assert_eq!(
            p.parse("2025-10-26 02:30", None),
            Ok(ms("2025-10-26T00:30:00Z"))
        );
        assert_eq!(
            p.parse("2025-10-26 02:15", None),
            Ok(ms("2025-10-26T01:15:00Z"))
        );
        assert_eq!(
            p.parse("2025-10-26 03:00", None),
            Ok(ms("2025-10-26T02:00:00Z"))
        );
    }

    #[test]
    fn hour_cache_does_not_cross_a_transition() {
        let mut p = auto(chrono_tz::Europe::Paris);
        assert_eq!(
            p.parse("2025-03-30 01:59:59", None),
            Ok(ms("2025-03-30T00:59:59Z"))
        );
        assert_eq!(
            p.parse("2025-03-30 03:00:00", None),
            Ok(ms("2025-03-30T01:00:00Z"))
        );
        assert_eq!(
            p.parse("2025-03-30 01:00:00", None),
            Ok(ms("2025-03-30T00:00:00Z"))
        );
    }

    #[test]
    fn a_chrono_pattern() {
        let mut p = TimeParser::new("%d.%m.%Y %H:%M".parse().unwrap(), chrono_tz::UTC);
        assert_eq!(
            p.parse("02.10.2025 12:00", None),
            Ok(ms("2025-10-02T12:00:00Z"))
        );
        assert_eq!(
            p.parse("02.10.2025", Some("12:00")),
            Ok(ms("2025-10-02T12:00:00Z"))
        );
    }

    #[test]
    fn garbage_is_unreadable() {
        let mut p = auto(chrono_tz::UTC);
        for bad in [
            "",
            "2025-13-01",
            "2025-02-30 00:00",
            "2025-10-02 25:00",
            "2025-10-02T12:00:00Q",
            "20251002",
            "hello",
            "2025-10-02 12:00 extra",
        ] {
            assert!(p.parse(bad, None).is_err(), "{bad:?} was accepted");
        }
    }
}
