//! The single history writer. It owns the only write connection, runs on its
//! own thread, and commits what arrives on a bounded channel in transactions:
//! when a batch reaches `batch_rows`, when `max_latency` has passed since the
//! first pending message, on a [`WriteMsg::Flush`] barrier, and when the
//! channel closes. A full channel makes senders wait: backpressure instead of
//! unbounded memory.

use super::{Result, StoreError};
use crate::model::{Reading, SensorMeta, TimestampMs, now_ms};
use rusqlite::{Connection, params};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};

/// One row of the alarm journal.
#[derive(Clone, Debug, PartialEq)]
pub struct AlarmEventRow {
    pub ts: TimestampMs,
    pub sensor: String,
    pub condition: String,
    pub event: String,
    pub state: String,
    pub value: Option<f64>,
    pub priority: String,
    pub operator: String,
    pub comment: String,
}

#[derive(Debug)]
pub enum WriteMsg {
    Readings(Vec<Reading>),
    Sensor(SensorMeta),
    Alarm(AlarmEventRow),
    /// Commit everything sent before this message, then answer.
    Flush(oneshot::Sender<StoreStats>),
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    pub rows_committed: u64,
    pub batches: u64,
    pub alarm_events: u64,
    pub retention_deleted: u64,
    pub commit_errors: u64,
}

#[derive(Clone, Debug)]
pub struct WriterConfig {
    pub batch_rows: usize,
    pub max_latency: Duration,
    /// Messages (not rows) the channel holds before senders wait.
    pub channel_capacity: usize,
    /// Delete raw readings older than this.
    pub retention: Option<Duration>,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            batch_rows: 50_000,
            max_latency: Duration::from_millis(100),
            channel_capacity: 256,
            retention: None,
        }
    }
}

/// Cheap to clone; sends to the writer thread.
#[derive(Clone, Debug)]
pub struct WriterHandle {
    tx: mpsc::Sender<WriteMsg>,
    stats: watch::Receiver<StoreStats>,
}

impl WriterHandle {
    pub async fn send(&self, msg: WriteMsg) -> Result<()> {
        self.tx.send(msg).await.map_err(|_| StoreError::WriterGone)
    }

    pub fn blocking_send(&self, msg: WriteMsg) -> Result<()> {
        self.tx
            .blocking_send(msg)
            .map_err(|_| StoreError::WriterGone)
    }

    /// Waits until everything sent before is committed.
    pub async fn flush(&self) -> Result<StoreStats> {
        let (tx, rx) = oneshot::channel();
        self.send(WriteMsg::Flush(tx)).await?;
        rx.await.map_err(|_| StoreError::WriterGone)
    }

    pub fn blocking_flush(&self) -> Result<StoreStats> {
        let (tx, rx) = oneshot::channel();
        self.blocking_send(WriteMsg::Flush(tx))?;
        rx.blocking_recv().map_err(|_| StoreError::WriterGone)
    }

    pub fn stats(&self) -> StoreStats {
        *self.stats.borrow()
    }

    /// Changes after every commit: lets callers wait for progress without polling.
    pub fn watch_stats(&self) -> watch::Receiver<StoreStats> {
        self.stats.clone()
    }
}

/// The running writer thread. Drop every [`WriterHandle`] then call [`Writer::join`]
/// to commit the rest and stop.
pub struct Writer {
    thread: std::thread::JoinHandle<Result<StoreStats>>,
}

impl Writer {
    pub fn spawn(path: &Path, config: WriterConfig) -> Result<(Writer, WriterHandle)> {
        let conn = super::open(path)?;
        let (tx, rx) = mpsc::channel(config.channel_capacity.max(1));
        let (stats_tx, stats) = watch::channel(StoreStats::default());
        let mut state = WriterState::new(conn, path.to_owned(), config, stats_tx)?;
        let thread = std::thread::Builder::new()
            .name("history-writer".into())
            .spawn(move || state.run(rx))
            .map_err(|e| StoreError::Sqlite {
                path: path.to_owned(),
                source: rusqlite::Error::ToSqlConversionFailure(Box::new(e)),
            })?;
        Ok((Writer { thread }, WriterHandle { tx, stats }))
    }

