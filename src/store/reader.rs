//! [`HistoryReader`]: every read of the history, whatever the backend. Each
//! backend answers the same primitive queries; what is built on them
//! (aggregates, the dashboard after a restart, streaming cursors) lives here
//! once.

use super::Result;
use super::location::Location;
use super::postgres::query::PgReader;
use super::rows::{
    AlarmEventRow, JournalEntry, JournalQuery, KeyedPoint, Point, StoredSensor, Summary,
};
use super::sqlite::query::SqliteReader;
use crate::model::{Quality, Reading, SensorId, SensorMeta, TimestampMs};
use std::collections::HashMap;
use std::path::Path;

/// Min/max/avg/first/last/count of one sensor over one time bucket.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Aggregate {
    pub start: TimestampMs,
    pub count: u64,
    pub min: f64,
    pub max: f64,
    pub avg: f64,
    pub first: f64,
    pub last: f64,
    pub first_ts: TimestampMs,
    pub last_ts: TimestampMs,
}

impl Aggregate {
    fn new(start: TimestampMs, ts: TimestampMs, v: f64) -> Self {
        Aggregate {
            start,
            count: 1,
            min: v,
            max: v,
            avg: v,
            first: v,
            last: v,
            first_ts: ts,
            last_ts: ts,
        }
    }

    fn add(&mut self, ts: TimestampMs, v: f64) {
        self.count += 1;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        // Running mean: stable for long buckets.
        self.avg += (v - self.avg) / self.count as f64;
        self.last = v;
        self.last_ts = ts;
    }
}

/// A read connection to the history. Enum dispatch over the backends: the
/// set is closed, streaming reads take closures (not object safe), and a
/// match costs nothing next to a query.
pub struct HistoryReader {
    backend: ReadBackend,
}

enum ReadBackend {
    Sqlite(SqliteReader),
    Postgres(Box<PgReader>),
}

/// Calls the same method on whichever backend the reader holds.
macro_rules! on_backend {
    ($self:expr, $r:ident => $call:expr) => {
        match &$self.backend {
            ReadBackend::Sqlite($r) => $call,
            ReadBackend::Postgres($r) => $call,
        }
    };
}

impl HistoryReader {
    /// Opens the history at `location` (a file path, or a [`Location`]),
    /// creating it and bringing its schema up to date if needed.
    pub fn open(location: impl Into<Location>) -> Result<Self> {
        let backend = match location.into() {
            Location::Sqlite(path) => ReadBackend::Sqlite(SqliteReader::open(&path)?),
            Location::Postgres(pg) => ReadBackend::Postgres(Box::new(PgReader::open(&pg)?)),
        };
        Ok(HistoryReader { backend })
    }

    /// Opens a replay's store, which the replay may index for its time order.
    pub fn open_for_replay(path: &Path) -> Result<Self> {
        Ok(HistoryReader {
            backend: ReadBackend::Sqlite(SqliteReader::open_for_replay(path)?),
        })
    }

    /// The history's name for messages (a file path, or a server without password).
    pub fn describe(&self) -> String {
        on_backend!(self, r => r.describe())
    }

    pub fn sensors(&self) -> Result<Vec<SensorMeta>> {
        on_backend!(self, r => r.sensors())
    }

    /// Every stored sensor with its key, sorted by tag.
    pub fn stored_sensors(&self) -> Result<Vec<StoredSensor>> {
        on_backend!(self, r => r.stored_sensors())
    }

    /// The newest reading of every sensor that has one.
    pub fn last_values(&self) -> Result<Vec<Reading>> {
        on_backend!(self, r => r.last_values())
    }

    /// What the dashboard showed before a restart: every reading since `since`
    /// of each sensor, or its newest reading when that is older.
    pub fn recent(&self, since: TimestampMs) -> Result<Vec<Reading>> {
        let mut out = Vec::new();
        for last in self.last_values()? {
            if last.ts < since {
                out.push(last);
            } else {
                self.for_each_in_range(last.sensor.as_str(), since, last.ts + 1, |r| out.push(r))?;
            }
        }
        Ok(out)
    }

    /// Readings of one sensor with `from <= ts < to`, oldest first.
    pub fn range(&self, sensor: &str, from: TimestampMs, to: TimestampMs) -> Result<Vec<Reading>> {
        let mut out = Vec::new();
        self.for_each_in_range(sensor, from, to, |r| out.push(r))?;
        Ok(out)
    }

    /// Streams readings of one sensor with `from <= ts < to`, oldest first.
    pub fn for_each_in_range(
        &self,
        sensor: &str,
        from: TimestampMs,
        to: TimestampMs,
        mut f: impl FnMut(Reading),
    ) -> Result<()> {
        on_backend!(self, r => r.for_each_in_range(sensor, from, to, &mut f))
    }

