//! Bulk loading for imports: one connection, explicit transactions, prepared
//! statements held across rows. Readings upsert on (sensor, ts), so loading
//! the same data twice stores it once.

use super::{Result, StoreError};
use crate::model::{Reading, SensorId, SensorMeta, now_ms};
use rusqlite::{Connection, Statement, params};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const UPSERT_SENSOR: &str = "INSERT INTO sensors(tag, name, unit, grp, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)
     ON CONFLICT(tag) DO UPDATE SET
        name = CASE WHEN excluded.name <> '' AND excluded.name <> excluded.tag THEN excluded.name ELSE name END,
        unit = CASE WHEN excluded.unit <> '' THEN excluded.unit ELSE unit END,
        grp = CASE WHEN excluded.grp <> '' THEN excluded.grp ELSE grp END
     RETURNING sensor_id";

const UPSERT_READING: &str =
    "INSERT INTO readings(sensor_id, ts, value, quality) VALUES (?1, ?2, ?3, ?4)
     ON CONFLICT(sensor_id, ts) DO UPDATE SET value = excluded.value, quality = excluded.quality";

/// Opens the history file for a bulk load.
pub fn open(path: &Path) -> Result<Connection> {
    let conn = super::open(path)?;
    // A bigger page cache keeps index pages of many sensors in memory: bounded, not per row.
    conn.pragma_update(None, "cache_size", -65_536)
        .map_err(|source| StoreError::Sqlite {
            path: path.to_owned(),
            source,
        })?;
    Ok(conn)
}

/// Sensor tags already in the history file.
pub fn known_sensors(conn: &Connection, path: &Path) -> Result<Vec<String>> {
    let ctx = |source| StoreError::Sqlite {
        path: path.to_owned(),
        source,
    };
    let mut stmt = conn.prepare("SELECT tag FROM sensors").map_err(ctx)?;
    stmt.query_map([], |r| r.get(0))
        .map_err(ctx)?
        .collect::<rusqlite::Result<_>>()
        .map_err(ctx)
}

fn load_ids(conn: &Connection, path: &Path) -> Result<HashMap<String, i64>> {
    let ctx = |source| StoreError::Sqlite {
        path: path.to_owned(),
        source,
    };
    let mut stmt = conn
        .prepare("SELECT tag, sensor_id FROM sensors")
        .map_err(ctx)?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .map_err(ctx)?;
    rows.collect::<rusqlite::Result<_>>().map_err(ctx)
}

pub struct BulkLoader<'c> {
    conn: &'c Connection,
    path: PathBuf,
    upsert_sensor: Statement<'c>,
    upsert_reading: Statement<'c>,
    ids: HashMap<String, i64>,
    /// The last sensor looked up. Compared by address (cheap); holding the id
    /// keeps that address from being reused by another sensor.
    last: Option<(SensorId, i64)>,
    in_transaction: bool,
}

impl<'c> BulkLoader<'c> {
    pub fn new(conn: &'c Connection, path: &Path) -> Result<Self> {
        let ctx = |source| StoreError::Sqlite {
            path: path.to_owned(),
            source,
        };
        let ids = load_ids(conn, path)?;
        Ok(BulkLoader {
            conn,
            path: path.to_owned(),
            upsert_sensor: conn.prepare(UPSERT_SENSOR).map_err(ctx)?,
            upsert_reading: conn.prepare(UPSERT_READING).map_err(ctx)?,
            ids,
            last: None,
            in_transaction: false,
        })
    }

    fn ctx(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        |source| StoreError::Sqlite {
            path: self.path.clone(),
            source,
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
            self.last = None;
            self.ids = load_ids(self.conn, &self.path)?;
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
            .map_err(|source| StoreError::Sqlite { path, source })?;
        self.ids.insert(meta.id.as_str().to_owned(), id);
        Ok(id)
    }

    /// Writes readings sorted by (sensor, ts), so the B-tree is filled page by
    /// page. The sort is stable: of two readings with the same key, the later
    /// one in `batch` is stored.
    pub fn readings(&mut self, batch: &[Reading]) -> Result<()> {
        let mut rows = Vec::with_capacity(batch.len());
        for r in batch {
            rows.push((self.sensor_id(r)?, r.ts, r.value, r.quality.code()));
        }
        rows.sort_by_key(|&(id, ts, _, _)| (id, ts));
        for (id, ts, value, quality) in rows {
            self.upsert_reading
                .execute(params![id, ts, value, quality])
                .map_err(|source| StoreError::Sqlite {
                    path: self.path.clone(),
                    source,
                })?;
        }
        Ok(())
    }

    fn sensor_id(&mut self, r: &Reading) -> Result<i64> {
        if let Some((last, id)) = &self.last
            && std::ptr::eq(last.as_str(), r.sensor.as_str())
        {
            return Ok(*id);
        }
        let id = match self.ids.get(r.sensor.as_str()) {
            Some(id) => *id,
            None => self.sensor(&SensorMeta {
                id: r.sensor.clone(),
                name: r.sensor.to_string(),
                ..Default::default()
            })?,
        };
        self.last = Some((r.sensor.clone(), id));
        Ok(id)
    }
}

impl Drop for BulkLoader<'_> {
    fn drop(&mut self) {
        // An unfinished load stores nothing (`--strict` relies on it).
        if self.in_transaction {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}
