//! The PostgreSQL side of [`crate::store::HistoryReader`]: the same
//! primitive queries as SQLite's, on a connection of its own.

use super::{PgConn, wait};
use crate::model::{Quality, Reading, SensorId, SensorMeta, TimestampMs};
use crate::store::Result;
use crate::store::location::PgLocation;
use crate::store::rows::{
    AlarmEventRow, JournalEntry, JournalQuery, KeyedPoint, Point, StoredSensor,
};
use futures::StreamExt;
use std::collections::HashMap;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

type PgResult<T> = std::result::Result<T, tokio_postgres::Error>;
type Args<'a> = &'a [&'a (dyn ToSql + Sync)];

pub(super) const JOURNAL_COLUMNS: &str =
    "ts, sensor, condition, event, state, value, priority, operator, comment, origin, occurrence";

/// Readings of a sensor by tag, joined for its tag.
const BY_TAG: &str = "FROM readings r JOIN sensors s ON s.sensor_id = r.sensor_id WHERE s.tag = $1";

pub struct PgReader {
    conn: PgConn,
}

impl PgReader {
    pub fn open(location: &PgLocation) -> Result<Self> {
        Ok(PgReader {
            conn: PgConn::open(location)?,
        })
    }

    pub fn describe(&self) -> String {
        self.conn.describe()
    }

    fn all<T>(&self, sql: &str, args: Args<'_>, f: impl Fn(&Row) -> PgResult<T>) -> Result<Vec<T>> {
        wait(self.conn.client.query(sql, args))
            .and_then(|rows| rows.iter().map(f).collect())
            .map_err(|e| self.conn.err(e))
    }

    fn one<T>(
        &self,
        sql: &str,
        args: Args<'_>,
        f: impl Fn(&Row) -> PgResult<T>,
    ) -> Result<Option<T>> {
        wait(self.conn.client.query_opt(sql, args))
            .and_then(|row| row.as_ref().map(f).transpose())
            .map_err(|e| self.conn.err(e))
    }

    /// Streams the rows of `sql` to `f`.
    fn each(
        &self,
        sql: &str,
        args: Args<'_>,
        mut f: impl FnMut(&Row) -> PgResult<()>,
    ) -> Result<()> {
        let stream = async {
            let rows = self
                .conn
                .client
                .query_raw(sql, args.iter().copied())
                .await?;
            let mut rows = std::pin::pin!(rows);
            while let Some(row) = rows.next().await {
                f(&row?)?;
            }
            Ok(())
        };
        wait(stream).map_err(|e| self.conn.err(e))
    }

    fn count_of(&self, sql: &str, args: Args<'_>) -> Result<u64> {
        Ok(self
            .one(sql, args, |r| r.try_get::<_, i64>(0))?
            .unwrap_or(0) as u64)
    }

    pub fn sensors(&self) -> Result<Vec<SensorMeta>> {
        self.all(
            "SELECT tag, name, unit, grp FROM sensors ORDER BY tag",
            &[],
            |r| {
                Ok(SensorMeta {
                    id: SensorId::new(r.try_get::<_, String>(0)?),
                    name: r.try_get(1)?,
                    unit: r.try_get(2)?,
                    group: r.try_get(3)?,
                    range: None,
                })
            },
        )
    }

    pub fn stored_sensors(&self) -> Result<Vec<StoredSensor>> {
        self.all(
            "SELECT sensor_id, tag, unit FROM sensors ORDER BY tag",
            &[],
            |r| {
                Ok(StoredSensor {
                    rowid: r.try_get(0)?,
                    tag: r.try_get(1)?,
                    unit: r.try_get(2)?,
                })
            },
        )
    }

    pub fn last_values(&self) -> Result<Vec<Reading>> {
        self.all(
            "SELECT s.tag, r.ts, r.value, r.quality FROM sensors s CROSS JOIN LATERAL (
                 SELECT ts, value, quality FROM readings WHERE sensor_id = s.sensor_id
                 ORDER BY ts DESC LIMIT 1) r
             ORDER BY s.tag",
            &[],
            row_to_reading,
        )
    }

    pub fn for_each_in_range(
        &self,
        sensor: &str,
        from: TimestampMs,
        to: TimestampMs,
        f: &mut dyn FnMut(Reading),
    ) -> Result<()> {
        self.each(
            &format!("SELECT s.tag, r.ts, r.value, r.quality {BY_TAG} AND r.ts >= $2 AND r.ts < $3 ORDER BY r.ts"),
            &[&sensor, &from, &to],
            |row| {
                f(row_to_reading(row)?);
                Ok(())
            },
        )
    }

    pub fn for_each_point(
        &self,
        sensor: &str,
        from: TimestampMs,
        to: TimestampMs,
        f: &mut dyn FnMut(Point),
    ) -> Result<()> {
        self.each(
            &format!("SELECT r.ts, r.value, r.quality {BY_TAG} AND r.ts >= $2 AND r.ts < $3 ORDER BY r.ts"),
            &[&sensor, &from, &to],
            |row| {
                f(row_to_point(row)?);
                Ok(())
            },
        )
    }

    pub fn points_chunk(
        &self,
        sensor_id: i64,
        from: TimestampMs,
        to: TimestampMs,
        limit: usize,
    ) -> Result<Vec<Point>> {
        self.all(
            "SELECT ts, value, quality FROM readings
             WHERE sensor_id = $1 AND ts >= $2 AND ts < $3 ORDER BY ts LIMIT $4",
            &[&sensor_id, &from, &to, &limit_of(limit)],
            row_to_point,
        )
    }

    pub fn count(&self, sensor: &str) -> Result<u64> {
        self.count_of(&format!("SELECT count(*) {BY_TAG}"), &[&sensor])
    }

    pub fn total_readings(&self) -> Result<u64> {
        self.count_of("SELECT count(*) FROM readings", &[])
    }

    pub fn count_in_range(
        &self,
        sensor_id: i64,
        from: TimestampMs,
        to: TimestampMs,
    ) -> Result<u64> {
        self.count_of(
            "SELECT count(*) FROM readings WHERE sensor_id = $1 AND ts >= $2 AND ts < $3",
            &[&sensor_id, &from, &to],
        )
    }

    pub fn at_or_before(&self, sensor: &str, ts: TimestampMs) -> Result<Option<Reading>> {
        self.one(
            &format!("SELECT s.tag, r.ts, r.value, r.quality {BY_TAG} AND r.ts <= $2 ORDER BY r.ts DESC LIMIT 1"),
            &[&sensor, &ts],
            row_to_reading,
        )
    }

    pub fn last_good_value_before(&self, sensor_id: i64, ts: TimestampMs) -> Result<Option<f64>> {
        self.one(
            "SELECT value FROM readings WHERE sensor_id = $1 AND ts < $2 AND quality = 0
             ORDER BY ts DESC LIMIT 1",
            &[&sensor_id, &ts],
            |r| r.try_get(0),
        )
    }

    pub fn good_before(&self, sensor: &str, ts: TimestampMs) -> Result<Option<(TimestampMs, f64)>> {
        self.one(
            &format!("SELECT r.ts, r.value {BY_TAG} AND r.ts < $2 AND r.quality = 0 ORDER BY r.ts DESC LIMIT 1"),
            &[&sensor, &ts],
            ts_value,
        )
    }

    pub fn good_from(&self, sensor: &str, ts: TimestampMs) -> Result<Option<(TimestampMs, f64)>> {
        self.one(
            &format!("SELECT r.ts, r.value {BY_TAG} AND r.ts >= $2 AND r.quality = 0 ORDER BY r.ts LIMIT 1"),
            &[&sensor, &ts],
            ts_value,
        )
    }

    pub fn last_not_bad(
        &self,
        sensor: &str,
        until: TimestampMs,
    ) -> Result<Option<(TimestampMs, f64)>> {
        self.one(
            &format!("SELECT r.ts, r.value {BY_TAG} AND r.ts <= $2 AND r.quality <> $3 ORDER BY r.ts DESC LIMIT 1"),
            &[&sensor, &until, &bad()],
            ts_value,
        )
    }

    pub fn period_ends(
        &self,
        sensor: &str,
        from: TimestampMs,
        until: TimestampMs,
        period_ms: i64,
    ) -> Result<Vec<(TimestampMs, f64)>> {
        // Periods numbered like SQLite's integer division (towards zero).
        self.all(
            &format!(
                "SELECT ts, value FROM (
                     SELECT DISTINCT ON (r.ts / $5) r.ts, r.value {BY_TAG}
                       AND r.ts >= $2 AND r.ts <= $3 AND r.quality <> $4
                     ORDER BY r.ts / $5, r.ts DESC) ends
                 ORDER BY ts"
            ),
            &[&sensor, &from, &until, &bad(), &period_ms.max(1)],
            ts_value,
        )
    }

    pub fn for_each_journal_row(&self, f: &mut dyn FnMut(AlarmEventRow)) -> Result<()> {
        self.each(
            &format!("SELECT {JOURNAL_COLUMNS} FROM alarm_events ORDER BY event_id"),
            &[],
            |row| {
                f(journal_row(row, 0)?);
                Ok(())
            },
        )
    }

    pub fn journal_query(&self, query: &JournalQuery) -> Result<Vec<AlarmEventRow>> {
        let mut clauses: Vec<String> = Vec::new();
        let mut args: Vec<Box<dyn ToSql + Sync>> = Vec::new();
        let mut add = |clause: &str, value: Box<dyn ToSql + Sync>| {
            args.push(value);
            clauses.push(clause.replace('?', &format!("${}", args.len())));
        };
        let text = [
            (
                "strpos(lower(sensor), lower(?)) > 0",
                &query.sensor_contains,
            ),
            ("priority = ?", &query.priority),
            ("state = ?", &query.state),
            ("event = ?", &query.event),
        ];
        for (clause, value) in text {
            if let Some(v) = value {
                add(clause, Box::new(v.clone()));
            }
        }
        for (clause, bound) in [("ts >= ?", query.from_ms), ("ts < ?", query.to_ms)] {
            if let Some(ts) = bound {
                add(clause, Box::new(ts));
            }
        }
        let condition = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        args.push(Box::new(limit_of(query.limit)));
        let sql = format!(
            "SELECT {JOURNAL_COLUMNS} FROM alarm_events {condition}
             ORDER BY ts DESC, event_id DESC LIMIT ${}",
            args.len()
        );
        let refs: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a.as_ref()).collect();
        self.all(&sql, &refs, |r| journal_row(r, 0))
    }

    pub fn journal_between(
        &self,
        from: TimestampMs,
        to: TimestampMs,
    ) -> Result<Vec<AlarmEventRow>> {
        self.all(
            &format!("SELECT {JOURNAL_COLUMNS} FROM alarm_events WHERE ts >= $1 AND ts < $2 ORDER BY ts, event_id"),
            &[&from, &to],
            |r| journal_row(r, 0),
        )
    }

    pub fn journal_chunk(
        &self,
        after: (TimestampMs, i64),
        to: TimestampMs,
        limit: usize,
    ) -> Result<Vec<JournalEntry>> {
        self.all(
            &format!(
                "SELECT event_id, {JOURNAL_COLUMNS} FROM alarm_events
                 WHERE (ts, event_id) > ($1, $2) AND ts < $3 ORDER BY ts, event_id LIMIT $4"
            ),
            &[&after.0, &after.1, &to, &limit_of(limit)],
            |r| {
                Ok(JournalEntry {
                    event_id: r.try_get(0)?,
                    row: journal_row(r, 1)?,
                })
            },
        )
    }

    pub fn last_of_events_before(
        &self,
        sensor: &str,
        condition: &str,
        events: [&str; 2],
        event_id: i64,
    ) -> Result<Option<(TimestampMs, String)>> {
        self.one(
            "SELECT ts, event FROM alarm_events
             WHERE sensor = $1 AND condition = $2 AND event IN ($3, $4) AND event_id < $5
             ORDER BY ts DESC, event_id DESC LIMIT 1",
            &[&sensor, &condition, &events[0], &events[1], &event_id],
            |r| Ok((r.try_get(0)?, r.try_get(1)?)),
        )
    }

    pub fn recent_distinct_events(
        &self,
        sensor: &str,
        to: TimestampMs,
        limit: usize,
    ) -> Result<Vec<AlarmEventRow>> {
        self.all(
            "SELECT ts, condition, event, state, value, priority, operator FROM alarm_events
             WHERE sensor = $1 AND ts <= $2
             GROUP BY ts, condition, event, state, value, priority, operator
             ORDER BY ts DESC, max(event_id) DESC LIMIT $3",
            &[&sensor, &to, &limit_of(limit)],
            |r| {
                Ok(AlarmEventRow {
                    ts: r.try_get(0)?,
                    sensor: sensor.to_owned(),
                    condition: r.try_get(1)?,
                    event: r.try_get(2)?,
                    state: r.try_get(3)?,
                    value: r.try_get(4)?,
                    priority: r.try_get(5)?,
                    operator: r.try_get(6)?,
                    comment: String::new(),
                    ..Default::default()
                })
            },
        )
    }

    pub fn sensor_tags(&self) -> Result<HashMap<i64, SensorId>> {
        Ok(self
            .all("SELECT sensor_id, tag FROM sensors", &[], |r| {
                Ok((r.try_get(0)?, SensorId::new(r.try_get::<_, String>(1)?)))
            })?
            .into_iter()
            .collect())
    }

    pub fn time_span(&self) -> Result<(Option<TimestampMs>, Option<TimestampMs>)> {
        Ok(self
            .one("SELECT min(ts), max(ts) FROM readings", &[], |r| {
                Ok((r.try_get(0)?, r.try_get(1)?))
            })?
            .unwrap_or((None, None)))
    }

    pub fn time_ordered_chunk(
        &self,
        after: (TimestampMs, i64),
        to: TimestampMs,
        limit: usize,
    ) -> Result<Vec<KeyedPoint>> {
        self.all(
            "SELECT ts, value, quality, sensor_id FROM readings
             WHERE (ts, sensor_id) > ($1, $2) AND ts <= $3
             ORDER BY ts, sensor_id LIMIT $4",
            &[&after.0, &after.1, &to, &limit_of(limit)],
            |r| {
                Ok(KeyedPoint {
                    point: row_to_point(r)?,
                    sensor_id: r.try_get(3)?,
                })
            },
        )
    }
}