    /// Like [`Self::for_each_in_range`] without building a `Reading` (and its
    /// sensor id) per row: billing reads millions of rows.
    pub fn for_each_point(
        &self,
        sensor: &str,
        from: TimestampMs,
        to: TimestampMs,
        mut f: impl FnMut(Point),
    ) -> Result<()> {
        on_backend!(self, r => r.for_each_point(sensor, from, to, &mut f))
    }

    /// Up to `limit` readings of the sensor with key `sensor_id` in `from <= ts < to`.
    pub fn points_chunk(
        &self,
        sensor_id: i64,
        from: TimestampMs,
        to: TimestampMs,
        limit: usize,
    ) -> Result<Vec<Point>> {
        on_backend!(self, r => r.points_chunk(sensor_id, from, to, limit))
    }

    /// Aggregates per bucket; `bucket_of(ts)` gives the start of the bucket a
    /// timestamp falls in (it must be non-decreasing in `ts`). Only good-quality
    /// readings count. Buckets with no reading are absent.
    pub fn aggregate_by(
        &self,
        sensor: &str,
        from: TimestampMs,
        to: TimestampMs,
        bucket_of: impl Fn(TimestampMs) -> TimestampMs,
    ) -> Result<Vec<Aggregate>> {
        let mut out: Vec<Aggregate> = Vec::new();
        self.for_each_point(sensor, from, to, |p| {
            if p.quality != Quality::Good || !p.value.is_finite() {
                return;
            }
            let start = bucket_of(p.ts);
            match out.last_mut() {
                Some(agg) if agg.start == start => agg.add(p.ts, p.value),
                _ => out.push(Aggregate::new(start, p.ts, p.value)),
            }
        })?;
        Ok(out)
    }

    /// Aggregates over fixed buckets of `every_ms`, aligned to the Unix epoch (UTC).
    pub fn aggregate_every(
        &self,
        sensor: &str,
        from: TimestampMs,
        to: TimestampMs,
        every_ms: i64,
    ) -> Result<Vec<Aggregate>> {
        let every = every_ms.max(1);
        self.aggregate_by(sensor, from, to, |ts| ts.div_euclid(every) * every)
    }

    pub fn count(&self, sensor: &str) -> Result<u64> {
        on_backend!(self, r => r.count(sensor))
    }

    pub fn total_readings(&self) -> Result<u64> {
        on_backend!(self, r => r.total_readings())
    }

    /// Readings of the sensor with key `sensor_id` in `from <= ts < to`.
    pub fn count_in_range(
        &self,
        sensor_id: i64,
        from: TimestampMs,
        to: TimestampMs,
    ) -> Result<u64> {
        on_backend!(self, r => r.count_in_range(sensor_id, from, to))
    }

    /// The newest reading at or before `ts`.
    pub fn at_or_before(&self, sensor: &str, ts: TimestampMs) -> Result<Option<Reading>> {
        on_backend!(self, r => r.at_or_before(sensor, ts))
    }

    /// The value of the last good reading strictly before `ts`.
    pub fn last_good_value_before(&self, sensor_id: i64, ts: TimestampMs) -> Result<Option<f64>> {
        on_backend!(self, r => r.last_good_value_before(sensor_id, ts))
    }

    /// The last good reading strictly before `ts`.
    pub fn good_before(&self, sensor: &str, ts: TimestampMs) -> Result<Option<(TimestampMs, f64)>> {
        on_backend!(self, r => r.good_before(sensor, ts))
    }

    /// The first good reading at or after `ts`.
    pub fn good_from(&self, sensor: &str, ts: TimestampMs) -> Result<Option<(TimestampMs, f64)>> {
        on_backend!(self, r => r.good_from(sensor, ts))
    }

    /// The last reading at or before `until` that is not of bad quality.
    pub fn last_not_bad(
        &self,
        sensor: &str,
        until: TimestampMs,
    ) -> Result<Option<(TimestampMs, f64)>> {
        on_backend!(self, r => r.last_not_bad(sensor, until))
    }

    /// The last reading (not bad) of each period of `period_ms` (epoch-aligned)
    /// in `[from, until]`, oldest first.
    pub fn period_ends(
        &self,
        sensor: &str,
        from: TimestampMs,
        until: TimestampMs,
        period_ms: i64,
    ) -> Result<Vec<(TimestampMs, f64)>> {
        on_backend!(self, r => r.period_ends(sensor, from, until, period_ms))
    }

    /// Every journal row in the order written.
    pub fn for_each_journal_row(&self, mut f: impl FnMut(AlarmEventRow)) -> Result<()> {
        on_backend!(self, r => r.for_each_journal_row(&mut f))
    }