    /// Waits for the thread to commit everything and stop. Call after every
    /// handle is dropped.
    pub fn join(self) -> Result<StoreStats> {
        self.thread.join().unwrap_or(Err(StoreError::WriterGone))
    }
}

struct WriterState {
    conn: Connection,
    path: PathBuf,
    config: WriterConfig,
    stats: watch::Sender<StoreStats>,
    ids: HashMap<String, i64>,
    pending_readings: Vec<Reading>,
    pending_sensors: Vec<SensorMeta>,
    pending_alarms: Vec<AlarmEventRow>,
    waiting_flush: Vec<oneshot::Sender<StoreStats>>,
    last_retention: Instant,
}

impl WriterState {
    fn new(
        conn: Connection,
        path: PathBuf,
        config: WriterConfig,
        stats: watch::Sender<StoreStats>,
    ) -> Result<Self> {
        let mut state = WriterState {
            conn,
            path,
            config,
            stats,
            ids: HashMap::new(),
            pending_readings: Vec::new(),
            pending_sensors: Vec::new(),
            pending_alarms: Vec::new(),
            waiting_flush: Vec::new(),
            last_retention: Instant::now(),
        };
        state.load_ids()?;
        Ok(state)
    }

    fn ctx(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        |source| StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    fn load_ids(&mut self) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare("SELECT tag, sensor_id FROM sensors")
            .map_err(self.ctx())?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(self.ctx())?
            .collect::<std::result::Result<HashMap<_, _>, _>>()
            .map_err(self.ctx())?;
        drop(stmt);
        self.ids = rows;
        Ok(())
    }

