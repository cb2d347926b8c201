//! The single history writer. It owns the only write connection, runs on its
//! own thread, and commits what arrives on a bounded channel in transactions:
//! when a batch reaches `batch_rows`, when `max_latency` has passed since the
//! first pending message, on a [`WriteMsg::Flush`] barrier, as soon as the
//! channel is empty while someone waits for a commit
//! ([`WriteMsg::AfterCommit`]), and when the channel closes. A full channel
//! makes senders wait: backpressure instead of unbounded memory.
//!
//! Acknowledgements flow back from here only: a source that must not
//! acknowledge a message before its readings are durable (an MQTT PUBACK)
//! sends the readings, then [`WriteMsg::AfterCommit`]; the writer answers it
//! after the transaction holding them has committed, and drops it unanswered
//! when it gives up.

#[cfg(test)]
mod tests;

use super::bulk::BulkRow;
use super::location::Location;
use super::postgres::commit::PgWriter;
use super::rows::AlarmEventRow;
use super::sqlite::commit::SqliteWriter;
use super::{Result, StoreError};
use crate::model::{Reading, SensorMeta, TimestampMs, now_ms};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};

#[derive(Debug)]
pub enum WriteMsg {
    Readings(Vec<Reading>),
    Sensor(SensorMeta),
    Alarm(AlarmEventRow),
    /// Commit everything sent before this message, then answer.
    Flush(oneshot::Sender<StoreStats>),
    /// Answer once everything sent before this message is committed (without
    /// forcing a commit of its own; the writer commits as soon as its channel
    /// runs dry). Dropped unanswered when the writer gives up.
    AfterCommit(oneshot::Sender<()>),
}

/// What the writer has done. Every reading handed to it ends in exactly one of
/// `stored`, `duplicates` or `superseded` once committed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Readings committed, whatever their outcome (the sum of the next three).
    pub rows_committed: u64,
    /// New rows inserted into the history.
    pub stored: u64,
    /// Readings already in the history with the same sensor, time, value and
    /// quality (a re-delivery): nothing changed. This includes a batch
    /// retried after its server connection was lost while committing, when
    /// that commit had in fact gone through: its readings were not counted
    /// then (the outcome was unknown) and count here on the retry.
    pub duplicates: u64,
    /// Readings for a sensor and time already stored with another value or
    /// quality: the later one replaced it.
    pub superseded: u64,
    pub batches: u64,
    pub alarm_events: u64,
    pub retention_deleted: u64,
    pub commit_errors: u64,
    /// Why the last commit failed, while commits keep failing (cleared by
    /// the next successful commit).
    pub failing: Option<String>,
    /// The history is a server the writer has no connection to (not
    /// reachable at start, or the connection was lost): it keeps trying to
    /// connect, with backoff, while readings wait in its channel. Cleared
    /// once connected. `failing` says why.
    pub reconnecting: bool,
}

#[derive(Clone, Debug)]
pub struct WriterConfig {
    pub batch_rows: usize,
    pub max_latency: Duration,
    /// Messages (not rows) the channel holds before senders wait.
    pub channel_capacity: usize,
    /// Delete raw readings older than this.
    pub retention: Option<Duration>,
    /// fsync every commit (`PRAGMA synchronous = FULL` on the writer's
    /// connection): an acknowledged reading then survives a power cut, not
    /// only a killed process.
    pub sync_full: bool,
    /// After [`Writer::give_up_after_grace`] is called, how long commits may keep
    /// failing before the writer gives up (and drops what it holds, unacknowledged).
    pub shutdown_grace: Duration,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            batch_rows: 50_000,
            max_latency: Duration::from_millis(100),
            channel_capacity: 256,
            retention: None,
            sync_full: true,
            shutdown_grace: Duration::from_secs(5),
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

    /// Sends without waiting; gives the message back when the channel is
    /// full (the writer is slow, or its history down).
    pub fn try_send(&self, msg: WriteMsg) -> Result<Option<WriteMsg>> {
        match self.tx.try_send(msg) {
            Ok(()) => Ok(None),
            Err(mpsc::error::TrySendError::Full(msg)) => Ok(Some(msg)),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(StoreError::WriterGone),
        }
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
        self.stats.borrow().clone()
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
    give_up: Arc<tokio::sync::Notify>,
}

impl Writer {
    /// Opens the history at `location` (a file path, or a [`Location`]) for
    /// writing and starts the thread.
    pub fn spawn(
        location: impl Into<Location>,
        config: WriterConfig,
    ) -> Result<(Writer, WriterHandle)> {
        let (backend, not_yet) = match location.into() {
            Location::Sqlite(path) => (
                WriteBackend::Sqlite(SqliteWriter::open(&path, config.sync_full)?),
                None,
            ),
            Location::Postgres(pg) => {
                let (writer, not_yet) = PgWriter::start(&pg)?;
                (WriteBackend::Postgres(Box::new(writer)), not_yet)
            }
        };
        let initial = StoreStats {
            reconnecting: not_yet.is_some(),
            failing: not_yet.map(|e| e.to_string()),
            ..StoreStats::default()
        };
        Self::spawn_on(backend, config, initial)
    }

