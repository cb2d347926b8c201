//! The PostgreSQL side of the writer thread: one transaction per batch for
//! its sensor upserts, readings (binary COPY into staging, then the upsert)
//! and alarm journal rows; `Ok` only once it has committed.

use super::schema::{LOAD_LOCK, ensure_partitions_apart};
use super::upsert::{self, CREATE_STAGING};
use super::{PgConn, pg_error, wait};
use crate::model::{TimestampMs, now_ms};
use crate::store::location::PgLocation;
use crate::store::writer::{Outcome, Pending};
use crate::store::{Result, StoreError};
use std::collections::{HashMap, HashSet};
use tokio_postgres::Transaction;

/// Far enough ahead to fall in the next month whatever the day.
const NEXT_MONTH_MS: TimestampMs = 32 * 24 * 3_600_000;

type PgResult<T> = std::result::Result<T, tokio_postgres::Error>;

pub(crate) const UPSERT_SENSOR: &str = "INSERT INTO sensors(tag, name, unit, grp, created_ms)
 VALUES ($1, $2, $3, $4, $5)
 ON CONFLICT(tag) DO UPDATE SET
    name = CASE WHEN EXCLUDED.name <> '' THEN EXCLUDED.name ELSE sensors.name END,
    unit = CASE WHEN EXCLUDED.unit <> '' THEN EXCLUDED.unit ELSE sensors.unit END,
    grp = CASE WHEN EXCLUDED.grp <> '' THEN EXCLUDED.grp ELSE sensors.grp END
 RETURNING sensor_id";

/// Added to the writer's `application_name` (`floorwatch-writer`, or the
/// url's `application_name` + `-writer`), so its session can be found in
/// `pg_stat_activity`.
pub const WRITER_ROLE: &str = "-writer";

/// The writer's connection (absent while the server cannot be reached), and
/// the sensor keys it knows. The keys stay valid across reconnects: they are
/// the database's.
pub struct PgWriter {
    location: PgLocation,
    session: Option<PgConn>,
    ids: HashMap<String, i64>,
    /// Months whose partition exists (the database's, like the keys).
    months: HashSet<String>,
}

impl PgWriter {
    /// Connects, migrates and prepares the session; any failure is an error.
    pub fn open(location: &PgLocation) -> Result<Self> {
        let mut writer = PgWriter {
            location: location.clone(),
            session: None,
            ids: HashMap::new(),
            months: HashSet::new(),
        };
        writer.connect()?;
        Ok(writer)
    }

    /// As [`PgWriter::open`], but a server that cannot be reached (yet) is
    /// not an error: the writer starts without a connection, and the error
    /// is returned beside it; every commit attempt then tries to connect.
    pub fn start(location: &PgLocation) -> Result<(Self, Option<StoreError>)> {
        match Self::open(location) {
            Ok(writer) => Ok((writer, None)),
            Err(e) if e.is_transient() => {
                let writer = PgWriter {
                    location: location.clone(),
                    session: None,
                    ids: HashMap::new(),
                    months: HashSet::new(),
                };
                Ok((writer, Some(e)))
            }
            Err(e) => Err(e),
        }
    }

    /// Whether the writer has a live connection.
    pub fn connected(&self) -> bool {
        self.session.as_ref().is_some_and(|s| !s.client.is_closed())
    }

    /// Connects when there is no live connection: migrates, creates the
    /// session's staging table and learns the sensor keys.
    pub fn connect(&mut self) -> Result<()> {
        if self.connected() {
            return Ok(());
        }
        self.session = None;
        let conn = PgConn::open_as(&self.location, WRITER_ROLE)?;
        wait(conn.client.batch_execute(CREATE_STAGING)).map_err(|e| conn.err(e))?;
        let ids: Vec<(String, i64)> =
            wait(conn.client.query("SELECT tag, sensor_id FROM sensors", &[]))
                .and_then(|rows| {
                    rows.iter()
                        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                        .collect()
                })
                .map_err(|e| conn.err(e))?;
        self.ids.extend(ids);
        self.session = Some(conn);
        Ok(())
    }

    pub fn describe(&self) -> String {
        self.location.to_string()
    }

    /// Writes `pending` in one transaction (connecting first if needed). The
    /// sensor keys created are learnt only once it has committed. A
    /// connection lost on the way is dropped: the next call reconnects, and
    /// the caller retries the same batch, which the upsert on (sensor, ts)
    /// makes idempotent even when the lost commit had in fact gone through.
    pub fn write(&mut self, pending: &Pending) -> Result<Outcome> {
        self.connect()?;
        let Some(conn) = self.session.as_mut() else {
            return Err(StoreError::WriterGone);
        };
        match write_in_transaction(conn, &self.ids, &mut self.months, pending) {
            Ok((outcome, new_ids)) => {
                self.ids.extend(new_ids);
                Ok(outcome)
            }
            Err(e) => {
                if connection_lost(&conn.client, &e) {
                    tracing::warn!(history = %self.location, "PostgreSQL connection lost; reconnecting");
                    self.session = None;
                }
                Err(pg_error(&self.location, e))
            }
        }
    }