    /// Journal rows matching `query`, newest first.
    pub fn journal_query(&self, query: &JournalQuery) -> Result<Vec<AlarmEventRow>> {
        on_backend!(self, r => r.journal_query(query))
    }

    /// Every journal row in `[from, to)`, oldest first.
    pub fn journal_between(
        &self,
        from: TimestampMs,
        to: TimestampMs,
    ) -> Result<Vec<AlarmEventRow>> {
        on_backend!(self, r => r.journal_between(from, to))
    }

    /// Up to `limit` journal entries after `after` (ts, event_id) with `ts < to`, in order.
    pub fn journal_chunk(
        &self,
        after: (TimestampMs, i64),
        to: TimestampMs,
        limit: usize,
    ) -> Result<Vec<JournalEntry>> {
        on_backend!(self, r => r.journal_chunk(after, to, limit))
    }

    /// The latest row of the alarm (sensor, condition) before `event_id`
    /// whose event is one of `events`: its time and event.
    pub fn last_of_events_before(
        &self,
        sensor: &str,
        condition: &str,
        events: [&str; 2],
        event_id: i64,
    ) -> Result<Option<(TimestampMs, String)>> {
        on_backend!(self, r => r.last_of_events_before(sensor, condition, events, event_id))
    }

    /// The sensor's journal up to `to`, newest first, identical rows once (no comments).
    pub fn recent_distinct_events(
        &self,
        sensor: &str,
        to: TimestampMs,
        limit: usize,
    ) -> Result<Vec<AlarmEventRow>> {
        on_backend!(self, r => r.recent_distinct_events(sensor, to, limit))
    }

    /// Sensor keys and their tags.
    pub fn sensor_tags(&self) -> Result<HashMap<i64, SensorId>> {
        on_backend!(self, r => r.sensor_tags())
    }

    /// The first and last reading time.
    pub fn time_span(&self) -> Result<(Option<TimestampMs>, Option<TimestampMs>)> {
        on_backend!(self, r => r.time_span())
    }

    /// Up to `limit` readings after `after` (ts, sensor key) with `ts <= to`, in (ts, key) order.
    pub fn time_ordered_chunk(
        &self,
        after: (TimestampMs, i64),
        to: TimestampMs,
        limit: usize,
    ) -> Result<Vec<KeyedPoint>> {
        on_backend!(self, r => r.time_ordered_chunk(after, to, limit))
    }
}

/// Readings of one sensor in `from <= ts < to`, oldest first, fetched in
/// chunks: constant memory, and any number open at once on one reader.
pub struct PointCursor<'r> {
    reader: &'r HistoryReader,
    sensor_id: i64,
    from: TimestampMs,
    to: TimestampMs,
    buffer: std::collections::VecDeque<Point>,
    exhausted: bool,
}

/// Readings a cursor fetches at once.
const CURSOR_CHUNK: usize = 4096;

impl<'r> PointCursor<'r> {
    pub fn new(
        reader: &'r HistoryReader,
        sensor_id: i64,
        from: TimestampMs,
        to: TimestampMs,
    ) -> Self {
        PointCursor {
            reader,
            sensor_id,
            from,
            to,
            buffer: Default::default(),
            exhausted: false,
        }
    }

    pub fn next_point(&mut self) -> Result<Option<Point>> {
        if self.buffer.is_empty() && !self.exhausted {
            let chunk =
                self.reader
                    .points_chunk(self.sensor_id, self.from, self.to, CURSOR_CHUNK)?;
            self.exhausted = chunk.len() < CURSOR_CHUNK;
            match chunk.last().and_then(|p| p.ts.checked_add(1)) {
                Some(next) => self.from = next,
                None => self.exhausted = true,
            }
            self.buffer.extend(chunk);
        }
        Ok(self.buffer.pop_front())
    }
}

