//! The SQLite side of the writer thread: one history transaction for the
//! sensors, readings and alarm rows of a batch, with each reading's outcome
//! counted (new row, duplicate, superseded); and retention.

use crate::model::{TimestampMs, now_ms};
use crate::store::bulk::BulkRow;
use crate::store::writer::{Outcome, Pending};
use crate::store::{Result, StoreError};
use rusqlite::{Connection, Transaction, params};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The writer's connection to the history file, and the sensor keys it knows.
pub struct SqliteWriter {
    conn: Connection,
    path: PathBuf,
    ids: HashMap<String, i64>,
}

impl SqliteWriter {
    /// Opens the file for writing; with `sync_full` every commit is fsynced.
    pub fn open(path: &Path, sync_full: bool) -> Result<Self> {
        let conn = super::open(path)?;
        let synchronous = if sync_full { "FULL" } else { "NORMAL" };
        conn.pragma_update(None, "synchronous", synchronous)
            .map_err(super::ctx(path))?;
        let ids = load_ids(&conn, path)?;
        Ok(SqliteWriter {
            conn,
            path: path.to_owned(),
            ids,
        })
    }

    pub fn describe(&self) -> String {
        self.path.display().to_string()
    }

    /// Writes `pending` in one transaction.
    pub fn write(&mut self, pending: &Pending) -> Result<Outcome> {
        write(&mut self.conn, &self.path, &mut self.ids, pending)
    }

    /// See [`delete_older_than`].
    pub(crate) fn delete_older_than(&self, cutoff: TimestampMs, per_sensor: u32) -> Result<u64> {
        delete_older_than(&self.conn, cutoff, per_sensor).map_err(super::ctx(&self.path))
    }
}

fn load_ids(conn: &Connection, path: &Path) -> Result<HashMap<String, i64>> {
    let ctx = |source| sqlite(path, source);
    let mut stmt = conn
        .prepare("SELECT tag, sensor_id FROM sensors")
        .map_err(ctx)?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .map_err(ctx)?
        .collect::<rusqlite::Result<HashMap<_, _>>>()
        .map_err(ctx)?;
    Ok(rows)
}

fn sqlite(path: &Path, source: rusqlite::Error) -> StoreError {
    StoreError::Sqlite {
        path: path.to_owned(),
        source: source.into(),
    }
}

/// Writes `pending` in one transaction. `ids` (tag → sensor_id) learns the
/// sensors created, but only once the transaction has committed.
fn write(
    conn: &mut Connection,
    path: &Path,
    ids: &mut HashMap<String, i64>,
    pending: &Pending,
) -> Result<Outcome> {
    let ctx = |source| sqlite(path, source);
    let tx = conn.transaction().map_err(ctx)?;
    let mut new_ids = HashMap::new();
    let outcome = write_batch(&tx, ids, &mut new_ids, pending).map_err(ctx)?;
    tx.commit().map_err(ctx)?;
    ids.extend(new_ids);
    Ok(outcome)
}

fn write_batch(
    tx: &Transaction<'_>,
    ids: &HashMap<String, i64>,
    new_ids: &mut HashMap<String, i64>,
    pending: &Pending,
) -> rusqlite::Result<Outcome> {
    let now = now_ms();
    let mut rows = pending.keyed_rows(ids, new_ids, |tag, name, unit, group| {
        upsert_sensor(tx, tag, name, unit, group, now)
    })?;
    // In key order: the B-tree is then written page after page instead of
    // hopping between sensors. Stable: of two readings with the same key, the
    // later one still wins.
    rows.sort_by_key(|r| (r.sensor_id, r.ts));
    let outcome = insert_readings(tx, rows)?;
    insert_alarms(tx, pending)?;
    Ok(outcome)
}

fn upsert_sensor(
    tx: &Transaction<'_>,
    tag: &str,
    name: &str,
    unit: &str,
    group: &str,
    now: TimestampMs,
) -> rusqlite::Result<i64> {
    tx.prepare_cached(
        "INSERT INTO sensors(tag, name, unit, grp, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(tag) DO UPDATE SET
            name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE name END,
            unit = CASE WHEN excluded.unit <> '' THEN excluded.unit ELSE unit END,
            grp = CASE WHEN excluded.grp <> '' THEN excluded.grp ELSE grp END
         RETURNING sensor_id",
    )?
    .query_row(params![tag, name, unit, group, now], |r| r.get(0))
}

/// Inserts new rows; a reading whose key is taken replaces the stored value
/// when it differs (superseded) and changes nothing when it is the same
/// (duplicate).
fn insert_readings(tx: &Transaction<'_>, rows: Vec<BulkRow>) -> rusqlite::Result<Outcome> {
    let mut insert = tx.prepare_cached(
        "INSERT INTO readings(sensor_id, ts, value, quality) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(sensor_id, ts) DO NOTHING",
    )?;
    let mut replace = tx.prepare_cached(
        "UPDATE readings SET value = ?3, quality = ?4
         WHERE sensor_id = ?1 AND ts = ?2 AND (value IS NOT ?3 OR quality IS NOT ?4)",
    )?;
    let mut outcome = Outcome::default();
    for BulkRow {
        sensor_id: id,
        ts,
        value,
        quality,
    } in rows
    {
        if insert.execute(params![id, ts, value, quality])? == 1 {
            outcome.stored += 1;
        } else if replace.execute(params![id, ts, value, quality])? == 1 {
            outcome.superseded += 1;
        } else {
            outcome.duplicates += 1;
        }
    }
    Ok(outcome)
}

fn insert_alarms(tx: &Transaction<'_>, pending: &Pending) -> rusqlite::Result<()> {
    let mut alarm = tx.prepare_cached(
        "INSERT INTO alarm_events(ts, sensor, condition, event, state, value, priority, operator,
             comment, origin, occurrence)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT DO NOTHING",
    )?;
    for a in &pending.alarms {
        alarm.execute(params![
            a.ts,
            a.sensor,
            a.condition,
            a.event,
            a.state,
            a.value,
            a.priority,
            a.operator,
            a.comment,
            a.origin,
            a.occurrence
        ])?;
    }
    Ok(())
}

/// Deletes readings older than `cutoff`, at most `per_sensor` rows per sensor,
/// one short transaction per sensor so the writer never stalls for long.
/// Returns the number of rows deleted; call again until it returns 0.
pub(crate) fn delete_older_than(
    conn: &Connection,
    cutoff: TimestampMs,
    per_sensor: u32,
) -> rusqlite::Result<u64> {
    let ids: Vec<i64> = conn
        .prepare("SELECT sensor_id FROM sensors")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut deleted = 0;
    let mut stmt = conn.prepare_cached(
        "DELETE FROM readings WHERE sensor_id = ?1 AND ts < ?2 AND ts IN
           (SELECT ts FROM readings WHERE sensor_id = ?1 AND ts < ?2 ORDER BY ts LIMIT ?3)",
    )?;
    for id in ids {
        deleted += stmt.execute(params![id, cutoff, per_sensor])? as u64;
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_are_fsynced_unless_asked_not_to() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        for (sync_full, expected) in [(true, 2), (false, 1)] {
            let conn = SqliteWriter::open(&path, sync_full).unwrap().conn;
            let synchronous: i64 = conn
                .pragma_query_value(None, "synchronous", |r| r.get(0))
                .unwrap();
            assert_eq!(synchronous, expected, "sync_full = {sync_full}");
        }
    }
}
