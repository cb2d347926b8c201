//! The SQLite side of bulk loading for imports: one connection, explicit
//! transactions, prepared statements held across rows. Readings are keyed on (sensor, ts), so loading
//! the same data twice stores it once; each row written is counted as new,
//! already stored, or updated (another value or quality at that key: the
//! later one wins).

use crate::model::{SensorMeta, now_ms};
use crate::store::bulk::{BulkRow, WriteCounts};
use crate::store::{Result, StoreError};
use rusqlite::{Connection, Statement, params};
use std::path::{Path, PathBuf};

const UPSERT_SENSOR: &str = "INSERT INTO sensors(tag, name, unit, grp, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)
     ON CONFLICT(tag) DO UPDATE SET
        name = CASE WHEN excluded.name <> '' AND excluded.name <> excluded.tag THEN excluded.name ELSE name END,
        unit = CASE WHEN excluded.unit <> '' THEN excluded.unit ELSE unit END,
        grp = CASE WHEN excluded.grp <> '' THEN excluded.grp ELSE grp END
     RETURNING sensor_id";

/// Opens the history file for a bulk load.
pub fn open(path: &Path) -> Result<Connection> {
    let conn = super::open(path)?;
    let set = |name: &str, value: &dyn rusqlite::ToSql| {
        conn.pragma_update(None, name, value)
            .map_err(|source| StoreError::Sqlite {
                path: path.to_owned(),
                source: source.into(),
            })
    };
    // Rows arrive sorted by (sensor, ts), so the working set is the tail leaf
    // of each sensor plus the interior pages: 8 MiB holds it. A bigger cache
    // only keeps more dirty pages of the transaction, i.e. memory that grows
    // with the file (64 MiB measured 29 → 84 MiB RSS from 0.5 M to 5 M rows).
    set("cache_size", &BULK_CACHE_KIB)?;
    // The loader writes only sensor_ids it got from the `sensors` upsert in the
    // same transaction (and a rollback undoes both), so the per-row parent-key
    // lookup cannot fail; skipping it is ~25 % of the insert cost.
    set("foreign_keys", &"OFF")?;
    Ok(conn)
}

/// `PRAGMA cache_size` of a bulk load: negative = KiB.
const BULK_CACHE_KIB: i64 = -8192;

/// Readings per multi-row insert: one statement step for 64 rows instead of
/// 64 (fewer VDBE starts, resets and halts: −25 % instructions per row).
const ROWS_PER_STATEMENT: usize = 64;

/// Sensor tags already in the history file.
pub fn known_sensors(conn: &Connection, path: &Path) -> Result<Vec<String>> {
    let ctx = |source: rusqlite::Error| StoreError::Sqlite {
        path: path.to_owned(),
        source: source.into(),
    };
    let mut stmt = conn.prepare("SELECT tag FROM sensors").map_err(ctx)?;
    stmt.query_map([], |r| r.get(0))
        .map_err(ctx)?
        .collect::<rusqlite::Result<_>>()
        .map_err(ctx)
}

pub struct SqliteLoader<'c> {
    conn: &'c Connection,
    path: PathBuf,
    upsert_sensor: Statement<'c>,
    insert_one: Statement<'c>,
    /// The same for [`ROWS_PER_STATEMENT`] rows at once.
    insert_many: Statement<'c>,
    update_changed: Statement<'c>,
    in_transaction: bool,
}

impl<'c> SqliteLoader<'c> {
    pub fn new(conn: &'c Connection, path: &Path) -> Result<Self> {
        let ctx = |source: rusqlite::Error| StoreError::Sqlite {
            path: path.to_owned(),
            source: source.into(),
        };
        Ok(SqliteLoader {
            conn,
            path: path.to_owned(),
            upsert_sensor: conn.prepare(UPSERT_SENSOR).map_err(ctx)?,
            insert_one: conn.prepare(&insert_new_sql(1)).map_err(ctx)?,
            insert_many: conn
                .prepare(&insert_new_sql(ROWS_PER_STATEMENT))
                .map_err(ctx)?,
            update_changed: conn.prepare(UPDATE_CHANGED).map_err(ctx)?,
            in_transaction: false,
        })
    }

    fn ctx(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        |source| StoreError::Sqlite {
            path: self.path.clone(),
            source: source.into(),
        }
    }

    pub fn begin(&mut self) -> Result<()> {
        if !self.in_transaction {
            self.conn
                .execute_batch("BEGIN IMMEDIATE")
                .map_err(self.ctx())?;
            self.in_transaction = true;
        }
        Ok(())
    }

    pub fn commit(&mut self) -> Result<()> {
        if self.in_transaction {
            self.conn.execute_batch("COMMIT").map_err(self.ctx())?;
            self.in_transaction = false;
        }
        Ok(())
    }

    /// Throws away everything since [`Self::begin`], including sensors created.
    pub fn rollback(&mut self) -> Result<()> {
        if self.in_transaction {
            self.conn.execute_batch("ROLLBACK").map_err(self.ctx())?;
            self.in_transaction = false;
        }
        Ok(())
    }

    /// Creates a sensor, or fills in its empty name/unit/group.
    pub fn sensor(&mut self, meta: &SensorMeta) -> Result<i64> {
        let path = self.path.clone();
        let id: i64 = self
            .upsert_sensor
            .query_row(
                params![meta.id.as_str(), meta.name, meta.unit, meta.group, now_ms()],
                |r| r.get(0),
            )
            .map_err(|source| StoreError::Sqlite {
                path,
                source: source.into(),
            })?;
        Ok(id)
    }

