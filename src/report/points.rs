//! The history reads reports need: sensors chosen by glob, and readings of
//! one sensor streamed in time order straight from the primary key (no
//! per-row allocation, constant memory).

use super::ReportError;
use crate::model::{Quality, TimestampMs};
use globset::{Glob, GlobSetBuilder};
use rusqlite::{Connection, Rows, Statement, params};

const POINTS_SQL: &str = "SELECT ts, value, quality FROM readings
     WHERE sensor_id = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts";

/// A sensor as stored: its row id, tag and unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSensor {
    pub rowid: i64,
    pub tag: String,
    pub unit: String,
}

/// `from <= ts < to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeRange {
    pub from: TimestampMs,
    pub to: TimestampMs,
}

impl TimeRange {
    pub const ALL: TimeRange = TimeRange {
        from: i64::MIN,
        to: i64::MAX,
    };
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub ts: TimestampMs,
    pub value: f64,
    pub quality: Quality,
}

/// Stored sensors whose tag matches any of `globs` (all sensors when empty),
/// sorted by tag. No match is bad input.
pub fn select_sensors(
    conn: &Connection,
    globs: &[String],
) -> Result<Vec<StoredSensor>, ReportError> {
    let mut builder = GlobSetBuilder::new();
    for g in globs {
        let glob = Glob::new(g).map_err(|e| ReportError::Input(format!("--sensor {g:?}: {e}")))?;
        builder.add(glob);
    }
    let set = builder
        .build()
        .map_err(|e| ReportError::Input(format!("--sensor: {e}")))?;
    let mut stmt = conn.prepare("SELECT sensor_id, tag, unit FROM sensors ORDER BY tag")?;
    let all = stmt
        .query_map([], |r| {
            Ok(StoredSensor {
                rowid: r.get(0)?,
                tag: r.get(1)?,
                unit: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let chosen: Vec<StoredSensor> = all
        .into_iter()
        .filter(|s| globs.is_empty() || set.is_match(&s.tag))
        .collect();
    if chosen.is_empty() {
        return Err(ReportError::Input(if globs.is_empty() {
            "the history file has no sensors".into()
        } else {
            format!(
                "no sensor in the history file matches {}",
                globs
                    .iter()
                    .map(|g| format!("{g:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }));
    }
    Ok(chosen)
}

/// How many readings of these sensors fall in `range` (for the progress bar).
pub fn count_in_range(
    conn: &Connection,
    sensors: &[StoredSensor],
    range: TimeRange,
) -> Result<u64, ReportError> {
    let mut stmt = conn.prepare_cached(
        "SELECT count(*) FROM readings WHERE sensor_id = ?1 AND ts >= ?2 AND ts < ?3",
    )?;
    let mut total = 0u64;
    for s in sensors {
        let n: i64 = stmt.query_row(params![s.rowid, range.from, range.to], |r| r.get(0))?;
        total += n as u64;
    }
    Ok(total)
}

/// The last good, finite reading of a sensor strictly before `ts`.
pub fn last_good_before(
    conn: &Connection,
    sensor: &StoredSensor,
    ts: TimestampMs,
) -> Result<Option<f64>, ReportError> {
    let mut stmt = conn.prepare_cached(
        "SELECT value FROM readings WHERE sensor_id = ?1 AND ts < ?2 AND quality = 0
         ORDER BY ts DESC LIMIT 1",
    )?;
    let mut rows = stmt.query(params![sensor.rowid, ts])?;
    Ok(match rows.next()? {
        Some(r) => Some(r.get(0)?),
        None => None,
    })
}

/// One prepared range query per sensor; several can be open at once on the
/// same connection, which is what a time-ordered merge needs.
pub fn prepare_cursors<'c>(
    conn: &'c Connection,
    count: usize,
) -> Result<Vec<Statement<'c>>, ReportError> {
    (0..count)
        .map(|_| conn.prepare(POINTS_SQL).map_err(ReportError::from))
        .collect()
}

/// A running range query of one sensor.
pub struct Cursor<'s> {
    rows: Rows<'s>,
}

impl<'s> Cursor<'s> {
    pub fn open(
        stmt: &'s mut Statement<'_>,
        sensor: &StoredSensor,
        range: TimeRange,
    ) -> Result<Self, ReportError> {
        Ok(Cursor {
            rows: stmt.query(params![sensor.rowid, range.from, range.to])?,
        })
    }

    pub fn next_point(&mut self) -> Result<Option<Point>, ReportError> {
        let Some(row) = self.rows.next()? else {
            return Ok(None);
        };
        Ok(Some(Point {
            ts: row.get(0)?,
            value: row.get(1)?,
            quality: Quality::from_code(row.get(2)?),
        }))
    }
}

pub fn quality_label(q: Quality) -> &'static str {
    q.label()
}