    fn spawn_on(
        backend: WriteBackend,
        config: WriterConfig,
        initial: StoreStats,
    ) -> Result<(Writer, WriterHandle)> {
        let (tx, rx) = mpsc::channel(config.channel_capacity.max(1));
        let (stats_tx, stats) = watch::channel(initial);
        let give_up = Arc::new(tokio::sync::Notify::new());
        let mut state = WriterState::new(backend, config, stats_tx);
        let signal = give_up.clone();
        let thread = std::thread::Builder::new()
            .name("history-writer".into())
            .spawn(move || state.run(rx, signal))
            .map_err(StoreError::Thread)?;
        Ok((Writer { thread, give_up }, WriterHandle { tx, stats }))
    }

    /// Shutdown has begun: from now on, commits that keep failing for longer
    /// than `shutdown_grace` make the writer give up instead of retrying
    /// forever. What it held is then neither stored nor acknowledged.
    pub fn give_up_after_grace(&self) {
        self.give_up.notify_one();
    }

    /// Waits for the thread to commit everything and stop. Call after every
    /// handle is dropped.
    pub fn join(self) -> Result<StoreStats> {
        self.thread.join().unwrap_or(Err(StoreError::WriterGone))
    }
}

/// What became of the readings of one transaction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub stored: u64,
    pub duplicates: u64,
    pub superseded: u64,
}

impl Outcome {
    pub fn total(&self) -> u64 {
        self.stored + self.duplicates + self.superseded
    }
}

/// The backend the thread commits to. Enum dispatch: the writer's loop is
/// synchronous (one blocking transaction per batch, then the acknowledgements),
/// and the set of backends is closed.
enum WriteBackend {
    Sqlite(SqliteWriter),
    Postgres(Box<PgWriter>),
}

impl WriteBackend {
    /// Writes `pending` in one transaction; `Ok` only once it has committed.
    fn write(&mut self, pending: &Pending) -> Result<Outcome> {
        match self {
            WriteBackend::Sqlite(w) => w.write(pending),
            WriteBackend::Postgres(w) => w.write(pending),
        }
    }

    fn delete_older_than(&self, cutoff: TimestampMs, per_sensor: u32) -> Result<u64> {
        match self {
            WriteBackend::Sqlite(w) => w.delete_older_than(cutoff, per_sensor),
            WriteBackend::Postgres(w) => w.delete_older_than(cutoff, per_sensor),
        }
    }

    fn describe(&self) -> String {
        match self {
            WriteBackend::Sqlite(w) => w.describe(),
            WriteBackend::Postgres(w) => w.describe(),
        }
    }

    /// Whether the backend can take a transaction now (a file always can).
    fn connected(&self) -> bool {
        match self {
            WriteBackend::Sqlite(_) => true,
            WriteBackend::Postgres(w) => w.connected(),
        }
    }

    /// Connects a server backend that has no connection.
    fn connect(&mut self) -> Result<()> {
        match self {
            WriteBackend::Sqlite(_) => Ok(()),
            WriteBackend::Postgres(w) => w.connect(),
        }
    }
}

struct WriterState {
    backend: WriteBackend,
    config: WriterConfig,
    stats: watch::Sender<StoreStats>,
    pending: Pending,
    waiting_flush: Vec<oneshot::Sender<StoreStats>>,
    waiting_commit: Vec<oneshot::Sender<()>>,
    last_retention: Instant,
    /// Set once shutdown has begun (see [`Writer::give_up_after_grace`]).
    shutting_down_since: Option<Instant>,
}