/// A row limit as PostgreSQL takes it.
fn limit_of(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

fn bad() -> i32 {
    super::upsert::quality_of(Quality::Bad.code())
}

fn row_to_reading(row: &Row) -> PgResult<Reading> {
    Ok(Reading {
        sensor: SensorId::new(row.try_get::<_, String>(0)?),
        ts: row.try_get(1)?,
        value: row.try_get(2)?,
        quality: Quality::from_code(row.try_get::<_, i32>(3)?.into()),
    })
}

fn row_to_point(row: &Row) -> PgResult<Point> {
    Ok(Point {
        ts: row.try_get(0)?,
        value: row.try_get(1)?,
        quality: Quality::from_code(row.try_get::<_, i32>(2)?.into()),
    })
}

fn ts_value(row: &Row) -> PgResult<(TimestampMs, f64)> {
    Ok((row.try_get(0)?, row.try_get(1)?))
}

/// The journal columns starting at column `at`.
pub(super) fn journal_row(r: &Row, at: usize) -> PgResult<AlarmEventRow> {
    Ok(AlarmEventRow {
        ts: r.try_get(at)?,
        sensor: r.try_get(at + 1)?,
        condition: r.try_get(at + 2)?,
        event: r.try_get(at + 3)?,
        state: r.try_get(at + 4)?,
        value: r.try_get(at + 5)?,
        priority: r.try_get(at + 6)?,
        operator: r.try_get(at + 7)?,
        comment: r.try_get(at + 8)?,
        origin: r.try_get(at + 9)?,
        occurrence: r.try_get(at + 10)?,
    })
}
