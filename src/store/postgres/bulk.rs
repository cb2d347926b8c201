//! The PostgreSQL side of bulk loading: transactions the caller delimits,
//! rows in by binary COPY through the same staging upsert as the writer.

use super::schema::{LOAD_LOCK, ensure_partitions_apart, ensure_partitions_within};
use super::upsert::{self, CREATE_STAGING};
use super::{PgConn, wait};
use crate::model::{SensorMeta, now_ms};
use crate::store::Result;
use crate::store::bulk::{BulkRow, WriteCounts};
use crate::store::location::PgLocation;
use std::collections::HashSet;

const UPSERT_SENSOR: &str = "INSERT INTO sensors(tag, name, unit, grp, created_ms)
 VALUES ($1, $2, $3, $4, $5)
 ON CONFLICT(tag) DO UPDATE SET
    name = CASE WHEN EXCLUDED.name <> '' AND EXCLUDED.name <> EXCLUDED.tag
                THEN EXCLUDED.name ELSE sensors.name END,
    unit = CASE WHEN EXCLUDED.unit <> '' THEN EXCLUDED.unit ELSE sensors.unit END,
    grp = CASE WHEN EXCLUDED.grp <> '' THEN EXCLUDED.grp ELSE sensors.grp END
 RETURNING sensor_id";

/// Opens the database for a bulk load (migrating it first).
pub fn open(location: &PgLocation) -> Result<PgConn> {
    let conn = PgConn::open(location)?;
    wait(conn.client.batch_execute(CREATE_STAGING)).map_err(|e| conn.err(e))?;
    Ok(conn)
}

/// Sensor tags already stored.
pub fn known_sensors(conn: &PgConn) -> Result<Vec<String>> {
    wait(conn.client.query("SELECT tag FROM sensors", &[]))
        .and_then(|rows| rows.iter().map(|r| r.try_get(0)).collect())
        .map_err(|e| conn.err(e))
}

/// How the open load commits.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Load {
    /// One transaction until commit, holding [`LOAD_LOCK`]: writers' batches
    /// wait for it instead of deadlocking with it.
    AllOrNothing,
    /// Every `write_rows` commits on its own (one key-ordered statement, like
    /// a writer's batch); sensors are registered as they come.
    Chunked,
}

pub struct PgLoader<'c> {
    conn: &'c PgConn,
    load: Option<Load>,
    /// Months whose partition exists.
    months: HashSet<String>,
    /// With the months created by the open all-or-nothing transaction.
    months_in_load: HashSet<String>,
}

impl<'c> PgLoader<'c> {
    pub fn new(conn: &'c PgConn) -> Self {
        PgLoader {
            conn,
            load: None,
            months: HashSet::new(),
            months_in_load: HashSet::new(),
        }
    }

    fn run(&self, sql: &str) -> Result<()> {
        wait(self.conn.client.batch_execute(sql)).map_err(|e| self.conn.err(e))
    }

    pub fn begin(&mut self) -> Result<()> {
        if self.load.is_none() {
            self.run(&format!("BEGIN; SELECT pg_advisory_xact_lock({LOAD_LOCK})"))?;
            self.months_in_load = self.months.clone();
            self.load = Some(Load::AllOrNothing);
        }
        Ok(())
    }

    pub fn begin_chunked(&mut self) -> Result<()> {
        if self.load.is_none() {
            self.load = Some(Load::Chunked);
        }
        Ok(())
    }

    pub fn commit(&mut self) -> Result<()> {
        if self.load.take() == Some(Load::AllOrNothing) {
            self.run("COMMIT")?;
            self.months = std::mem::take(&mut self.months_in_load);
        }
        Ok(())
    }

    pub fn rollback(&mut self) -> Result<()> {
        if self.load.take() == Some(Load::AllOrNothing) {
            self.run("ROLLBACK")?;
        }
        Ok(())
    }

    pub fn sensor(&mut self, meta: &SensorMeta) -> Result<i64> {
        if self.load == Some(Load::AllOrNothing) {
            return self.upsert_sensor(meta);
        }
        // Its own transaction, sharing the load lock like a chunk does: a
        // sensor row must not be held while a partition is created (the new
        // partition's foreign key locks `sensors`).
        self.run_shared_locked(|loader| loader.upsert_sensor(meta))
    }

    fn upsert_sensor(&self, meta: &SensorMeta) -> Result<i64> {
        let args: [&(dyn tokio_postgres::types::ToSql + Sync); 5] = [
            &meta.id.as_str(),
            &meta.name,
            &meta.unit,
            &meta.group,
            &now_ms(),
        ];
        wait(self.conn.client.query_one(UPSERT_SENSOR, &args))
            .and_then(|row| row.try_get(0))
            .map_err(|e| self.conn.err(e))
    }

    /// Runs `work` in a transaction of its own holding [`LOAD_LOCK`] shared.
    fn run_shared_locked<T>(&self, work: impl FnOnce(&Self) -> Result<T>) -> Result<T> {
        self.run(&format!(
            "BEGIN; SELECT pg_advisory_xact_lock_shared({LOAD_LOCK})"
        ))?;
        match work(self) {
            Ok(done) => self.run("COMMIT").map(|()| done),
            Err(e) => {
                let _ = self.run("ROLLBACK");
                Err(e)
            }
        }
    }

    pub fn write_rows(&mut self, rows: &[BulkRow]) -> Result<WriteCounts> {
        let client = &self.conn.client;
        let stamps = rows.iter().map(|r| r.ts);
        if self.load == Some(Load::AllOrNothing) {
            ensure_partitions_within(client, &mut self.months_in_load, stamps)
                .and_then(|()| upsert::write_rows(client, rows))
                .map_err(|e| self.conn.err(e))
        } else {
            ensure_partitions_apart(client, &mut self.months, stamps)
                .map_err(|e| self.conn.err(e))?;
            self.run_shared_locked(|loader| {
                upsert::write_rows(client, rows).map_err(|e| loader.conn.err(e))
            })
        }
    }
}

impl Drop for PgLoader<'_> {
    fn drop(&mut self) {
        // An unfinished load stores nothing (`--strict` relies on it).
        if self.load == Some(Load::AllOrNothing) {
            let _ = self.run("ROLLBACK");
        }
    }
}
