//! The SQLite side of [`crate::store::HistoryReader`]: every read query, on
//! a read-only connection of its own.

use super::ctx;
use crate::model::{Quality, Reading, SensorId, SensorMeta, TimestampMs};
use crate::store::Result;
use crate::store::rows::{
    AlarmEventRow, JournalEntry, JournalQuery, KeyedPoint, Point, StoredSensor,
};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Params, Row, params, params_from_iter};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const JOURNAL_COLUMNS: &str =
    "ts, sensor, condition, event, state, value, priority, operator, comment, origin, occurrence";

pub struct SqliteReader {
    conn: Connection,
    path: PathBuf,
}

impl SqliteReader {
    pub fn open(path: &Path) -> Result<Self> {
        Ok(SqliteReader {
            conn: super::open_reader(path)?,
            path: path.to_owned(),
        })
    }

    /// A reader of a replay's own store, which may add the index a replay's
    /// time order needs (the store's key is sensor first).
    pub fn open_for_replay(path: &Path) -> Result<Self> {
        let conn = Connection::open(path).map_err(ctx(path))?;
        conn.execute_batch("CREATE INDEX IF NOT EXISTS replay_order ON readings(ts, sensor_id)")
            .map_err(ctx(path))?;
        Ok(SqliteReader {
            conn,
            path: path.to_owned(),
        })
    }

    pub fn describe(&self) -> String {
        self.path.display().to_string()
    }

    /// Runs `sql` and maps every row.
    fn all<T, P: Params>(
        &self,
        sql: &str,
        args: P,
        f: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        let ctx = ctx(&self.path);
        let mut stmt = self.conn.prepare_cached(sql).map_err(&ctx)?;
        let rows = stmt.query_map(args, f).map_err(&ctx)?;
        rows.collect::<rusqlite::Result<_>>().map_err(&ctx)
    }

