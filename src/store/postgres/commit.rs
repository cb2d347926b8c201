//! The PostgreSQL side of the writer thread: one transaction per batch for
//! its sensor upserts, readings (binary COPY into staging, then the upsert)
//! and alarm journal rows; `Ok` only once it has committed.

use super::location_err;
use super::upsert::{self, CREATE_STAGING};
use super::{PgConn, wait};
use crate::model::{TimestampMs, now_ms};
use crate::store::Result;
use crate::store::location::PgLocation;
use crate::store::writer::{Outcome, Pending};
use std::collections::HashMap;
use tokio_postgres::Transaction;

type PgResult<T> = std::result::Result<T, tokio_postgres::Error>;

pub(crate) const UPSERT_SENSOR: &str = "INSERT INTO sensors(tag, name, unit, grp, created_ms)
 VALUES ($1, $2, $3, $4, $5)
 ON CONFLICT(tag) DO UPDATE SET
    name = CASE WHEN EXCLUDED.name <> '' THEN EXCLUDED.name ELSE sensors.name END,
    unit = CASE WHEN EXCLUDED.unit <> '' THEN EXCLUDED.unit ELSE sensors.unit END,
    grp = CASE WHEN EXCLUDED.grp <> '' THEN EXCLUDED.grp ELSE sensors.grp END
 RETURNING sensor_id";

/// The writer's connection, and the sensor keys it knows.
pub struct PgWriter {
    conn: PgConn,
    ids: HashMap<String, i64>,
}

impl PgWriter {
    pub fn open(location: &PgLocation) -> Result<Self> {
        let conn = PgConn::open(location)?;
        wait(conn.client.batch_execute(CREATE_STAGING)).map_err(|e| conn.err(e))?;
        let ids = wait(conn.client.query("SELECT tag, sensor_id FROM sensors", &[]))
            .and_then(|rows| {
                rows.iter()
                    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                    .collect()
            })
            .map_err(|e| conn.err(e))?;
        Ok(PgWriter { conn, ids })
    }

    pub fn describe(&self) -> String {
        self.conn.describe()
    }

    /// Writes `pending` in one transaction. The sensor keys created are
    /// learnt only once it has committed.
    pub fn write(&mut self, pending: &Pending) -> Result<Outcome> {
        let location = self.conn.location.clone();
        let tx = wait(self.conn.client.transaction()).map_err(location_err(&location))?;
        let mut new_ids = HashMap::new();
        let outcome =
            write_batch(&tx, &self.ids, &mut new_ids, pending).map_err(location_err(&location))?;
        wait(tx.commit()).map_err(location_err(&location))?;
        self.ids.extend(new_ids);
        Ok(outcome)
    }

    /// Deletes readings older than `cutoff`, at most `per_sensor` per sensor.
    pub(crate) fn delete_older_than(&self, cutoff: TimestampMs, per_sensor: u32) -> Result<u64> {
        wait(self.conn.client.execute(
            "DELETE FROM readings r USING (
                 SELECT s.sensor_id, old.ts FROM sensors s CROSS JOIN LATERAL (
                     SELECT ts FROM readings WHERE sensor_id = s.sensor_id AND ts < $1
                     ORDER BY ts LIMIT $2) old) d
             WHERE r.sensor_id = d.sensor_id AND r.ts = d.ts",
            &[&cutoff, &i64::from(per_sensor)],
        ))
        .map_err(|e| self.conn.err(e))
    }
}

fn write_batch(
    tx: &Transaction<'_>,
    ids: &HashMap<String, i64>,
    new_ids: &mut HashMap<String, i64>,
    pending: &Pending,
) -> PgResult<Outcome> {
    let now = now_ms();
    let rows = pending.keyed_rows(ids, new_ids, |tag, name, unit, group| {
        wait(tx.query_one(UPSERT_SENSOR, &[&tag, &name, &unit, &group, &now]))?.try_get(0)
    })?;
    let counts = upsert::write_rows(tx.client(), &rows)?;
    super::journal::insert_alarms(tx, &pending.alarms)?;
    Ok(Outcome {
        stored: counts.new,
        duplicates: counts.duplicate,
        superseded: counts.updated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Reading;
    use crate::store::Location;

    #[test]
    fn retention_deletes_only_old_rows_in_bounded_batches() {
        let Some(h) = crate::store::test_backends::postgres() else {
            return;
        };
        let Location::Postgres(pg) = &h.location else {
            unreachable!("a PostgreSQL history");
        };
        let mut writer = PgWriter::open(pg).unwrap();
        let pending = Pending {
            readings: (0..25).map(|i| Reading::good("a", i, i as f64)).collect(),
            ..Default::default()
        };
        assert_eq!(writer.write(&pending).unwrap().stored, 25);
        for expected in [8, 8, 4, 0] {
            assert_eq!(writer.delete_older_than(20, 8).unwrap(), expected);
        }
        let reader = crate::store::HistoryReader::open(&h.location).unwrap();
        assert_eq!(reader.total_readings().unwrap(), 5);
    }
}