/// Schema version, counts and time range of an existing history, read-only.
pub fn summarize(location: impl Into<Location>) -> Result<Summary> {
    match location.into() {
        Location::Sqlite(path) => super::sqlite::summarize(&path),
        Location::Postgres(pg) => super::postgres::summarize(&pg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_backends::TestHistory;
    use crate::store::{WriteMsg, Writer, writer::WriterConfig};

    fn history(readings: Vec<Reading>) -> (tempfile::TempDir, HistoryReader) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        let reader = history_at(&Location::Sqlite(path), readings);
        (dir, reader)
    }

    fn history_at(location: &Location, readings: Vec<Reading>) -> HistoryReader {
        let (writer, handle) = Writer::spawn(location, WriterConfig::default()).unwrap();
        handle.blocking_send(WriteMsg::Readings(readings)).unwrap();
        drop(handle);
        writer.join().unwrap();
        HistoryReader::open(location).unwrap()
    }

    /// A reader of `readings` on each backend.
    fn histories(readings: Vec<Reading>) -> Vec<(TestHistory, HistoryReader)> {
        crate::store::test_backends::all()
            .into_iter()
            .map(|t| {
                let reader = history_at(&t.location, readings.clone());
                (t, reader)
            })
            .collect()
    }

    #[test]
    fn last_values_range_and_at_or_before() {
        for (_t, h) in histories(vec![
            Reading::good("a", 10, 1.0),
            Reading::good("a", 20, 2.0),
            Reading::good("b", 15, 7.0),
        ]) {
            let last = h.last_values().unwrap();
            assert_eq!(
                last,
                vec![Reading::good("a", 20, 2.0), Reading::good("b", 15, 7.0)]
            );
            assert_eq!(
                h.range("a", 10, 20).unwrap(),
                vec![Reading::good("a", 10, 1.0)]
            );
            assert_eq!(
                h.at_or_before("a", 19).unwrap(),
                Some(Reading::good("a", 10, 1.0))
            );
            assert_eq!(h.at_or_before("a", 9).unwrap(), None);
            assert_eq!(h.count("a").unwrap(), 2);
        }
    }

    #[test]
    fn every_primitive_query_answers_the_same_on_every_backend() {
        let mut readings: Vec<Reading> = (0..50)
            .map(|i| Reading::good(if i % 2 == 0 { "x" } else { "y" }, i * 1000, i as f64))
            .collect();
        readings[10].quality = Quality::Bad;
        readings[11].quality = Quality::Stale;
        let answers: Vec<String> = histories(readings)
            .iter()
            .map(|(_t, h)| {
                let ids: Vec<i64> = h
                    .stored_sensors()
                    .unwrap()
                    .iter()
                    .map(|s| s.rowid)
                    .collect();
                format!(
                    "{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
                    h.sensors().unwrap(),
                    h.total_readings().unwrap(),
                    h.count_in_range(ids[0], 4000, 20_000).unwrap(),
                    h.last_good_value_before(ids[0], 11_000).unwrap(),
                    h.good_before("x", 10_500).unwrap(),
                    h.good_from("y", 10_500).unwrap(),
                    h.last_not_bad("x", 10_500).unwrap(),
                    h.period_ends("x", 0, 49_000, 7000).unwrap(),
                    h.points_chunk(ids[1], 0, 30_000, 5).unwrap(),
                    h.time_span().unwrap(),
                    h.recent(45_000).unwrap(),
                )
            })
            .collect();
        assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:#?}");
    }

    #[test]
    fn aggregates_match_a_hand_computation_and_skip_bad_quality() {
        // bucket 0..100: 1, 3, 8 ; bucket 100..200: 4 ; a bad reading at 150 is ignored
        let mut bad = Reading::good("a", 150, 1000.0);
        bad.quality = Quality::Bad;
        for (_t, h) in histories(vec![
            Reading::good("a", 0, 1.0),
            Reading::good("a", 50, 3.0),
            Reading::good("a", 99, 8.0),
            Reading::good("a", 120, 4.0),
            bad.clone(),
        ]) {
            let aggs = h.aggregate_every("a", 0, 1000, 100).unwrap();
            assert_eq!(aggs.len(), 2);
            let a = aggs[0];
            assert_eq!(
                (a.start, a.count, a.min, a.max, a.first, a.last),
                (0, 3, 1.0, 8.0, 1.0, 8.0)
            );
            assert!((a.avg - 4.0).abs() < 1e-12);
            assert_eq!((aggs[1].start, aggs[1].count, aggs[1].avg), (100, 1, 4.0));
        }
    }

    #[test]
    fn sql_aggregate_agrees_with_streaming_aggregate() {
        let readings: Vec<Reading> = (0..1000)
            .map(|i| Reading::good("s", i * 7, ((i * 37) % 101) as f64 * 0.5))
            .collect();
        let (dir, h) = history(readings);
        let aggs = h.aggregate_every("s", 0, 7000, 1000).unwrap();
        let conn = crate::store::sqlite::open(&dir.path().join("h.sqlite")).unwrap();
        let mut stmt = conn
            .prepare(
                "SELECT ts / 1000 * 1000, count(*), min(value), max(value), avg(value)
                 FROM readings GROUP BY 1 ORDER BY 1",
            )
            .unwrap();
        let sql: Vec<(i64, i64, f64, f64, f64)> = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(aggs.len(), sql.len());
        for (a, s) in aggs.iter().zip(&sql) {
            assert_eq!(
                (a.start, a.count as i64, a.min, a.max),
                (s.0, s.1, s.2, s.3)
            );
            assert!((a.avg - s.4).abs() < 1e-9);
        }
    }
}