    /// Runs `sql` and maps its first row, if any.
    fn one<T, P: Params>(
        &self,
        sql: &str,
        args: P,
        f: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Option<T>> {
        let ctx = ctx(&self.path);
        let mut stmt = self.conn.prepare_cached(sql).map_err(&ctx)?;
        stmt.query_row(args, f).optional().map_err(&ctx)
    }

    /// Runs `sql` and hands every row to `f`, streaming.
    fn each<P: Params>(
        &self,
        sql: &str,
        args: P,
        mut f: impl FnMut(&Row<'_>) -> rusqlite::Result<()>,
    ) -> Result<()> {
        let ctx = ctx(&self.path);
        let mut stmt = self.conn.prepare_cached(sql).map_err(&ctx)?;
        let mut rows = stmt.query(args).map_err(&ctx)?;
        while let Some(row) = rows.next().map_err(&ctx)? {
            f(row).map_err(&ctx)?;
        }
        Ok(())
    }

    fn count_of<P: Params>(&self, sql: &str, args: P) -> Result<u64> {
        Ok(self.one(sql, args, |r| r.get::<_, i64>(0))?.unwrap_or(0) as u64)
    }

    pub fn sensors(&self) -> Result<Vec<SensorMeta>> {
        self.all(
            "SELECT tag, name, unit, grp FROM sensors ORDER BY tag",
            [],
            |r| {
                Ok(SensorMeta {
                    id: SensorId::new(r.get::<_, String>(0)?),
                    name: r.get(1)?,
                    unit: r.get(2)?,
                    group: r.get(3)?,
                    range: None,
                })
            },
        )
    }

    pub fn stored_sensors(&self) -> Result<Vec<StoredSensor>> {
        self.all(
            "SELECT sensor_id, tag, unit FROM sensors ORDER BY tag",
            [],
            |r| {
                Ok(StoredSensor {
                    rowid: r.get(0)?,
                    tag: r.get(1)?,
                    unit: r.get(2)?,
                })
            },
        )
    }

    pub fn last_values(&self) -> Result<Vec<Reading>> {
        self.all(
            "SELECT s.tag, r.ts, r.value, r.quality FROM sensors s
             JOIN readings r ON r.sensor_id = s.sensor_id
              AND r.ts = (SELECT max(ts) FROM readings WHERE sensor_id = s.sensor_id)
             ORDER BY s.tag",
            [],
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
            "SELECT s.tag, r.ts, r.value, r.quality FROM readings r
             JOIN sensors s ON s.sensor_id = r.sensor_id
             WHERE s.tag = ?1 AND r.ts >= ?2 AND r.ts < ?3 ORDER BY r.ts",
            params![sensor, from, to],
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
            "SELECT r.ts, r.value, r.quality FROM readings r
             WHERE r.sensor_id = (SELECT sensor_id FROM sensors WHERE tag = ?1)
               AND r.ts >= ?2 AND r.ts < ?3 ORDER BY r.ts",
            params![sensor, from, to],
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
             WHERE sensor_id = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts LIMIT ?4",
            params![sensor_id, from, to, limit as i64],
            row_to_point,
        )
    }

    pub fn count(&self, sensor: &str) -> Result<u64> {
        self.count_of(
            "SELECT count(*) FROM readings r JOIN sensors s USING(sensor_id) WHERE s.tag = ?1",
            [sensor],
        )
    }

    pub fn total_readings(&self) -> Result<u64> {
        self.count_of("SELECT count(*) FROM readings", [])
    }

    pub fn count_in_range(
        &self,
        sensor_id: i64,
        from: TimestampMs,
        to: TimestampMs,
    ) -> Result<u64> {
        self.count_of(
            "SELECT count(*) FROM readings WHERE sensor_id = ?1 AND ts >= ?2 AND ts < ?3",
            params![sensor_id, from, to],
        )
    }

    pub fn at_or_before(&self, sensor: &str, ts: TimestampMs) -> Result<Option<Reading>> {
        self.one(
            "SELECT s.tag, r.ts, r.value, r.quality FROM readings r
             JOIN sensors s ON s.sensor_id = r.sensor_id
             WHERE s.tag = ?1 AND r.ts <= ?2 ORDER BY r.ts DESC LIMIT 1",
            params![sensor, ts],
            row_to_reading,
        )
    }

    pub fn last_good_value_before(&self, sensor_id: i64, ts: TimestampMs) -> Result<Option<f64>> {
        self.one(
            "SELECT value FROM readings WHERE sensor_id = ?1 AND ts < ?2 AND quality = 0
             ORDER BY ts DESC LIMIT 1",
            params![sensor_id, ts],
            |r| r.get(0),
        )
    }

    pub fn good_before(&self, sensor: &str, ts: TimestampMs) -> Result<Option<(TimestampMs, f64)>> {
        self.one(
            "SELECT r.ts, r.value FROM readings r JOIN sensors s ON s.sensor_id = r.sensor_id
             WHERE s.tag = ?1 AND r.ts < ?2 AND r.quality = 0 ORDER BY r.ts DESC LIMIT 1",
            params![sensor, ts],
            ts_value,
        )
    }

    pub fn good_from(&self, sensor: &str, ts: TimestampMs) -> Result<Option<(TimestampMs, f64)>> {
        self.one(
            "SELECT r.ts, r.value FROM readings r JOIN sensors s ON s.sensor_id = r.sensor_id
             WHERE s.tag = ?1 AND r.ts >= ?2 AND r.quality = 0 ORDER BY r.ts LIMIT 1",
            params![sensor, ts],
            ts_value,
        )
    }

    pub fn last_not_bad(
        &self,
        sensor: &str,
        until: TimestampMs,
    ) -> Result<Option<(TimestampMs, f64)>> {
        self.one(
            "SELECT r.ts, r.value FROM readings r JOIN sensors s ON s.sensor_id = r.sensor_id
             WHERE s.tag = ?1 AND r.ts <= ?2 AND r.quality <> ?3
             ORDER BY r.ts DESC LIMIT 1",
            params![sensor, until, Quality::Bad.code()],
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
        // SQLite takes the bare column `value` from the row where max(ts) is found.
        self.all(
            "SELECT max(r.ts), r.value FROM readings r JOIN sensors s ON s.sensor_id = r.sensor_id
             WHERE s.tag = ?1 AND r.ts >= ?2 AND r.ts <= ?3 AND r.quality <> ?4
             GROUP BY r.ts / ?5 ORDER BY 1",
            params![sensor, from, until, Quality::Bad.code(), period_ms.max(1)],
            ts_value,
        )
    }

    pub fn for_each_journal_row(&self, f: &mut dyn FnMut(AlarmEventRow)) -> Result<()> {
        self.each(
            &format!("SELECT {JOURNAL_COLUMNS} FROM alarm_events ORDER BY event_id"),
            [],
            |row| {
                f(journal_row(row, 0)?);
                Ok(())
            },
        )
    }

    pub fn journal_query(&self, query: &JournalQuery) -> Result<Vec<AlarmEventRow>> {
        let mut clauses = Vec::new();
        let mut args: Vec<Value> = Vec::new();
        let mut text = |clause, value: &Option<String>| {
            if let Some(v) = value {
                clauses.push(clause);
                args.push(Value::Text(v.clone()));
            }
        };
        text("instr(lower(sensor), lower(?)) > 0", &query.sensor_contains);
        text("priority = ?", &query.priority);
        text("state = ?", &query.state);
        text("event = ?", &query.event);
        for (clause, bound) in [("ts >= ?", query.from_ms), ("ts < ?", query.to_ms)] {
            if let Some(ts) = bound {
                clauses.push(clause);
                args.push(Value::Integer(ts));
            }
        }
        let condition = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        args.push(Value::Integer(query.limit.min(i64::MAX as usize) as i64));
        let sql = format!(
            "SELECT {JOURNAL_COLUMNS} FROM alarm_events {condition} ORDER BY ts DESC, event_id DESC LIMIT ?"
        );
        self.all(&sql, params_from_iter(args), |r| journal_row(r, 0))
    }

    pub fn journal_between(
        &self,
        from: TimestampMs,
        to: TimestampMs,
    ) -> Result<Vec<AlarmEventRow>> {
        self.all(
            &format!("SELECT {JOURNAL_COLUMNS} FROM alarm_events WHERE ts >= ?1 AND ts < ?2 ORDER BY ts, event_id"),
            [from, to],
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
                 WHERE (ts, event_id) > (?1, ?2) AND ts < ?3 ORDER BY ts, event_id LIMIT ?4"
            ),
            params![after.0, after.1, to, limit as i64],
            |r| {
                Ok(JournalEntry {
                    event_id: r.get(0)?,
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
             WHERE sensor = ?1 AND condition = ?2 AND event IN (?3, ?4) AND event_id < ?5
             ORDER BY ts DESC, event_id DESC LIMIT 1",
            params![sensor, condition, events[0], events[1], event_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
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
             WHERE sensor = ?1 AND ts <= ?2
             GROUP BY ts, condition, event, state, value, priority, operator
             ORDER BY ts DESC, max(event_id) DESC LIMIT ?3",
            params![sensor, to, limit as i64],
            |r| {
                Ok(AlarmEventRow {
                    ts: r.get(0)?,
                    sensor: sensor.to_owned(),
                    condition: r.get(1)?,
                    event: r.get(2)?,
                    state: r.get(3)?,
                    value: r.get(4)?,
                    priority: r.get(5)?,
                    operator: r.get(6)?,
                    comment: String::new(),
                    ..Default::default()
                })
            },
        )
    }

    pub fn sensor_tags(&self) -> Result<HashMap<i64, SensorId>> {
        Ok(self
            .all("SELECT sensor_id, tag FROM sensors", [], |r| {
                Ok((r.get(0)?, SensorId::new(r.get::<_, String>(1)?)))
            })?
            .into_iter()
            .collect())
    }

    pub fn time_span(&self) -> Result<(Option<TimestampMs>, Option<TimestampMs>)> {
        Ok(self
            .one("SELECT min(ts), max(ts) FROM readings", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
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
            "SELECT ts, value, quality, sensor_id FROM readings INDEXED BY replay_order
             WHERE (ts, sensor_id) > (?1, ?2) AND ts <= ?3
             ORDER BY ts, sensor_id LIMIT ?4",
            params![after.0, after.1, to, limit as i64],
            |r| {
                Ok(KeyedPoint {
                    point: row_to_point(r)?,
                    sensor_id: r.get(3)?,
                })
            },
        )
    }
}

fn row_to_reading(row: &Row<'_>) -> rusqlite::Result<Reading> {
    Ok(Reading {
        sensor: SensorId::new(row.get::<_, String>(0)?),
        ts: row.get(1)?,
        value: row.get(2)?,
        quality: Quality::from_code(row.get(3)?),
    })
}

fn row_to_point(row: &Row<'_>) -> rusqlite::Result<Point> {
    Ok(Point {
        ts: row.get(0)?,
        value: row.get(1)?,
        quality: Quality::from_code(row.get(2)?),
    })
}

fn ts_value(row: &Row<'_>) -> rusqlite::Result<(TimestampMs, f64)> {
    Ok((row.get(0)?, row.get(1)?))
}

/// The journal columns starting at column `at`.
fn journal_row(r: &Row<'_>, at: usize) -> rusqlite::Result<AlarmEventRow> {
    Ok(AlarmEventRow {
        ts: r.get(at)?,
        sensor: r.get(at + 1)?,
        condition: r.get(at + 2)?,
        event: r.get(at + 3)?,
        state: r.get(at + 4)?,
        value: r.get(at + 5)?,
        priority: r.get(at + 6)?,
        operator: r.get(at + 7)?,
        comment: r.get(at + 8)?,
        origin: r.get(at + 9)?,
        occurrence: r.get(at + 10)?,
    })
}
