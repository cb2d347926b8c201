//! History for the detail view, read from SQLite on a worker thread so the
//! update loop never blocks on the disk and drawing never does I/O. Each
//! request names the history file to read: the live history, or the store of
//! the replay on screen.

use crate::model::{SensorId, TimestampMs};
use crate::store::StoreError;
use crate::store::{Aggregate, HistoryReader, Location};
use tokio::sync::mpsc;

/// How many alarm journal entries the detail view shows.
const RECENT_EVENTS: usize = 20;

#[derive(Clone, Debug, PartialEq)]
pub struct DetailQuery {
    pub request: u64,
    pub sensor: SensorId,
    pub from: TimestampMs,
    pub to: TimestampMs,
    /// About one bucket per chart column.
    pub buckets: usize,
}

/// Min/max/avg/last over the whole window (good-quality readings only).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WindowStats {
    pub count: u64,
    pub min: f64,
    pub max: f64,
    pub avg: f64,
    pub last: f64,
    pub last_ts: TimestampMs,
}

/// One row of the sensor's alarm journal.
#[derive(Clone, Debug, PartialEq)]
pub struct AlarmEvent {
    pub ts: TimestampMs,
    pub condition: String,
    pub event: String,
    pub state: String,
    pub value: Option<f64>,
    pub priority: String,
    pub operator: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DetailData {
    pub sensor: SensorId,
    pub from: TimestampMs,
    pub to: TimestampMs,
    pub buckets: Vec<Aggregate>,
    pub stats: Option<WindowStats>,
    /// Newest first.
    pub events: Vec<AlarmEvent>,
}

pub fn stats(buckets: &[Aggregate]) -> Option<WindowStats> {
    let first = buckets.first()?;
    let last = buckets.last()?;
    let count: u64 = buckets.iter().map(|b| b.count).sum();
    let sum: f64 = buckets.iter().map(|b| b.avg * b.count as f64).sum();
    Some(WindowStats {
        count,
        min: buckets.iter().map(|b| b.min).fold(first.min, f64::min),
        max: buckets.iter().map(|b| b.max).fold(first.max, f64::max),
        avg: sum / count.max(1) as f64,
        last: last.last,
        last_ts: last.last_ts,
    })
}

/// Why the detail view's history could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HistoryLoadError {
    #[error("cannot open history {history}")]
    Open {
        history: Location,
        #[source]
        source: StoreError,
    },
    #[error("{0}")]
    Buckets(#[source] StoreError),
    #[error("{0}")]
    Events(#[source] StoreError),
}

pub fn load(reader: &HistoryReader, query: &DetailQuery) -> Result<DetailData, HistoryLoadError> {
    let span = (query.to - query.from).max(1);
    let every = (span / query.buckets.max(1) as i64).max(1);
    // The window's end is included: a replay's clock stands on its last reading.
    let buckets = reader
        .aggregate_every(query.sensor.as_str(), query.from, query.to + 1, every)
        .map_err(HistoryLoadError::Buckets)?;
    let events =
        recent_events(reader, query.sensor.as_str(), query.to).map_err(HistoryLoadError::Events)?;
    Ok(DetailData {
        sensor: query.sensor.clone(),
        from: query.from,
        to: query.to,
        stats: stats(&buckets),
        buckets,
        events,
    })
}

/// The sensor's journal up to the end of the window, newest first. A replay
/// played over the same time again journals the same transitions again:
/// identical rows show once.
fn recent_events(
    reader: &HistoryReader,
    sensor: &str,
    to: TimestampMs,
) -> Result<Vec<AlarmEvent>, StoreError> {
    let rows = reader.recent_distinct_events(sensor, to, RECENT_EVENTS)?;
    Ok(rows
        .into_iter()
        .map(|r| AlarmEvent {
            ts: r.ts,
            condition: r.condition,
            event: r.event,
            state: r.state,
            value: r.value,
            priority: r.priority,
            operator: r.operator,
        })
        .collect())
}

pub type HistoryAnswer = (u64, Result<DetailData, HistoryLoadError>);

/// A query and the history file it reads.
pub type HistoryRequest = (Location, DetailQuery);

/// Keeps the reader of the file last read open.
#[derive(Default)]
struct Readers {
    open: Option<(Location, HistoryReader)>,
}

impl Readers {
    fn answer(
        &mut self,
        db: &Location,
        query: &DetailQuery,
    ) -> Result<DetailData, HistoryLoadError> {
        load(self.reader_of(db)?, query)
    }

    /// The reader of `db`, opened unless it is the one open.
    fn reader_of(&mut self, db: &Location) -> Result<&HistoryReader, HistoryLoadError> {
        let open = match self.open.take() {
            Some((path, reader)) if &path == db => (path, reader),
            _ => {
                let reader = HistoryReader::open(db).map_err(|source| HistoryLoadError::Open {
                    history: db.clone(),
                    source,
                })?;
                (db.clone(), reader)
            }
        };
        Ok(&self.open.insert(open).1)
    }
}

/// Starts the history worker. It stops when the request sender is dropped.
pub fn spawn() -> (
    mpsc::UnboundedSender<HistoryRequest>,
    mpsc::UnboundedReceiver<HistoryAnswer>,
) {
    let (query_tx, mut query_rx) = mpsc::unbounded_channel::<HistoryRequest>();
    let (answer_tx, answer_rx) = mpsc::unbounded_channel();
    std::thread::Builder::new()
        .name("ui-history".into())
        .spawn(move || {
            let mut readers = Readers::default();
            while let Some(mut request) = query_rx.blocking_recv() {
                // Only the newest request matters (the operator zooms faster than we read).
                while let Ok(newer) = query_rx.try_recv() {
                    request = newer;
                }
                let (db, query) = &request;
                let answer = readers.answer(db, query);
                if answer_tx.send((query.request, answer)).is_err() {
                    break;
                }
            }
        })
        .map_err(|e| tracing::error!("cannot start the history reader thread: {e}"))
        .ok();
    (query_tx, answer_rx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Reading;
    use crate::store::{WriteMsg, Writer, writer::WriterConfig};

    #[test]
    fn detail_data_from_a_real_history_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        let (writer, handle) = Writer::spawn(&path, WriterConfig::default()).unwrap();
        // 0..60 s, one reading per second: values 0..59; avg 29.5.
        let readings = (0..60)
            .map(|i| Reading::good("t", i * 1000, i as f64))
            .collect();
        handle.blocking_send(WriteMsg::Readings(readings)).unwrap();
        drop(handle);
        writer.join().unwrap();
        journal(
            &path,
            &[
                (5000, "t", "raised", "unack", 36.0, ""),
                (9000, "t", "ack", "acked", 36.5, "ana"),
                (9500, "other", "raised", "unack", 1.0, ""),
            ],
        );
        let reader = HistoryReader::open(&path).unwrap();
        let query = DetailQuery {
            request: 1,
            sensor: "t".into(),
            from: 0,
            to: 60_000,
            buckets: 6,
        };
        let data = load(&reader, &query).unwrap();
        assert_eq!(data.buckets.len(), 6);
        let stats = data.stats.unwrap();
        assert_eq!(
            (stats.count, stats.min, stats.max, stats.last),
            (60, 0.0, 59.0, 59.0)
        );
        assert!((stats.avg - 29.5).abs() < 1e-9);
        assert_eq!(stats.last_ts, 59_000);
        let events: Vec<_> = data
            .events
            .iter()
            .map(|e| (e.ts, e.event.as_str()))
            .collect();
        assert_eq!(events, [(9000, "ack"), (5000, "raised")]);
        assert_eq!(data.events[0].operator, "ana");
    }

    /// Appends rows of condition `h`, priority `high` to the journal:
    /// (ts, sensor, event, state, value, operator).
    fn journal(path: &std::path::Path, rows: &[(i64, &str, &str, &str, f64, &str)]) {
        let (writer, handle) = Writer::spawn(path, WriterConfig::default()).unwrap();
        for &(ts, sensor, event, state, value, operator) in rows {
            let row = crate::store::AlarmEventRow {
                ts,
                sensor: sensor.into(),
                condition: "h".into(),
                event: event.into(),
                state: state.into(),
                value: Some(value),
                priority: "high".into(),
                operator: operator.into(),
                comment: String::new(),
                ..Default::default()
            };
            handle.blocking_send(WriteMsg::Alarm(row)).unwrap();
        }
        drop(handle);
        writer.join().unwrap();
    }

    /// A history file with readings `0..n` of `t`, one a second, at `value`.
    fn history_file(dir: &std::path::Path, name: &str, value: f64) -> std::path::PathBuf {
        let path = dir.join(name);
        let (writer, handle) = Writer::spawn(&path, WriterConfig::default()).unwrap();
        let readings = (0..10)
            .map(|i| Reading::good("t", i * 1000, value))
            .collect();
        handle.blocking_send(WriteMsg::Readings(readings)).unwrap();
        drop(handle);
        writer.join().unwrap();
        path
    }

    #[test]
    fn each_request_reads_the_history_file_it_names() {
        let dir = tempfile::tempdir().unwrap();
        let live = history_file(dir.path(), "live.sqlite", 5.0);
        let replay = history_file(dir.path(), "replay.sqlite", 42.0);
        let (requests, mut answers) = spawn();
        let query = |request| DetailQuery {
            request,
            sensor: "t".into(),
            from: 0,
            to: 10_000,
            buckets: 10,
        };
        let mut max_of = |db: &std::path::PathBuf, request| {
            requests.send((db.into(), query(request))).unwrap();
            let (id, answer) = answers.blocking_recv().unwrap();
            assert_eq!(id, request);
            answer.unwrap().stats.unwrap().max
        };
        assert_eq!(max_of(&live, 1), 5.0);
        assert_eq!(max_of(&replay, 2), 42.0);
        assert_eq!(max_of(&live, 3), 5.0);
        // A file where a directory should be: the file cannot be opened.
        let blocker = dir.path().join("blocker");
        std::fs::write(&blocker, "").unwrap();
        requests
            .send((blocker.join("h.sqlite").into(), query(4)))
            .unwrap();
        let (_, answer) = answers.blocking_recv().unwrap();
        let error = answer.unwrap_err();
        assert!(matches!(error, HistoryLoadError::Open { .. }), "{error:?}");
        assert!(error.to_string().contains("blocker"), "{error}");
    }

    #[test]
    fn events_up_to_the_window_end_and_a_replayed_transition_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = history_file(dir.path(), "replay.sqlite", 1.0);
        // Played twice over the same time (seek back), then once more further on.
        journal(
            &path,
            &[
                (5000, "t", "raised", "unack", 36.0, ""),
                (5000, "t", "raised", "unack", 36.0, ""),
                (7000, "t", "ack", "acked", 36.0, "ana"),
                (20000, "t", "cleared", "normal", 30.0, ""),
            ],
        );
        let reader = HistoryReader::open(&path).unwrap();
        let query = DetailQuery {
            request: 1,
            sensor: "t".into(),
            from: 0,
            to: 10_000,
            buckets: 10,
        };
        let events: Vec<_> = load(&reader, &query)
            .unwrap()
            .events
            .iter()
            .map(|e| (e.ts, e.event.clone()))
            .collect();
        assert_eq!(events, [(7000, "ack".into()), (5000, "raised".into())]);
    }
}