/// What the next transaction writes.
#[derive(Default)]
pub(crate) struct Pending {
    pub readings: Vec<Reading>,
    pub sensors: Vec<SensorMeta>,
    pub alarms: Vec<AlarmEventRow>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.readings.is_empty() && self.sensors.is_empty() && self.alarms.is_empty()
    }

    fn clear(&mut self) {
        self.readings.clear();
        self.sensors.clear();
        self.alarms.clear();
    }

    /// Upserts the batch's sensors and creates those of its readings not
    /// known yet, in tag order (so that concurrent batches on a database
    /// server take their sensor locks in one order), then keys every reading
    /// by its sensor, in the order received. `upsert` takes (tag, name, unit,
    /// group) and gives the key; `new_ids` learns the keys it gave, which the
    /// caller adds to `ids` once it has committed.
    pub(crate) fn keyed_rows<E>(
        &self,
        ids: &HashMap<String, i64>,
        new_ids: &mut HashMap<String, i64>,
        mut upsert: impl FnMut(&str, &str, &str, &str) -> std::result::Result<i64, E>,
    ) -> std::result::Result<Vec<BulkRow>, E> {
        for (tag, meta) in self.sensors_to_upsert(ids) {
            let id = match meta {
                Some(meta) => upsert(tag, &meta.name, &meta.unit, &meta.group)?,
                None => upsert(tag, tag, "", "")?,
            };
            new_ids.insert(tag.to_owned(), id);
        }
        let mut rows = Vec::with_capacity(self.readings.len());
        let mut last: Option<(&str, i64)> = None;
        for r in &self.readings {
            let tag = r.sensor.as_str();
            let sensor_id = match last {
                Some((last_tag, id)) if last_tag == tag => id,
                _ => {
                    // Every tag is in one of the two: unknown ones were just created.
                    let id = new_ids.get(tag).or_else(|| ids.get(tag)).copied();
                    let id = id.unwrap_or_default();
                    last = Some((tag, id));
                    id
                }
            };
            rows.push(BulkRow {
                sensor_id,
                ts: r.ts,
                value: r.value,
                quality: r.quality.code(),
            });
        }
        Ok(rows)
    }

    /// The batch's sensor metadata (the last of each tag) and the tags of its
    /// readings that `ids` lacks, by tag.
    fn sensors_to_upsert<'a>(
        &'a self,
        ids: &HashMap<String, i64>,
    ) -> BTreeMap<&'a str, Option<&'a SensorMeta>> {
        let mut upserts: BTreeMap<&str, Option<&SensorMeta>> = self
            .sensors
            .iter()
            .map(|meta| (meta.id.as_str(), Some(meta)))
            .collect();
        let mut last = None;
        for r in &self.readings {
            let tag = r.sensor.as_str();
            if last != Some(tag) && !ids.contains_key(tag) {
                upserts.entry(tag).or_insert(None);
            }
            last = Some(tag);
        }
        upserts
    }
}

/// How a failed commit ends.
enum Retry {
    Again(Duration),
    GiveUp,
}

impl WriterState {
    fn new(backend: WriteBackend, config: WriterConfig, stats: watch::Sender<StoreStats>) -> Self {
        WriterState {
            backend,
            config,
            stats,
            pending: Pending::default(),
            waiting_flush: Vec::new(),
            waiting_commit: Vec::new(),
            last_retention: Instant::now(),
            shutting_down_since: None,
        }
    }

