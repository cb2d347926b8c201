//! Per-sensor, per-bucket statistics: count, min, max, mean, first, last and,
//! for cumulative meters, the delta. Buckets follow the plant's wall clock:
//! days and months start at local midnight (a DST day lasts 23 or 25 hours),
//! sub-day buckets start at local multiples of their length (the repeated
//! hour of a DST fall-back is its own bucket).

use super::clock::{DAY, LocalClock, local_date};
use super::points::{Cursor, StoredSensor, TimeRange, last_good_before};
use super::progress::Progress;
use super::table::Table;
use super::{OptionError, ReportError};
use crate::model::{Quality, TimestampMs};
use crate::store::HistoryReader;
use chrono::{Datelike, NaiveDate};
use chrono_tz::Tz;
use std::io::Write;

/// Bucket length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Every {
    /// A fixed length that divides a day, aligned on local midnight.
    Fixed(i64),
    Day,
    Month,
}

impl Every {
    /// `15m`, `1h`, `1d`, `1mo` (any length that divides a day, or a day, or a month).
    pub fn parse(text: &str) -> Result<Every, OptionError> {
        let t = text.trim();
        match t {
            "1d" | "d" | "day" | "daily" => return Ok(Every::Day),
            "1mo" | "mo" | "month" | "monthly" => return Ok(Every::Month),
            _ => {}
        }
        let d = humantime::parse_duration(t).map_err(|source| OptionError::EveryNotADuration {
            text: text.into(),
            source,
        })?;
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        if ms == DAY {
            Ok(Every::Day)
        } else if ms > 0 && ms % 1000 == 0 && DAY % ms == 0 {
            Ok(Every::Fixed(ms))
        } else {
            Err(OptionError::EveryNotDividingADay { text: text.into() })
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Fixed { local_floor: i64, offset: i64 },
    Day(i64),
    Month(i64),
}

/// Maps instants to plant-local buckets.
pub struct Bucketer {
    every: Every,
    clock: LocalClock,
    month_cache: Option<(i64, i64)>,
}

impl Bucketer {
    pub fn new(every: Every, tz: Tz) -> Self {
        Bucketer {
            every,
            clock: LocalClock::new(tz),
            month_cache: None,
        }
    }

    fn key(&mut self, ts: TimestampMs) -> Key {
        let offset = self.clock.offset_ms(ts);
        let local = ts + offset;
        match self.every {
            Every::Fixed(len) => Key::Fixed {
                local_floor: local.div_euclid(len) * len,
                offset,
            },
            Every::Day => Key::Day(local.div_euclid(DAY)),
            Every::Month => {
                let day = local.div_euclid(DAY);
                match self.month_cache {
                    Some((d, m)) if d == day => Key::Month(m),
                    _ => {
                        let date = local_date(local);
                        let m = i64::from(date.year()) * 12 + i64::from(date.month0());
                        self.month_cache = Some((day, m));
                        Key::Month(m)
                    }
                }
            }
        }
    }

    /// The key of `ts`, never earlier than `current` for calendar buckets: when
    /// a DST fall-back repeats the last hour of a day, that hour stays in the
    /// day that has already begun.
    fn key_after(&mut self, ts: TimestampMs, current: Option<Key>) -> Key {
        let key = self.key(ts);
        match (key, current) {
            (Key::Day(_) | Key::Month(_), Some(c)) if c > key => c,
            _ => key,
        }
    }

    /// `[start, end)` of the bucket `key`; `sample` is an instant inside it.
    fn bounds(&mut self, key: Key, sample: TimestampMs) -> (TimestampMs, TimestampMs) {
        match key {
            Key::Fixed {
                local_floor,
                offset,
            } => {
                let Every::Fixed(len) = self.every else {
                    unreachable!("fixed keys come from fixed buckets")
                };
                let mut start = local_floor - offset;
                if self.key(start) != key {
                    start = self.first_where(start, sample, |b, t| b.key(t) == key);
                }
                let mut end = local_floor + len - offset;
                if self.key(end - 1) != key {
                    end = self.first_where(sample, end, |b, t| b.key(t) != key);
                }
                (start, end)
            }
            Key::Day(day) => {
                let date = local_date(day * DAY);
                let next = date.succ_opt().unwrap_or(date);
                (self.midnight(date), self.midnight(next))
            }
            Key::Month(m) => {
                let first = month_start(m);
                let next = month_start(m + 1);
                (self.midnight(first), self.midnight(next))
            }
        }
    }

    fn midnight(&mut self, date: NaiveDate) -> TimestampMs {
        self.clock
            .first_instant_at_or_after(date.and_hms_opt(0, 0, 0).unwrap_or_default())
    }

    /// Smallest `t` in `[lo, hi]` with `pred(t)`, for a predicate that is
    /// false then true on that interval (one DST change at most).
    fn first_where(
        &mut self,
        mut lo: TimestampMs,
        mut hi: TimestampMs,
        pred: impl Fn(&mut Self, TimestampMs) -> bool,
    ) -> TimestampMs {
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if pred(self, mid) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        lo
    }
}

fn month_start(m: i64) -> NaiveDate {
    let year = i32::try_from(m.div_euclid(12)).unwrap_or(1970);
    let month = u32::try_from(m.rem_euclid(12)).unwrap_or(0) + 1;
    NaiveDate::from_ymd_opt(year, month, 1).unwrap_or_default()
}

/// One bucket's statistics over good, finite readings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BucketStats {
    pub start: TimestampMs,
    pub end: TimestampMs,
    pub count: u64,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    pub first: f64,
    pub last: f64,
    /// Cumulative meters: `last` minus the last reading before the bucket
    /// (or minus `first` when there is none).
    pub delta: Option<f64>,
}

struct Acc {
    key: Key,
    sample: TimestampMs,
    count: u64,
    min: f64,
    max: f64,
    sum: f64,
    first: f64,
    last: f64,
}

impl Acc {
    fn new(key: Key, ts: TimestampMs, v: f64) -> Self {
        Acc {
            key,
            sample: ts,
            count: 1,
            min: v,
            max: v,
            sum: v,
            first: v,
            last: v,
        }
    }

