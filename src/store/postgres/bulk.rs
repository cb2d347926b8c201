//! The PostgreSQL side of bulk loading: transactions the caller delimits,
//! rows in by binary COPY through the same staging upsert as the writer.

use super::upsert::{self, CREATE_STAGING};
use super::{PgConn, wait};
use crate::model::{SensorMeta, now_ms};
use crate::store::Result;
use crate::store::bulk::{BulkRow, WriteCounts};
use crate::store::location::PgLocation;

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

pub struct PgLoader<'c> {
    conn: &'c PgConn,
    in_transaction: bool,
}

impl<'c> PgLoader<'c> {
    pub fn new(conn: &'c PgConn) -> Self {
        PgLoader {
            conn,
            in_transaction: false,
        }
    }

    fn run(&self, sql: &str) -> Result<()> {
        wait(self.conn.client.batch_execute(sql)).map_err(|e| self.conn.err(e))
    }

    /// Runs `sql` when the load's transaction state is `when`, then sets it to `!when`.
    fn switch(&mut self, when: bool, sql: &str) -> Result<()> {
        if self.in_transaction == when {
            self.run(sql)?;
            self.in_transaction = !when;
        }
        Ok(())
    }

    pub fn begin(&mut self) -> Result<()> {
        self.switch(false, "BEGIN")
    }

    pub fn commit(&mut self) -> Result<()> {
        self.switch(true, "COMMIT")
    }

    pub fn rollback(&mut self) -> Result<()> {
        self.switch(true, "ROLLBACK")
    }

    pub fn sensor(&mut self, meta: &SensorMeta) -> Result<i64> {
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

    pub fn write_rows(&mut self, rows: &[BulkRow]) -> Result<WriteCounts> {
        upsert::write_rows(&self.conn.client, rows).map_err(|e| self.conn.err(e))
    }
}

impl Drop for PgLoader<'_> {
    fn drop(&mut self) {
        // An unfinished load stores nothing (`--strict` relies on it).
        if self.in_transaction {
            let _ = self.run("ROLLBACK");
        }
    }
}