    fn run(
        &mut self,
        rx: mpsc::Receiver<WriteMsg>,
        give_up: Arc<tokio::sync::Notify>,
    ) -> Result<StoreStats> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(StoreError::Thread)?;
        runtime.block_on(self.serve(rx, give_up))
    }

    async fn serve(
        &mut self,
        mut rx: mpsc::Receiver<WriteMsg>,
        give_up: Arc<tokio::sync::Notify>,
    ) -> Result<StoreStats> {
        // Not connected at start: connect (with retries) before anything else.
        let mut deadline = (!self.backend.connected()).then(tokio::time::Instant::now);
        loop {
            let msg = tokio::select! {
                msg = rx.recv() => msg,
                _ = sleep_until(deadline) => {
                    self.commit_with_retry(&give_up).await?;
                    deadline = None;
                    continue;
                }
                _ = give_up.notified(), if self.shutting_down_since.is_none() => {
                    self.shutting_down_since = Some(Instant::now());
                    continue;
                }
            };
            let Some(msg) = msg else { break };
            let must_commit = self.accept(msg);
            let someone_waits = !self.waiting_commit.is_empty() && rx.is_empty();
            if must_commit || someone_waits || self.pending.readings.len() >= self.config.batch_rows
            {
                self.commit_with_retry(&give_up).await?;
                deadline = None;
            } else if deadline.is_none() && !self.pending.is_empty() {
                deadline = Some(tokio::time::Instant::now() + self.config.max_latency);
            }
        }
        self.commit_with_retry(&give_up).await?;
        Ok(self.stats.borrow().clone())
    }

    /// Buffers a message; returns true when it asks for an immediate commit.
    fn accept(&mut self, msg: WriteMsg) -> bool {
        match msg {
            WriteMsg::Readings(mut readings) => {
                if self.pending.readings.is_empty() {
                    std::mem::swap(&mut self.pending.readings, &mut readings);
                } else {
                    self.pending.readings.append(&mut readings);
                }
                false
            }
            WriteMsg::Sensor(meta) => {
                self.pending.sensors.push(meta);
                false
            }
            WriteMsg::Alarm(row) => {
                self.pending.alarms.push(row);
                false
            }
            WriteMsg::Flush(reply) => {
                self.waiting_flush.push(reply);
                true
            }
            WriteMsg::AfterCommit(reply) => {
                self.waiting_commit.push(reply);
                false
            }
        }
    }

    /// Commits; on failure (disk full, locked file, a server unreachable or
    /// its connection lost) keeps everything pending,
    /// stops reading the channel so senders wait (and sources hold back their
    /// acknowledgements), and tries again: forever while running, for
    /// `shutdown_grace` once shutdown has begun.
    async fn commit_with_retry(&mut self, give_up: &tokio::sync::Notify) -> Result<()> {
        let mut delay = Duration::from_millis(100);
        let mut attempts = 0u32;
        loop {
            let error = match self.commit() {
                Ok(()) => break,
                Err(e) => e,
            };
            attempts += 1;
            let message = error.to_string();
            let reconnecting = !self.backend.connected();
            self.stats.send_modify(|s| {
                s.commit_errors += 1;
                s.failing = Some(message.clone());
                s.reconnecting = reconnecting;
            });
            match self.after_failure(delay) {
                // Only a connection was missing: nothing is lost by stopping.
                Retry::GiveUp if self.pending.is_empty() => return Ok(()),
                Retry::GiveUp => return Err(self.abandon(error)),
                Retry::Again(wait) => {
                    tracing::error!(
                        "history commit failed (attempt {attempts}, next in {} ms): {message}",
                        wait.as_millis()
                    );
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = give_up.notified(), if self.shutting_down_since.is_none() => {
                            self.shutting_down_since = Some(Instant::now());
                        }
                    }
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
        self.stats.send_modify(|s| {
            s.failing = None;
            s.reconnecting = false;
        });
        self.maybe_apply_retention();
        let stats = self.stats.borrow().clone();
        for reply in self.waiting_flush.drain(..) {
            let _ = reply.send(stats.clone());
        }
        for reply in self.waiting_commit.drain(..) {
            let _ = reply.send(());
        }
        Ok(())
    }

    fn after_failure(&self, delay: Duration) -> Retry {
        match self.shutting_down_since {
            None => Retry::Again(delay),
            Some(since) => {
                let left = self.config.shutdown_grace.saturating_sub(since.elapsed());
                if left.is_zero() {
                    Retry::GiveUp
                } else {
                    Retry::Again(delay.min(left))
                }
            }
        }
    }

    /// Drops what could not be written. Nothing of it was acknowledged: the
    /// waiting senders learn it from their dropped reply channels.
    fn abandon(&mut self, error: StoreError) -> StoreError {
        let readings = self.pending.readings.len();
        self.pending.clear();
        self.waiting_commit.clear();
        self.waiting_flush.clear();
        StoreError::Unwritable {
            history: self.backend.describe(),
            readings,
            reason: error.to_string(),
        }
    }

    fn commit(&mut self) -> Result<()> {
        self.backend.connect()?;
        if self.pending.is_empty() {
            return Ok(());
        }
        let outcome = self.backend.write(&self.pending)?;
        let alarms = self.pending.alarms.len() as u64;
        self.stats.send_modify(|s| {
            s.rows_committed += outcome.total();
            s.stored += outcome.stored;
            s.duplicates += outcome.duplicates;
            s.superseded += outcome.superseded;
            s.batches += 1;
            s.alarm_events += alarms;
        });
        self.pending.clear();
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
        match self.backend.delete_older_than(cutoff, 5_000) {
            Ok(n) => self.stats.send_modify(|s| s.retention_deleted += n),
            Err(e) => tracing::warn!(error = %e, "retention delete failed"),
        }
    }
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