    fn add(&mut self, v: f64) {
        self.count += 1;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        self.sum += v;
        self.last = v;
    }
}

/// Streams the buckets of one sensor to `emit`, in time order.
pub fn for_each_bucket(
    history: &HistoryReader,
    sensor: &StoredSensor,
    range: TimeRange,
    bucketer: &mut Bucketer,
    cumulative: bool,
    progress: &mut Progress,
    mut emit: impl FnMut(BucketStats) -> Result<(), ReportError>,
) -> Result<(), ReportError> {
    let mut previous_last = if cumulative && range.from > i64::MIN {
        last_good_before(history, sensor, range.from)?
    } else {
        None
    };
    let mut cursor = Cursor::open(history, sensor, range);
    let mut open: Option<Acc> = None;
    let mut finish = |acc: Acc, bucketer: &mut Bucketer| -> Result<(), ReportError> {
        let (start, end) = bucketer.bounds(acc.key, acc.sample);
        let delta = cumulative.then(|| acc.last - previous_last.unwrap_or(acc.first));
        previous_last = Some(acc.last);
        emit(BucketStats {
            start,
            end,
            count: acc.count,
            min: acc.min,
            max: acc.max,
            mean: acc.sum / acc.count as f64,
            first: acc.first,
            last: acc.last,
            delta,
        })
    };
    while let Some(p) = cursor.next_point()? {
        progress.add(1);
        if p.quality != Quality::Good || !p.value.is_finite() {
            continue;
        }
        let key = bucketer.key_after(p.ts, open.as_ref().map(|a| a.key));
        match &mut open {
            Some(acc) if acc.key == key => acc.add(p.value),
            _ => {
                if let Some(done) = open.replace(Acc::new(key, p.ts, p.value)) {
                    finish(done, bucketer)?;
                }
            }
        }
    }
    if let Some(done) = open {
        finish(done, bucketer)?;
    }
    Ok(())
}

/// What to aggregate: the time range, bucket length, plant timezone, and
/// which sensors are cumulative meters.
pub struct AggregateSpec<'a> {
    pub range: TimeRange,
    pub every: Every,
    pub tz: Tz,
    pub is_cumulative: &'a dyn Fn(&str) -> bool,
}

