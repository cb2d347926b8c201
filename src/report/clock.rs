//! Plant-local time for reports: UTC offsets looked up once per hour instead of
//! once per row, ISO 8601 formatting with the offset, and local-midnight
//! instants across DST changes.

use crate::model::TimestampMs;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Offset, TimeZone};
use chrono_tz::Tz;
use std::fmt::Write as _;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
pub const DAY: i64 = 24 * HOUR;

/// The UTC offset of `ts` in `tz`, in ms (0 for instants chrono cannot represent).
pub fn offset_at(tz: Tz, ts: TimestampMs) -> i64 {
    DateTime::from_timestamp_millis(ts).map_or(0, |t| {
        i64::from(
            tz.offset_from_utc_datetime(&t.naive_utc())
                .fix()
                .local_minus_utc(),
        ) * 1000
    })
}

/// Offsets of one zone, cached per UTC hour: a zone never changes its offset
/// twice within an hour, so equal offsets at both ends of the hour hold for
/// all of it.
#[derive(Clone, Debug)]
pub struct LocalClock {
    tz: Tz,
    window: (TimestampMs, TimestampMs, i64),
}

impl LocalClock {
    pub fn new(tz: Tz) -> Self {
        LocalClock {
            tz,
            window: (0, 0, 0),
        }
    }

    pub fn tz(&self) -> Tz {
        self.tz
    }

    pub fn offset_ms(&mut self, ts: TimestampMs) -> i64 {
        let (start, end, offset) = self.window;
        if ts >= start && ts < end {
            return offset;
        }
        let hour = ts.div_euclid(HOUR) * HOUR;
        let at_start = offset_at(self.tz, hour);
        if at_start == offset_at(self.tz, hour + HOUR - 1) {
            self.window = (hour, hour + HOUR, at_start);
            at_start
        } else {
            offset_at(self.tz, ts)
        }
    }

    /// Wall-clock time of `ts` as ms since 1970-01-01T00:00 local.
    pub fn local_ms(&mut self, ts: TimestampMs) -> i64 {
        ts + self.offset_ms(ts)
    }

    /// The first instant whose local wall-clock time is `local` or later:
    /// `local` itself when it exists (the earlier one when it occurs twice),
    /// the end of the DST gap when it does not.
    pub fn first_instant_at_or_after(&mut self, local: NaiveDateTime) -> TimestampMs {
        if let Some(t) = self.tz.from_local_datetime(&local).earliest() {
            return t.timestamp_millis();
        }
        let target = local.and_utc().timestamp_millis();
        // In a gap local time only moves forward, so bisect on it.
        let (mut lo, mut hi) = (target - 2 * DAY, target + 2 * DAY);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if mid + offset_at(self.tz, mid) >= target {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        lo
    }
}

/// Formats instants as ISO 8601 with the plant's offset, e.g.
/// `2026-03-29T03:00:00+02:00` (milliseconds only when non-zero). Everything
/// up to the seconds is cached per local minute.
#[derive(Clone, Debug)]
pub struct IsoFormatter {
    clock: LocalClock,
    key: Option<(i64, i64)>,
    prefix: String,
    suffix: String,
    buf: String,
}

impl IsoFormatter {
    pub fn new(tz: Tz) -> Self {
        IsoFormatter {
            clock: LocalClock::new(tz),
            key: None,
            prefix: String::new(),
            suffix: String::new(),
            buf: String::with_capacity(40),
        }
    }

    pub fn format(&mut self, ts: TimestampMs) -> &str {
        let offset = self.clock.offset_ms(ts);
        let local = ts + offset;
        let minute = local.div_euclid(MINUTE);
        if self.key != Some((minute, offset)) {
            self.rebuild(minute, offset);
        }
        let in_minute = local.rem_euclid(MINUTE);
        let (secs, millis) = (in_minute / 1000, in_minute % 1000);
        self.buf.clear();
        self.buf.push_str(&self.prefix);
        let _ = write!(self.buf, "{secs:02}");
        if millis != 0 {
            let _ = write!(self.buf, ".{millis:03}");
        }
        self.buf.push_str(&self.suffix);
        &self.buf
    }

    fn rebuild(&mut self, minute: i64, offset: i64) {
        self.key = Some((minute, offset));
        self.prefix.clear();
        if let Some(t) = DateTime::from_timestamp_millis(minute * MINUTE) {
            let _ = write!(self.prefix, "{}", t.naive_utc().format("%Y-%m-%dT%H:%M:"));
        }
        self.suffix = offset_suffix(offset);
    }
}

/// `+01:00`, `-03:00`, `+05:45`; seconds only for historical offsets that have them.
fn offset_suffix(offset_ms: i64) -> String {
    let sign = if offset_ms < 0 { '-' } else { '+' };
    let secs = offset_ms.abs() / 1000;
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    if s == 0 {
        format!("{sign}{h:02}:{m:02}")
    } else {
        format!("{sign}{h:02}:{m:02}:{s:02}")
    }
}

/// The local calendar date of a local-ms value.
pub fn local_date(local_ms: i64) -> NaiveDate {
    DateTime::from_timestamp_millis(local_ms.div_euclid(DAY) * DAY)
        .map(|t| t.date_naive())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::SecondsFormat;

    fn chrono_iso(tz: Tz, ts: i64) -> String {
        DateTime::from_timestamp_millis(ts)
            .unwrap()
            .with_timezone(&tz)
            .to_rfc3339_opts(SecondsFormat::AutoSi, false)
    }

    #[test]
    fn iso_format_agrees_with_chrono_across_dst_and_odd_offsets() {
        for zone in ["Europe/Paris", "America/Sao_Paulo", "Asia/Kathmandu", "UTC"] {
            let tz: Tz = zone.parse().unwrap();
            let mut f = IsoFormatter::new(tz);
            // 2018-2026, steps of an odd number of ms so every field varies.
            let mut ts = 1_514_764_800_000i64;
            while ts < 1_798_761_600_000 {
                assert_eq!(f.format(ts), chrono_iso(tz, ts), "{zone} {ts}");
                ts += 3_600_000 * 7 + 61_001;
            }
        }
    }

    #[test]
    fn formats_the_paris_spring_forward_instant() {
        let mut f = IsoFormatter::new(chrono_tz::Europe::Paris);
        // 2026-03-29 01:00:00Z is when Paris goes from +01:00 to +02:00.
        let t = 1_774_746_000_000;
        assert_eq!(f.format(t - 1), "2026-03-29T01:59:59.999+01:00");
        assert_eq!(f.format(t), "2026-03-29T03:00:00+02:00");
    }

    #[test]
    fn local_midnight_in_a_gap_is_the_end_of_the_gap() {
        // Sao Paulo, 2018-11-04: clocks jumped from 00:00 to 01:00 (-03 → -02).
        let mut c = LocalClock::new(chrono_tz::America::Sao_Paulo);
        let midnight = NaiveDate::from_ymd_opt(2018, 11, 4)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        // 00:00 -03:00 = 03:00Z.
        assert_eq!(c.first_instant_at_or_after(midnight), 1_541_300_400_000);
    }
}