    /// Writes `rows` in the order given and counts what each did. Callers
    /// sort them by (sensor, ts) so the B-tree fills page by page; of two
    /// rows with the same key the later one is stored.
    pub fn write_rows(&mut self, rows: &[BulkRow]) -> Result<WriteCounts> {
        let mut counts = WriteCounts::default();
        let mut groups = rows.chunks_exact(ROWS_PER_STATEMENT);
        for group in &mut groups {
            counts += self.write_group(group, true)?;
        }
        for row in groups.remainder() {
            counts += self.write_group(std::slice::from_ref(row), false)?;
        }
        Ok(counts)
    }

    /// Inserts the rows whose key is new; only when some key was already
    /// there, updates each row whose value or quality differs (in order, so
    /// the later of equal keys wins). A fresh load never pays for the update.
    fn write_group(&mut self, group: &[BulkRow], many: bool) -> Result<WriteCounts> {
        let insert = if many {
            &mut self.insert_many
        } else {
            &mut self.insert_one
        };
        execute_rows(insert, group, &self.path)?;
        let new = self.conn.changes();
        let mut updated = 0;
        if new < group.len() as u64 {
            for row in group {
                execute_rows(
                    &mut self.update_changed,
                    std::slice::from_ref(row),
                    &self.path,
                )?;
                updated += self.conn.changes();
            }
        }
        Ok(WriteCounts {
            new,
            duplicate: group.len() as u64 - new - updated,
            updated,
        })
    }
}

/// Binds `rows` to a statement of `rows.len()` (sensor_id, ts, value,
/// quality) tuples and runs it.
fn execute_rows(stmt: &mut Statement<'_>, rows: &[BulkRow], path: &Path) -> Result<()> {
    let ctx = |source: rusqlite::Error| StoreError::Sqlite {
        path: path.to_owned(),
        source: source.into(),
    };
    for (k, row) in rows.iter().enumerate() {
        let first = k * 4 + 1;
        stmt.raw_bind_parameter(first, row.sensor_id).map_err(ctx)?;
        stmt.raw_bind_parameter(first + 1, row.ts).map_err(ctx)?;
        stmt.raw_bind_parameter(first + 2, row.value).map_err(ctx)?;
        stmt.raw_bind_parameter(first + 3, row.quality)
            .map_err(ctx)?;
    }
    stmt.raw_execute().map_err(ctx)?;
    Ok(())
}

/// Inserts `n` rows, leaving any (sensor, ts) already stored as it is.
fn insert_new_sql(n: usize) -> String {
    let values = vec!["(?, ?, ?, ?)"; n].join(", ");
    format!(
        "INSERT INTO readings(sensor_id, ts, value, quality) VALUES {values}
         ON CONFLICT(sensor_id, ts) DO NOTHING"
    )
}

/// Replaces a stored reading whose value or quality differs (a no-op, with
/// no page written, when they are equal).
const UPDATE_CHANGED: &str = "UPDATE readings SET value = ?3, quality = ?4
     WHERE sensor_id = ?1 AND ts = ?2 AND (value <> ?3 OR quality <> ?4)";

impl Drop for SqliteLoader<'_> {
    fn drop(&mut self) {
        // An unfinished load stores nothing (`--strict` relies on it).
        if self.in_transaction {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(new: u64, duplicate: u64, updated: u64) -> WriteCounts {
        WriteCounts {
            new,
            duplicate,
            updated,
        }
    }

    /// A loader in a transaction on a fresh history, with sensor "a".
    fn loader_with_sensor<'c>(conn: &'c Connection, path: &Path) -> (SqliteLoader<'c>, i64) {
        let mut loader = SqliteLoader::new(conn, path).unwrap();
        loader.begin().unwrap();
        let a = loader
            .sensor(&SensorMeta {
                id: "a".into(),
                ..Default::default()
            })
            .unwrap();
        (loader, a)
    }

    fn stored(conn: &Connection, sql: &str) -> i64 {
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn multi_row_statements_keep_the_later_of_equal_keys_and_valid_sensor_ids() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        let conn = open(&path).unwrap();
        let (mut loader, a) = loader_with_sensor(&conn, &path);
        // 150 rows: two full 64-row statements and 22 single ones; ts 10 of
        // the first group repeats inside the same statement, ts 140 in the tail.
        let mut rows: Vec<BulkRow> = (0..148).map(|t| BulkRow::good(a, t, t as f64)).collect();
        rows.insert(20, BulkRow::good(a, 10, -10.0));
        rows.push(BulkRow::good(a, 140, -140.0));
        // The repeats replace the value just inserted: updated, not new.
        assert_eq!(loader.write_rows(&rows).unwrap(), counts(148, 0, 2));
        // Again, with another value: an update, not a second row.
        assert_eq!(
            loader.write_rows(&[BulkRow::good(a, 5, 55.0)]).unwrap(),
            counts(0, 0, 1)
        );
        loader.commit().unwrap();
        let value = |ts: i64| -> f64 {
            conn.query_row(
                "SELECT value FROM readings WHERE sensor_id = ?1 AND ts = ?2",
                params![a, ts],
                |r| r.get(0),
            )
            .unwrap()
        };
        assert_eq!(stored(&conn, "SELECT count(*) FROM readings"), 148);
        assert_eq!(value(10), -10.0);
        assert_eq!(value(140), -140.0);
        assert_eq!(value(5), 55.0);
        assert_eq!(value(147), 147.0);
        // Foreign keys are not checked per row during the load; they still hold.
        assert_eq!(
            stored(&conn, "SELECT count(*) FROM pragma_foreign_key_check"),
            0
        );
    }
}
