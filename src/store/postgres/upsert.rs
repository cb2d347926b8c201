//! Readings in by binary COPY: rows go to a temporary staging table, are
//! counted against what is stored, then upserted, all in the caller's
//! transaction. The counts are SQLite's, row by row in the order given: a
//! key not stored yet is new; one stored (or written earlier in the same
//! batch) with another value or quality is updated (the later row wins);
//! one with the same value and quality is a duplicate.

use super::wait;
use crate::store::bulk::{BulkRow, WriteCounts};
use std::collections::HashMap;
use tokio_postgres::Client;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};

type PgResult<T> = std::result::Result<T, tokio_postgres::Error>;

/// Creates the session's staging table (emptied at every commit or rollback).
pub(crate) const CREATE_STAGING: &str = "CREATE TEMP TABLE IF NOT EXISTS floorwatch_staging (
     seq bigint NOT NULL, sensor_id bigint NOT NULL, ts bigint NOT NULL,
     value double precision NOT NULL, quality integer NOT NULL
 ) ON COMMIT DELETE ROWS";

/// Each staged row against what is stored, by one primary-key probe per row
/// (the `OFFSET 0` keeps the planner from turning the probes into a join that
/// scans the whole index: a cost that would grow with the history).
const COUNT: &str = "WITH s AS (
     SELECT sensor_id, ts, value, quality,
            row_number() OVER w AS n,
            lag(value) OVER w AS prev_value, lag(quality) OVER w AS prev_quality
     FROM floorwatch_staging WINDOW w AS (PARTITION BY sensor_id, ts ORDER BY seq))
 SELECT
     count(*) FILTER (WHERE s.n = 1 AND r.value IS NULL),
     count(*) FILTER (WHERE
         (s.n = 1 AND r.value IS NOT NULL
              AND (r.value, r.quality) IS DISTINCT FROM (s.value, s.quality))
      OR (s.n > 1 AND (s.prev_value, s.prev_quality) IS DISTINCT FROM (s.value, s.quality)))
 FROM s LEFT JOIN LATERAL (
     SELECT value, quality FROM readings
     WHERE readings.sensor_id = s.sensor_id AND readings.ts = s.ts OFFSET 0) r ON true";

const UPSERT: &str = "INSERT INTO readings (sensor_id, ts, value, quality)
 SELECT DISTINCT ON (sensor_id, ts) sensor_id, ts, value, quality
 FROM floorwatch_staging ORDER BY sensor_id, ts, seq DESC
 ON CONFLICT (sensor_id, ts) DO UPDATE SET value = EXCLUDED.value, quality = EXCLUDED.quality
 WHERE (readings.value, readings.quality) IS DISTINCT FROM (EXCLUDED.value, EXCLUDED.quality)";

/// Inserts the last staged row of every key not stored yet; how many.
const INSERT_NEW: &str = "WITH new AS (
     INSERT INTO readings (sensor_id, ts, value, quality)
     SELECT DISTINCT ON (sensor_id, ts) sensor_id, ts, value, quality
     FROM floorwatch_staging ORDER BY sensor_id, ts, seq DESC
     ON CONFLICT (sensor_id, ts) DO NOTHING RETURNING 1)
 SELECT count(*) FROM new";

/// Writes `rows` and counts what each did, in the transaction open on `tx`;
/// the partitions of their months must exist. Every statement takes its row
/// locks in (sensor, ts) order, so batches never deadlock with one another.
///
/// First, the fast path for readings not stored yet (live data, a first
/// import): insert them all, and if every key was new the counts follow
/// from the batch alone. Otherwise that insert is undone and each row is
/// counted against what is stored, then upserted.
pub(crate) fn write_rows(tx: &Client, rows: &[BulkRow]) -> PgResult<WriteCounts> {
    if rows.is_empty() {
        return Ok(WriteCounts::default());
    }
    // The staging sorts (window, DISTINCT ON) stay in memory.
    wait(tx.batch_execute("SET LOCAL work_mem = '64MB'; TRUNCATE floorwatch_staging"))?;
    wait(copy_in(tx, rows))?;
    let shape = BatchShape::of(rows);
    wait(tx.batch_execute("SAVEPOINT floorwatch_new"))?;
    let inserted = wait(tx.query_one(INSERT_NEW, &[]))?.try_get::<_, i64>(0)? as u64;
    if inserted == shape.keys {
        wait(tx.batch_execute("RELEASE SAVEPOINT floorwatch_new"))?;
        return Ok(WriteCounts {
            new: shape.keys,
            updated: shape.changes,
            duplicate: rows.len() as u64 - shape.keys - shape.changes,
        });
    }
    wait(
        tx.batch_execute("ROLLBACK TO SAVEPOINT floorwatch_new; RELEASE SAVEPOINT floorwatch_new"),
    )?;
    let counts = wait(tx.query_one(COUNT, &[]))?;
    let new = counts.try_get::<_, i64>(0)? as u64;
    let updated = counts.try_get::<_, i64>(1)? as u64;
    wait(tx.execute(UPSERT, &[]))?;
    Ok(WriteCounts {
        new,
        duplicate: rows.len() as u64 - new - updated,
        updated,
    })
}

/// Keys in a batch, and rows that change their key's value or quality from
/// the row before them in the batch (the later one wins).
struct BatchShape {
    keys: u64,
    changes: u64,
}

impl BatchShape {
    fn of(rows: &[BulkRow]) -> BatchShape {
        let mut last: HashMap<(i64, i64), (u64, i32)> = HashMap::with_capacity(rows.len());
        let mut changes = 0;
        for row in rows {
            let now = (row.value.to_bits(), quality_of(row.quality));
            if let Some(before) = last.insert((row.sensor_id, row.ts), now) {
                changes += u64::from(before != now);
            }
        }
        BatchShape {
            keys: last.len() as u64,
            changes,
        }
    }
}

async fn copy_in(tx: &Client, rows: &[BulkRow]) -> PgResult<()> {
    let sink = tx
        .copy_in("COPY floorwatch_staging (seq, sensor_id, ts, value, quality) FROM STDIN BINARY")
        .await?;
    let types = [Type::INT8, Type::INT8, Type::INT8, Type::FLOAT8, Type::INT4];
    let writer = BinaryCopyInWriter::new(sink, &types);
    let mut writer = std::pin::pin!(writer);
    for (seq, row) in (0i64..).zip(rows) {
        let quality = quality_of(row.quality);
        let values: [&(dyn ToSql + Sync); 5] =
            [&seq, &row.sensor_id, &row.ts, &row.value, &quality];
        writer.as_mut().write(&values).await?;
    }
    writer.finish().await?;
    Ok(())
}

/// A quality code as stored (codes are 0..=2; anything else is bad).
pub(crate) fn quality_of(code: i64) -> i32 {
    i32::try_from(code).unwrap_or(1)
}