    /// Deletes readings older than `cutoff`, at most `per_sensor` per sensor.
    pub(crate) fn delete_older_than(&self, cutoff: TimestampMs, per_sensor: u32) -> Result<u64> {
        let Some(conn) = &self.session else {
            return Ok(0);
        };
        wait(conn.client.execute(
            "DELETE FROM readings r USING (
                 SELECT s.sensor_id, old.ts FROM sensors s CROSS JOIN LATERAL (
                     SELECT ts FROM readings WHERE sensor_id = s.sensor_id AND ts < $1
                     ORDER BY ts LIMIT $2) old) d
             WHERE r.sensor_id = d.sensor_id AND r.ts = d.ts",
            &[&cutoff, &i64::from(per_sensor)],
        ))
        .map_err(|e| conn.err(e))
    }
}

/// One transaction: the batch's rows and the sensor keys it created. The
/// partitions of its months (and of next month: live data then never waits
/// for a new month's partition at the turn of the month) are created before,
/// apart.
fn write_in_transaction(
    conn: &mut PgConn,
    ids: &HashMap<String, i64>,
    months: &mut HashSet<String>,
    pending: &Pending,
) -> PgResult<(Outcome, HashMap<String, i64>)> {
    let ahead = now_ms().saturating_add(NEXT_MONTH_MS);
    let stamps = pending.readings.iter().map(|r| r.ts).chain([ahead]);
    ensure_partitions_apart(&conn.client, months, stamps)?;
    let tx = wait(conn.client.transaction())?;
    wait(tx.execute("SELECT pg_advisory_xact_lock_shared($1)", &[&LOAD_LOCK]))?;
    let mut new_ids = HashMap::new();
    let outcome = write_batch(&tx, ids, &mut new_ids, pending)?;
    wait(tx.commit())?;
    Ok((outcome, new_ids))
}

/// Whether `error` ended the session (so reconnecting may help): the socket
/// closed or failed, or the server ended the session (class 57P: admin
/// shutdown or `pg_terminate_backend`; class 08: connection exception).
fn connection_lost(client: &tokio_postgres::Client, error: &tokio_postgres::Error) -> bool {
    if client.is_closed() || error.is_closed() {
        return true;
    }
    match error.as_db_error() {
        Some(db) => {
            let code = db.code().code();
            code.starts_with("57P") || code.starts_with("08")
        }
        None => true,
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

    fn batch(from: i64, to: i64) -> Pending {
        Pending {
            readings: (from..to)
                .map(|i| Reading::good("a", i, i as f64))
                .collect(),
            ..Default::default()
        }
    }

    /// Ends the writer's session as `pg_terminate_backend` from an operator
    /// would; the number of sessions ended.
    fn terminate(scratch: &super::super::scratch::Scratch, app: &str) -> Vec<i64> {
        let sql = format!(
            "SELECT count(pg_terminate_backend(pid))::bigint FROM pg_stat_activity
             WHERE application_name = '{app}{WRITER_ROLE}'"
        );
        scratch.query_i64(&sql).unwrap()
    }

    #[test]
    fn a_session_ended_by_the_server_is_reconnected_and_a_batch_retried_after_an_unknown_commit_counts_as_duplicates()
     {
        let scratch = match super::super::scratch::Scratch::create() {
            Ok(scratch) => scratch,
            Err(e) => {
                let required = std::env::var("FLOORWATCH_REQUIRE_SERVICES").is_ok_and(|v| v == "1");
                assert!(!required, "PostgreSQL is required: {e}");
                eprintln!("skipped on PostgreSQL: {e}");
                return;
            }
        };
        let app = format!("fwunit{}", std::process::id());
        let url = format!("{}&application_name={app}", scratch.url());
        let location = PgLocation::parse(&url, None).unwrap();
        let mut writer = PgWriter::open(&location).unwrap();
        assert_eq!(writer.write(&batch(0, 10)).unwrap().stored, 10);

        assert_eq!(terminate(&scratch, &app), vec![1]);
        // The next write finds the session gone (at once, or when it fails)
        // and the one after it runs on a new session.
        let outcome = writer
            .write(&batch(10, 20))
            .or_else(|_| writer.write(&batch(10, 20)))
            .unwrap();
        assert_eq!(outcome.stored, 10);
        assert!(writer.connected());

        // A batch whose commit went through unseen, sent again: nothing new.
        let again = writer.write(&batch(10, 20)).unwrap();
        assert_eq!((again.stored, again.duplicates), (0, 10));
        assert_eq!(
            scratch.query_i64("SELECT count(*) FROM readings").unwrap(),
            vec![20]
        );
    }

    #[test]
    fn a_server_not_reachable_at_start_is_retried_and_shown_as_reconnecting() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let down = PgLocation::parse(&format!("postgres://u@127.0.0.1:{port}/db"), None).unwrap();
        let (mut writer, why) = PgWriter::start(&down).unwrap();
        assert!(!writer.connected());
        let why = why.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            why.contains(&format!("127.0.0.1:{port} unreachable")),
            "{why}"
        );
        assert!(writer.write(&batch(0, 1)).unwrap_err().is_transient());

        let config = crate::store::writer::WriterConfig {
            shutdown_grace: std::time::Duration::ZERO,
            ..Default::default()
        };
        let location = crate::store::Location::Postgres(Box::new(down));
        let (thread, handle) = crate::store::Writer::spawn(location, config).unwrap();
        let stats = handle.stats();
        assert!(stats.reconnecting, "{stats:?}");
        assert!(stats.failing.unwrap_or_default().contains("unreachable"));
        drop(handle);
        thread.give_up_after_grace();
        let stopped = thread.join().unwrap();
        assert_eq!(stopped.rows_committed, 0, "nothing held, nothing lost");
    }
}
