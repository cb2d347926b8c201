//! Readings in by binary COPY: rows go to a temporary staging table, are
//! counted against what is stored, then upserted, all in the caller's
//! transaction. The counts are SQLite's, row by row in the order given: a
//! key not stored yet is new; one stored (or written earlier in the same
//! batch) with another value or quality is updated (the later row wins);
//! one with the same value and quality is a duplicate.

use super::wait;
use crate::store::bulk::{BulkRow, WriteCounts};
use tokio_postgres::Client;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};

type PgResult<T> = std::result::Result<T, tokio_postgres::Error>;

/// Creates the session's staging table (emptied at every commit or rollback).
pub(crate) const CREATE_STAGING: &str = "CREATE TEMP TABLE IF NOT EXISTS floorwatch_staging (
     seq bigint NOT NULL, sensor_id bigint NOT NULL, ts bigint NOT NULL,
     value double precision NOT NULL, quality integer NOT NULL
 ) ON COMMIT DELETE ROWS";

const COUNT: &str = "WITH s AS (
     SELECT sensor_id, ts, value, quality,
            row_number() OVER w AS n,
            lag(value) OVER w AS prev_value, lag(quality) OVER w AS prev_quality
     FROM floorwatch_staging WINDOW w AS (PARTITION BY sensor_id, ts ORDER BY seq))
 SELECT
     count(*) FILTER (WHERE s.n = 1 AND r.sensor_id IS NULL),
     count(*) FILTER (WHERE
         (s.n = 1 AND r.sensor_id IS NOT NULL
              AND (r.value, r.quality) IS DISTINCT FROM (s.value, s.quality))
      OR (s.n > 1 AND (s.prev_value, s.prev_quality) IS DISTINCT FROM (s.value, s.quality)))
 FROM s LEFT JOIN readings r ON r.sensor_id = s.sensor_id AND r.ts = s.ts";

const UPSERT: &str = "INSERT INTO readings (sensor_id, ts, value, quality)
 SELECT DISTINCT ON (sensor_id, ts) sensor_id, ts, value, quality
 FROM floorwatch_staging ORDER BY sensor_id, ts, seq DESC
 ON CONFLICT (sensor_id, ts) DO UPDATE SET value = EXCLUDED.value, quality = EXCLUDED.quality
 WHERE (readings.value, readings.quality) IS DISTINCT FROM (EXCLUDED.value, EXCLUDED.quality)";

/// Writes `rows` and counts what each did, in the transaction open on `tx`;
/// the partitions of their months must exist. The upsert takes its row
/// locks in (sensor, ts) order, so batches of one statement each never
/// deadlock with one another.
pub(crate) fn write_rows(tx: &Client, rows: &[BulkRow]) -> PgResult<WriteCounts> {
    if rows.is_empty() {
        return Ok(WriteCounts::default());
    }
    wait(tx.execute("TRUNCATE floorwatch_staging", &[]))?;
    wait(copy_in(tx, rows))?;
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