    fn run(&mut self, mut rx: mpsc::Receiver<WriteMsg>) -> Result<StoreStats> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(|e| StoreError::Sqlite {
                path: self.path.clone(),
                source: rusqlite::Error::ToSqlConversionFailure(Box::new(e)),
            })?;
        runtime.block_on(async {
            let mut deadline: Option<tokio::time::Instant> = None;
            loop {
                let msg = match deadline {
                    Some(at) => tokio::select! {
                        msg = rx.recv() => msg,
                        _ = tokio::time::sleep_until(at) => {
                            self.commit_with_retry().await?;
                            deadline = None;
                            continue;
                        }
                    },
                    None => rx.recv().await,
                };
                let Some(msg) = msg else { break };
                let must_commit = self.accept(msg);
                if must_commit || self.pending_readings.len() >= self.config.batch_rows {
                    self.commit_with_retry().await?;
                    deadline = None;
                } else if deadline.is_none() && self.has_pending() {
                    deadline = Some(tokio::time::Instant::now() + self.config.max_latency);
                }
            }
            self.commit_with_retry().await?;
            Ok(*self.stats.borrow())
        })
    }

    /// Buffers a message; returns true when it asks for an immediate commit.
    fn accept(&mut self, msg: WriteMsg) -> bool {
        match msg {
            WriteMsg::Readings(mut readings) => {
                if self.pending_readings.is_empty() {
                    std::mem::swap(&mut self.pending_readings, &mut readings);
                } else {
                    self.pending_readings.append(&mut readings);
                }
                false
            }
            WriteMsg::Sensor(meta) => {
                self.pending_sensors.push(meta);
                false
            }
            WriteMsg::Alarm(row) => {
                self.pending_alarms.push(row);
                false
            }
            WriteMsg::Flush(reply) => {
                self.waiting_flush.push(reply);
                true
            }
        }
    }

    fn has_pending(&self) -> bool {
        !self.pending_readings.is_empty()
            || !self.pending_sensors.is_empty()
            || !self.pending_alarms.is_empty()
            || !self.waiting_flush.is_empty()
    }

    /// Commits; on failure (disk full, locked file) keeps everything pending,
    /// stops reading the channel so senders wait, and tries again.
    async fn commit_with_retry(&mut self) -> Result<()> {
        let mut delay = Duration::from_millis(100);
        let mut attempts = 0;
        loop {
            match self.commit() {
                Ok(()) => break,
                Err(e) => {
                    attempts += 1;
                    self.stats.send_modify(|s| s.commit_errors += 1);
                    tracing::error!(error = %e, attempts, "history commit failed; retrying");
                    if attempts >= 50 {
                        return Err(e);
                    }
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
        self.maybe_apply_retention();
        let stats = *self.stats.borrow();
        for reply in self.waiting_flush.drain(..) {
            let _ = reply.send(stats);
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        if self.pending_readings.is_empty()
            && self.pending_sensors.is_empty()
            && self.pending_alarms.is_empty()
        {
            return Ok(());
        }
        let path = self.path.clone();
        let ctx = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(ctx)?;
        let mut new_ids: HashMap<String, i64> = HashMap::new();
        {
            let mut upsert_sensor = tx
                .prepare_cached(
                    "INSERT INTO sensors(tag, name, unit, grp, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT(tag) DO UPDATE SET
                        name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE name END,
                        unit = CASE WHEN excluded.unit <> '' THEN excluded.unit ELSE unit END,
                        grp = CASE WHEN excluded.grp <> '' THEN excluded.grp ELSE grp END
                     RETURNING sensor_id",
                )
                .map_err(ctx)?;
            let now = now_ms();
            for meta in &self.pending_sensors {
                let id: i64 = upsert_sensor
                    .query_row(
                        params![meta.id.as_str(), meta.name, meta.unit, meta.group, now],
                        |r| r.get(0),
                    )
                    .map_err(ctx)?;
                new_ids.insert(meta.id.as_str().to_owned(), id);
            }
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO readings(sensor_id, ts, value, quality) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT(sensor_id, ts) DO UPDATE SET value = excluded.value, quality = excluded.quality",
                )
                .map_err(ctx)?;
            // Resolve ids, then insert in key order: the B-tree is then
            // written page after page instead of hopping between sensors.
            let mut rows = Vec::with_capacity(self.pending_readings.len());
            let mut last: Option<(&str, i64)> = None;
            for r in &self.pending_readings {
                let tag = r.sensor.as_str();
                let id = match last {
                    Some((last_tag, id)) if last_tag == tag => id,
                    _ => {
                        let id = match self.ids.get(tag).or_else(|| new_ids.get(tag)) {
                            Some(id) => *id,
                            None => {
                                let id: i64 = upsert_sensor
                                    .query_row(params![tag, tag, "", "", now], |row| row.get(0))
                                    .map_err(ctx)?;
                                new_ids.insert(tag.to_owned(), id);
                                id
                            }
                        };
                        last = Some((tag, id));
                        id
                    }
                };
                rows.push((id, r.ts, r.value, r.quality.code()));
            }
            // Stable: of two readings with the same key, the later one still wins.
            rows.sort_by_key(|&(id, ts, _, _)| (id, ts));
            for (id, ts, value, quality) in rows {
                insert
                    .execute(params![id, ts, value, quality])
                    .map_err(ctx)?;
            }
            let mut alarm = tx
                .prepare_cached(
                    "INSERT INTO alarm_events(ts, sensor, condition, event, state, value, priority, operator, comment)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )
                .map_err(ctx)?;
            for a in &self.pending_alarms {
                alarm
                    .execute(params![
                        a.ts,
                        a.sensor,
                        a.condition,
                        a.event,
                        a.state,
                        a.value,
                        a.priority,
                        a.operator,
                        a.comment
                    ])
                    .map_err(ctx)?;
            }
        }
        tx.commit().map_err(ctx)?;
        self.ids.extend(new_ids);
        let rows = self.pending_readings.len() as u64;
        let alarms = self.pending_alarms.len() as u64;
        self.stats.send_modify(|s| {
            s.rows_committed += rows;
            s.batches += 1;
            s.alarm_events += alarms;
        });
        self.pending_readings.clear();
        self.pending_sensors.clear();
        self.pending_alarms.clear();
        Ok(())
    }

    fn maybe_apply_retention(&mut self) {
        let Some(keep) = self.config.retention else {
            return;
        };
        if self.last_retention.elapsed() < Duration::from_secs(60) {
            return;
        }
        self.last_retention = Instant::now();
        let cutoff = now_ms() - i64::try_from(keep.as_millis()).unwrap_or(i64::MAX);
        match delete_older_than(&self.conn, cutoff, 5_000) {
            Ok(n) => self.stats.send_modify(|s| s.retention_deleted += n),
            Err(e) => tracing::warn!(error = %e, "retention delete failed"),
        }
    }
}

/// Deletes readings older than `cutoff`, at most `per_sensor` rows per sensor,
/// one short transaction per sensor so the writer never stalls for long.
/// Returns the number of rows deleted; call again until it returns 0.
pub fn delete_older_than(
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
    use crate::model::{Quality, SensorId};

    fn reading(sensor: &str, ts: i64, value: f64) -> Reading {
        Reading::good(sensor, ts, value)
    }

    #[tokio::test]
    async fn commits_on_flush_and_upserts_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        let (writer, handle) = Writer::spawn(&path, WriterConfig::default()).unwrap();
        handle
            .send(WriteMsg::Readings(vec![
                reading("a", 1, 1.0),
                reading("b", 1, 2.0),
            ]))
            .await
            .unwrap();
        handle
            .send(WriteMsg::Readings(vec![
                reading("a", 1, 1.5),
                reading("a", 2, 3.0),
            ]))
            .await
            .unwrap();
        let stats = handle.flush().await.unwrap();
        assert_eq!(stats.rows_committed, 4);
        drop(handle);
        writer.join().unwrap();

        let conn = Connection::open(&path).unwrap();
        let rows: Vec<(String, i64, f64)> = conn
            .prepare("SELECT s.tag, r.ts, r.value FROM readings r JOIN sensors s USING(sensor_id) ORDER BY s.tag, r.ts")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            rows,
            vec![
                ("a".into(), 1, 1.5),
                ("a".into(), 2, 3.0),
                ("b".into(), 1, 2.0)
            ]
        );
    }

    #[tokio::test]
    async fn commits_by_itself_within_max_latency() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        let (writer, handle) = Writer::spawn(&path, WriterConfig::default()).unwrap();
        handle
            .send(WriteMsg::Readings(vec![reading("a", 1, 1.0)]))
            .await
            .unwrap();
        // No flush: the latency timer alone must commit it.
        let mut stats = handle.watch_stats();
        tokio::time::timeout(
            Duration::from_secs(10),
            stats.wait_for(|s| s.rows_committed == 1),
        )
        .await
        .expect("writer never committed on its own")
        .unwrap();
        drop(handle);
        assert_eq!(writer.join().unwrap().rows_committed, 1);
    }

    #[tokio::test]
    async fn sensor_metadata_is_stored_and_kept_when_readings_arrive() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        let (writer, handle) = Writer::spawn(&path, WriterConfig::default()).unwrap();
        let meta = SensorMeta {
            id: SensorId::new("t"),
            name: "Temp".into(),
            unit: "°C".into(),
            group: "line1".into(),
            range: None,
        };
        handle.send(WriteMsg::Sensor(meta)).await.unwrap();
        handle
            .send(WriteMsg::Readings(vec![Reading {
                sensor: SensorId::new("t"),
                ts: 5,
                value: 1.0,
                quality: Quality::Stale,
            }]))
            .await
            .unwrap();
        handle.flush().await.unwrap();
        drop(handle);
        writer.join().unwrap();
        let conn = Connection::open(&path).unwrap();
        let (name, unit, q): (String, String, i64) = conn
            .query_row(
                "SELECT name, unit, quality FROM sensors JOIN readings USING(sensor_id)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!((name.as_str(), unit.as_str(), q), ("Temp", "°C", 2));
    }

    #[test]
    fn retention_deletes_only_old_rows_in_bounded_batches() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        let (writer, handle) = Writer::spawn(&path, WriterConfig::default()).unwrap();
        let readings = (0..25).map(|i| reading("a", i, i as f64)).collect();
        handle.blocking_send(WriteMsg::Readings(readings)).unwrap();
        handle.blocking_flush().unwrap();
        drop(handle);
        writer.join().unwrap();
        let conn = crate::store::open(&path).unwrap();
        assert_eq!(delete_older_than(&conn, 20, 8).unwrap(), 8);
        assert_eq!(delete_older_than(&conn, 20, 8).unwrap(), 8);
        assert_eq!(delete_older_than(&conn, 20, 8).unwrap(), 4);
        assert_eq!(delete_older_than(&conn, 20, 8).unwrap(), 0);
        let left: i64 = conn
            .query_row("SELECT count(*) FROM readings", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 5);
    }
}
