//! Read queries on their own connection: last values, range scans and
//! bucketed aggregates.

use super::{Result, StoreError};
use crate::model::{Quality, Reading, SensorId, SensorMeta, TimestampMs};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::{Path, PathBuf};

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

pub struct HistoryReader {
    conn: Connection,
    path: PathBuf,
}

impl HistoryReader {
    pub fn open(path: &Path) -> Result<Self> {
        Ok(HistoryReader {
            conn: super::open_reader(path)?,
            path: path.to_owned(),
        })
    }

    fn ctx(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        |source| StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    pub fn sensors(&self) -> Result<Vec<SensorMeta>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT tag, name, unit, grp FROM sensors ORDER BY tag")
            .map_err(self.ctx())?;
        stmt.query_map([], |r| {
            Ok(SensorMeta {
                id: SensorId::new(r.get::<_, String>(0)?),
                name: r.get(1)?,
                unit: r.get(2)?,
                group: r.get(3)?,
                range: None,
            })
        })
        .map_err(self.ctx())?
        .collect::<rusqlite::Result<_>>()
        .map_err(self.ctx())
    }

    /// The newest reading of every sensor that has one.
    pub fn last_values(&self) -> Result<Vec<Reading>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT s.tag, r.ts, r.value, r.quality FROM sensors s
                 JOIN readings r ON r.sensor_id = s.sensor_id
                  AND r.ts = (SELECT max(ts) FROM readings WHERE sensor_id = s.sensor_id)
                 ORDER BY s.tag",
            )
            .map_err(self.ctx())?;
        stmt.query_map([], row_to_reading)
            .map_err(self.ctx())?
            .collect::<rusqlite::Result<_>>()
            .map_err(self.ctx())
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
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT s.tag, r.ts, r.value, r.quality FROM readings r
                 JOIN sensors s ON s.sensor_id = r.sensor_id
                 WHERE s.tag = ?1 AND r.ts >= ?2 AND r.ts < ?3 ORDER BY r.ts",
            )
            .map_err(self.ctx())?;
        let mut rows = stmt.query(params![sensor, from, to]).map_err(self.ctx())?;
        while let Some(row) = rows.next().map_err(self.ctx())? {
            f(row_to_reading(row).map_err(self.ctx())?);
        }
        Ok(())
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
        self.for_each_in_range(sensor, from, to, |r| {
            if r.quality != Quality::Good || !r.value.is_finite() {
                return;
            }
            let start = bucket_of(r.ts);
            match out.last_mut() {
                Some(agg) if agg.start == start => agg.add(r.ts, r.value),
                _ => out.push(Aggregate::new(start, r.ts, r.value)),
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
        self.conn
            .query_row(
                "SELECT count(*) FROM readings r JOIN sensors s USING(sensor_id) WHERE s.tag = ?1",
                [sensor],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(self.ctx())
    }

    pub fn total_readings(&self) -> Result<u64> {
        self.conn
            .query_row("SELECT count(*) FROM readings", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(self.ctx())
    }

    /// The newest reading at or before `ts`.
    pub fn at_or_before(&self, sensor: &str, ts: TimestampMs) -> Result<Option<Reading>> {
        self.conn
            .query_row(
                "SELECT s.tag, r.ts, r.value, r.quality FROM readings r
                 JOIN sensors s ON s.sensor_id = r.sensor_id
                 WHERE s.tag = ?1 AND r.ts <= ?2 ORDER BY r.ts DESC LIMIT 1",
                params![sensor, ts],
                row_to_reading,
            )
            .optional()
            .map_err(self.ctx())
    }
}

fn row_to_reading(row: &rusqlite::Row<'_>) -> rusqlite::Result<Reading> {
    Ok(Reading {
        sensor: SensorId::new(row.get::<_, String>(0)?),
        ts: row.get(1)?,
        value: row.get(2)?,
        quality: Quality::from_code(row.get(3)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{WriteMsg, Writer, writer::WriterConfig};

    fn history(readings: Vec<Reading>) -> (tempfile::TempDir, HistoryReader) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        let (writer, handle) = Writer::spawn(&path, WriterConfig::default()).unwrap();
        handle.blocking_send(WriteMsg::Readings(readings)).unwrap();
        drop(handle);
        writer.join().unwrap();
        let reader = HistoryReader::open(&path).unwrap();
        (dir, reader)
    }

    #[test]
    fn last_values_range_and_at_or_before() {
        let (_dir, h) = history(vec![
            Reading::good("a", 10, 1.0),
            Reading::good("a", 20, 2.0),
            Reading::good("b", 15, 7.0),
        ]);
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

    #[test]
    fn aggregates_match_a_hand_computation_and_skip_bad_quality() {
        // bucket 0..100: 1, 3, 8 ; bucket 100..200: 4 ; a bad reading at 150 is ignored
        let mut bad = Reading::good("a", 150, 1000.0);
        bad.quality = Quality::Bad;
        let (_dir, h) = history(vec![
            Reading::good("a", 0, 1.0),
            Reading::good("a", 50, 3.0),
            Reading::good("a", 99, 8.0),
            Reading::good("a", 120, 4.0),
            bad,
        ]);
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

    #[test]
    fn sql_aggregate_agrees_with_streaming_aggregate() {
        let readings: Vec<Reading> = (0..1000)
            .map(|i| Reading::good("s", i * 7, ((i * 37) % 101) as f64 * 0.5))
            .collect();
        let (_dir, h) = history(readings);
        let aggs = h.aggregate_every("s", 0, 7000, 1000).unwrap();
        let mut stmt = h
            .connection()
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