/// Writes `sensor,unit,start,end,count,min,max,mean,first,last,delta` rows.
pub fn export_aggregates<W: Write>(
    history: &HistoryReader,
    sensors: &[StoredSensor],
    spec: &AggregateSpec<'_>,
    table: &mut Table<W>,
    progress: &mut Progress,
) -> Result<u64, ReportError> {
    let start = table.style().time_header("start");
    let end = table.style().time_header("end");
    table.header(&[
        "sensor", "unit", &start, &end, "count", "min", "max", "mean", "first", "last", "delta",
    ])?;
    let mut rows = 0;
    for sensor in sensors {
        let mut bucketer = Bucketer::new(spec.every, spec.tz);
        let cumulative = (spec.is_cumulative)(&sensor.tag);
        for_each_bucket(
            history,
            sensor,
            spec.range,
            &mut bucketer,
            cumulative,
            progress,
            |b| {
                table.text(&sensor.tag)?;
                table.text(&sensor.unit)?;
                table.time(b.start)?;
                table.time(b.end)?;
                table.integer(b.count as i64)?;
                table.number(b.min)?;
                table.number(b.max)?;
                table.number(b.mean)?;
                table.number(b.first)?;
                table.number(b.last)?;
                table.optional_number(b.delta)?;
                table.end_row()?;
                rows += 1;
                Ok(())
            },
        )?;
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;
    // Paris 2026: +01:00 → +02:00 at 2026-03-29T01:00Z, back at 2026-10-25T01:00Z.
    const SPRING: i64 = 1_774_746_000_000;
    const AUTUMN: i64 = 1_792_890_000_000;

    fn buckets_of(every: Every, tz: Tz, instants: impl Iterator<Item = i64>) -> Vec<(i64, i64)> {
        let mut b = Bucketer::new(every, tz);
        let mut out: Vec<(Key, i64)> = Vec::new();
        for ts in instants {
            let key = b.key_after(ts, out.last().map(|k| k.0));
            if out.last().map(|k| k.0) != Some(key) {
                out.push((key, ts));
            }
        }
        out.into_iter().map(|(k, s)| b.bounds(k, s)).collect()
    }

    #[test]
    fn parses_bucket_lengths() {
        assert_eq!(Every::parse("15m"), Ok(Every::Fixed(15 * 60_000)));
        assert_eq!(Every::parse("1h"), Ok(Every::Fixed(H)));
        assert_eq!(Every::parse("24h"), Ok(Every::Day));
        assert_eq!(Every::parse("1d"), Ok(Every::Day));
        assert_eq!(Every::parse("1mo"), Ok(Every::Month));
        assert_eq!(
            Every::parse("7m"),
            Err(OptionError::EveryNotDividingADay { text: "7m".into() })
        );
        assert!(
            Every::parse("7m")
                .unwrap_err()
                .to_string()
                .contains("divide a day")
        );
        assert!(matches!(
            Every::parse("soon"),
            Err(OptionError::EveryNotADuration { .. })
        ));
    }

    #[test]
    fn dst_days_last_23_and_25_hours() {
        let paris = chrono_tz::Europe::Paris;
        // Every 10 minutes from 2 days before to 2 days after each change.
        for (change, hours) in [(SPRING, 23), (AUTUMN, 25)] {
            let days = buckets_of(
                Every::Day,
                paris,
                (change - 48 * H..change + 48 * H).step_by(600_000),
            );
            let lengths: Vec<i64> = days.iter().map(|(s, e)| (e - s) / H).collect();
            assert_eq!(lengths[1..4], [24, hours, 24], "{days:?}");
            // Each day starts at local midnight: 23:00Z in winter, 22:00Z in summer.
            for (start, _) in &days {
                let utc_hour = start.rem_euclid(24 * H) / H;
                assert!(utc_hour == 23 || utc_hour == 22, "{start}");
            }
        }
    }

    #[test]
    fn autumn_day_has_25_hourly_buckets_with_the_repeated_hour_twice() {
        let paris = chrono_tz::Europe::Paris;
        // 2026-10-25 local midnight = 2026-10-24T22:00Z; next midnight = 2026-10-25T23:00Z.
        let day_start = AUTUMN - 3 * H;
        let hours = buckets_of(
            Every::Fixed(H),
            paris,
            (day_start..day_start + 25 * H).step_by(60_000),
        );
        assert_eq!(hours.len(), 25);
        for (i, (s, e)) in hours.iter().enumerate() {
            assert_eq!(
                (*s, *e),
                (day_start + i as i64 * H, day_start + (i as i64 + 1) * H)
            );
        }
    }

    #[test]
    fn two_hour_buckets_are_cut_at_a_gap() {
        // Sao Paulo 2018-11-04: 00:00 -03 jumped to 01:00 -02 (at 03:00Z). The
        // local 00:00–02:00 bucket only exists from 03:00Z to 04:00Z.
        let sp = chrono_tz::America::Sao_Paulo;
        let jump = 1_541_300_400_000;
        let b = buckets_of(
            Every::Fixed(2 * H),
            sp,
            (jump - 2 * H..jump + 3 * H).step_by(60_000),
        );
        assert_eq!(
            b,
            vec![
                (jump - 2 * H, jump),
                (jump, jump + H),
                (jump + H, jump + 3 * H)
            ]
        );
    }

    #[test]
    fn months_start_at_local_midnight() {
        let sp = chrono_tz::America::Sao_Paulo;
        // 2025-12-31T12:00Z .. 2026-01-01T12:00Z hourly; no DST since 2019 (-03:00).
        let t0 = 1_767_182_400_000;
        let b = buckets_of(Every::Month, sp, (t0..t0 + 24 * H).step_by(H as usize));
        // Jan 1 00:00 -03:00 = 03:00Z.
        assert_eq!(b[0].1, t0 + 15 * H);
        assert_eq!(b[1].0, t0 + 15 * H);
        assert_eq!(b.len(), 2);
    }
}
