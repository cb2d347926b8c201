//! Replaying CSV history through the engine: the files are loaded into a
//! temporary history file (sorted, merged, seekable, never mixed into the
//! live history), then a [`Player`] plays them to an engine of their own,
//! which journals the replay's alarms into that same file. Loading reports
//! its progress to the engine ([`SourceEvent::ReplayLoading`]) so the
//! console can show it. `record` also imports the files into the real history.

use crate::alarm::AlarmSetup;
use crate::csvio::BadRow;
use crate::csvio::import::{FileReport, ImportError, ImportOptions, Progress, import_file};
use crate::engine::{Engine, EngineConfig, EngineSummary, LiveState};
use crate::model::{SensorMeta, TimestampMs};
use crate::source::replay::{
    LoadProgress, Player, ReplayCommand, ReplayError, ReplayPlan, ReplayStatus, Speed,
};
use crate::source::{Discovery, SourceEvent};
use crate::store::writer::WriterConfig;
use crate::store::{Location, Writer};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

#[derive(Clone, Debug)]
pub struct ReplayOptions {
    pub files: Vec<PathBuf>,
    pub import: ImportOptions,
    pub from: Option<TimestampMs>,
    pub to: Option<TimestampMs>,
    pub speed: Speed,
    /// Start paused (the UI then steps or resumes).
    pub paused: bool,
    /// Also import the files into this history file.
    pub record: Option<Location>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayLoadError {
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Replay(#[from] ReplayError),
    #[error("creating a temporary replay store: {0}")]
    Temp(#[source] std::io::Error),
    /// No readings in the files; the first bad row, if any, says why.
    #[error("{files} has no readings to replay{}", bad_row_note(.first_bad))]
    Empty {
        files: String,
        first_bad: Option<BadRow>,
    },
    #[error("loading the replay was interrupted")]
    Interrupted,
}

fn bad_row_note(row: &Option<BadRow>) -> String {
    row.as_ref()
        .map(|r| format!(" (first bad row: {r})"))
        .unwrap_or_default()
}

/// A replay running on its own engine. Its store (a temporary history file)
/// holds the loaded readings and the replay's own alarm journal; the live
/// history is never touched (except by `record`, which imports the files).
pub struct ReplaySession {
    pub snapshots: watch::Receiver<Arc<LiveState>>,
    pub commands: mpsc::Sender<ReplayCommand>,
    /// Operator actions on the replay's alarms.
    pub alarm_commands: mpsc::Sender<crate::alarm::AlarmCommand>,
    /// How each file loaded (bad rows skipped and counted, as for import);
    /// empty until [`ReplaySession::loaded`] has returned.
    pub reports: Vec<FileReport>,
    /// The outcome of loading, until [`ReplaySession::loaded`] collects it.
    loading: Option<oneshot::Receiver<Result<Vec<FileReport>, ReplayLoadError>>>,
    running: Running,
}

/// The tasks behind a session, stopped together.
struct Running {
    task: JoinHandle<Result<Option<ReplayStatus>, ReplayError>>,
    engine: JoinHandle<EngineSummary>,
    journal: Writer,
    cancel: CancellationToken,
    /// Deleted when the last holder (session or loading task) lets go.
    store: Arc<tempfile::TempDir>,
}

/// Loads files into a history file; blocking (run it off the async threads).
pub fn load(
    files: &[PathBuf],
    options: &ImportOptions,
    db: &Path,
) -> Result<Vec<FileReport>, ReplayLoadError> {
    let mut progress = Loading::new(files, 1, None);
    load_reporting(files, options, db.to_path_buf().into(), &mut progress)
}

/// Counts bytes and rows over every file and pass, and sends the progress
/// to the engine at most every [`PROGRESS_EVERY`].
struct Loading<'a> {
    total_bytes: u64,
    bytes_done: u64,
    rows_done: u64,
    last_sent: Option<Instant>,
    events: Option<&'a mpsc::Sender<SourceEvent>>,
    /// Set when the replay is closed: loading stops at the next chunk.
    stop: Option<&'a CancellationToken>,
}

const PROGRESS_EVERY: Duration = Duration::from_millis(100);

impl<'a> Loading<'a> {
    fn new(files: &[PathBuf], passes: u64, events: Option<&'a mpsc::Sender<SourceEvent>>) -> Self {
        let size: u64 = files
            .iter()
            .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
            .sum();
        Loading {
            total_bytes: size * passes,
            bytes_done: 0,
            rows_done: 0,
            last_sent: None,
            events,
            stop: None,
        }
    }

    /// Sends the progress (at most every [`PROGRESS_EVERY`] unless `force`);
    /// breaks once the replay has been closed.
    fn report(&mut self, file: &Path, p: Progress, force: bool) -> ControlFlow<()> {
        if self.stop.is_some_and(CancellationToken::is_cancelled) {
            return ControlFlow::Break(());
        }
        let Some(events) = self.events else {
            return ControlFlow::Continue(());
        };
        if !force && self.last_sent.is_some_and(|t| t.elapsed() < PROGRESS_EVERY) {
            return ControlFlow::Continue(());
        }
        self.last_sent = Some(Instant::now());
        let name = file.file_name().map_or_else(
            || file.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        // A full channel makes the loader wait: the engine sets the pace.
        let _ = events.blocking_send(SourceEvent::ReplayLoading(LoadProgress {
            file: Arc::from(name),
            bytes: self.bytes_done + p.bytes,
            total_bytes: self.total_bytes,
            rows: self.rows_done + p.rows,
        }));
        ControlFlow::Continue(())
    }

    fn file_done(&mut self, file: &Path, report: &FileReport) {
        let bytes = std::fs::metadata(file).map_or(0, |m| m.len());
        let rows = report.stats.rows;
        let _ = self.report(file, Progress { bytes, rows }, true);
        self.bytes_done += bytes;
        self.rows_done += rows;
    }
}

fn load_reporting(
    files: &[PathBuf],
    options: &ImportOptions,
    db: Location,
    loading: &mut Loading,
) -> Result<Vec<FileReport>, ReplayLoadError> {
    let store = crate::store::bulk::open(db)?;
    let mut reports = Vec::with_capacity(files.len());
    for file in files {
        let _ = loading.report(file, Progress::default(), true);
        let report = import_file(&store, file, options, &mut |p| {
            loading.report(file, p, false)
        })
        .map_err(|e| match e {
            ImportError::Stopped { .. } => ReplayLoadError::Interrupted,
            other => other.into(),
        })?;
        loading.file_done(file, &report);
        reports.push(report);
    }
    Ok(reports)
}

/// Loads the files (into `record` too, when set), reporting progress to the engine.
fn load_for_replay(
    options: &ReplayOptions,
    db: &Path,
    events: &mpsc::Sender<SourceEvent>,
    stop: &CancellationToken,
) -> Result<Vec<FileReport>, ReplayLoadError> {
    let passes = if options.record.is_some() { 2 } else { 1 };
    let mut loading = Loading::new(&options.files, passes, Some(events));
    loading.stop = Some(stop);
    if let Some(history) = &options.record {
        load_reporting(
            &options.files,
            &options.import,
            history.clone(),
            &mut loading,
        )?;
    }
    let reports = load_reporting(
        &options.files,
        &options.import,
        db.to_path_buf().into(),
        &mut loading,
    )?;
    if reports.iter().all(|r| r.written.total() == 0) {
        let first_bad = reports.iter().find_map(|r| r.examples.first().cloned());
        return Err(ReplayLoadError::Empty {
            files: label(&options.files),
            first_bad,
        });
    }
    Ok(reports)
}

impl ReplaySession {
    /// Starts a replay and waits until its files are loaded and it plays.
    pub async fn start(
        options: ReplayOptions,
        engine_config: &EngineConfig,
        sensors: Vec<SensorMeta>,
    ) -> Result<ReplaySession, ReplayLoadError> {
        let mut session = Self::spawn(options, engine_config, sensors)?;
        match session.loaded().await {
            Ok(_) => Ok(session),
            Err(e) => {
                let _ = session.stop().await;
                Err(e)
            }
        }
    }

    /// [`ReplaySession::start`], telling `on_progress` how the loading goes
    /// (for a progress bar before the console opens).
    pub async fn start_reporting(
        options: ReplayOptions,
        engine_config: &EngineConfig,
        sensors: Vec<SensorMeta>,
        mut on_progress: impl FnMut(&LoadProgress),
    ) -> Result<ReplaySession, ReplayLoadError> {
        let mut session = Self::spawn(options, engine_config, sensors)?;
        let mut snapshots = session.snapshots.clone();
        let mut watching = true;
        let outcome = loop {
            tokio::select! {
                outcome = session.loaded() => break outcome.map(|_| ()),
                changed = snapshots.changed(), if watching => {
                    watching = changed.is_ok();
                    if let Some(progress) = &snapshots.borrow_and_update().replay_loading {
                        on_progress(progress);
                    }
                }
            }
        };
        match outcome {
            Ok(()) => Ok(session),
            Err(e) => {
                let _ = session.stop().await;
                Err(e)
            }
        }
    }

    /// Starts a replay without waiting: its engine runs at once and shows the
    /// loading progress ([`LiveState::replay_loading`]); playback starts when
    /// the files are loaded. [`ReplaySession::loaded`] tells how loading went.
    pub fn spawn(
        options: ReplayOptions,
        engine_config: &EngineConfig,
        sensors: Vec<SensorMeta>,
    ) -> Result<ReplaySession, ReplayLoadError> {
        let store = tempfile::Builder::new()
            .prefix("floorwatch-replay-")
            .tempdir()
            .map_err(ReplayLoadError::Temp)?;
        let db = store.path().join("replay.sqlite");
        // The replay's own alarm journal, in its own store.
        let (journal, journal_handle) = Writer::spawn(&db, WriterConfig::default())?;
        let (engine, snapshots) = Engine::new(engine_config, sensors, Some(journal_handle));
        let handles = Engine::start(engine.journal_only(), snapshots, engine_config);
        let (commands, command_rx) = mpsc::channel(32);
        let (loaded_tx, loading) = oneshot::channel();
        let cancel = CancellationToken::new();
        let store = Arc::new(store);
        let task = tokio::spawn(load_and_play(
            options,
            engine_config.alarms.clone(),
            Arc::clone(&store),
            handles.events,
            command_rx,
            loaded_tx,
            cancel.clone(),
        ));
        Ok(ReplaySession {
            snapshots: handles.snapshots,
            commands,
            alarm_commands: handles.commands,
            reports: Vec::new(),
            loading: Some(loading),
            running: Running {
                task,
                engine: handles.task,
                journal,
                cancel,
                store,
            },
        })
    }

    /// Waits until the files are loaded: their reports, or why they could not
    /// be (`file:line:col` for a bad file). Cancel-safe; after an error the
    /// session can only be stopped.
    pub async fn loaded(&mut self) -> Result<&[FileReport], ReplayLoadError> {
        if let Some(loading) = self.loading.as_mut() {
            let outcome = loading.await.unwrap_or(Err(ReplayLoadError::Interrupted));
            self.loading = None;
            self.reports = outcome?;
        }
        if self.reports.is_empty() {
            return Err(ReplayLoadError::Interrupted);
        }
        Ok(&self.reports)
    }

    /// The temporary history file the replay plays from and journals its
    /// alarms to (for history views and exports).
    pub fn db(&self) -> PathBuf {
        self.running.store.path().join("replay.sqlite")
    }

    /// Waits until the replay has played everything (or the player stopped).
    pub async fn finished(&mut self) -> Option<ReplayStatus> {
        let state = self
            .snapshots
            .wait_for(|s| s.replay.as_ref().is_some_and(|r| r.finished))
            .await
            .ok()?;
        state.replay.clone()
    }

    /// Stops the player and the engine; the temporary store is deleted.
    /// Returns where the replay was (`None` if it never played). A file still
    /// loading stops at its next chunk (tens of milliseconds) in the
    /// background; this never waits for it.
    pub async fn stop(self) -> Result<Option<ReplayStatus>, ReplayError> {
        self.running.cancel.cancel();
        if self.loading.is_some() && !self.running.task.is_finished() {
            tokio::spawn(self.running.finish());
            return Ok(None);
        }
        self.running.finish().await
    }
}

impl Running {
    async fn finish(self) -> Result<Option<ReplayStatus>, ReplayError> {
        let status = self.task.await.unwrap_or(Ok(None));
        let _ = self.engine.await;
        let journal = self.journal;
        let _ = tokio::task::spawn_blocking(move || journal.join()).await;
        drop(self.store);
        status
    }
}

/// The session's task: load, then play until cancelled. The loading outcome
/// goes to `loaded`; the events sender (the engine's only one) is dropped at
/// the end, which ends the engine.
async fn load_and_play(
    options: ReplayOptions,
    alarms: AlarmSetup,
    store: Arc<tempfile::TempDir>,
    events: mpsc::Sender<SourceEvent>,
    commands: mpsc::Receiver<ReplayCommand>,
    loaded: oneshot::Sender<Result<Vec<FileReport>, ReplayLoadError>>,
    cancel: CancellationToken,
) -> Result<Option<ReplayStatus>, ReplayError> {
    let db = store.path().join("replay.sqlite");
    let player = match prepare(&options, &db, &events, &cancel).await {
        Ok((player, reports)) => {
            let _ = loaded.send(Ok(reports));
            player.seeding(alarms)
        }
        Err(e) => {
            let _ = loaded.send(Err(e));
            return Ok(None);
        }
    };
    if cancel.is_cancelled() {
        return Ok(None);
    }
    player.run(commands, cancel).await.map(Some)
}

/// Loads the files on a blocking thread, then tells the engine about the
/// sensors they hold and makes the player.
async fn prepare(
    options: &ReplayOptions,
    db: &Path,
    events: &mpsc::Sender<SourceEvent>,
    stop: &CancellationToken,
) -> Result<(Player, Vec<FileReport>), ReplayLoadError> {
    let (options_for_load, db_for_load, progress, stop) =
        (options.clone(), db.to_owned(), events.clone(), stop.clone());
    let reports = tokio::task::spawn_blocking(move || {
        load_for_replay(&options_for_load, &db_for_load, &progress, &stop)
    })
    .await
    .map_err(|_| ReplayLoadError::Interrupted)??;
    for meta in crate::store::HistoryReader::open(db)?.sensors()? {
        if events
            .send(SourceEvent::Discovered(Discovery::meta(meta)))
            .await
            .is_err()
        {
            return Err(ReplayLoadError::Interrupted);
        }
    }
    let plan = ReplayPlan {
        db: db.to_owned(),
        label: label(&options.files),
        from: options.from,
        to: options.to,
        speed: options.speed,
        paused: options.paused,
    };
    Ok((Player::new(&plan, events.clone())?, reports))
}

/// `a.csv` or `a.csv +2`.
fn label(files: &[PathBuf]) -> String {
    let first = files
        .first()
        .and_then(|f| f.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match files.len() {
        0 | 1 => first,
        n => format!("{first} +{}", n - 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress_of(rx: &mut mpsc::Receiver<SourceEvent>) -> Vec<LoadProgress> {
        let mut seen = Vec::new();
        while let Ok(event) = rx.try_recv() {
            match event {
                SourceEvent::ReplayLoading(p) => seen.push(p),
                other => panic!("unexpected event {other:?}"),
            }
        }
        seen
    }

    #[test]
    fn closing_the_replay_stops_loading_at_the_next_chunk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.csv");
        let mut text = String::from("timestamp,sensor,value\n");
        for i in 0..300_000 {
            text.push_str(&format!("{},t,{i}\n", 1_759_399_200 + i));
        }
        std::fs::write(&path, text).unwrap();
        let options = ReplayOptions {
            files: vec![path],
            import: ImportOptions::default(),
            from: None,
            to: None,
            speed: Speed::Max,
            paused: true,
            record: None,
        };
        let (events, _rx) = mpsc::channel(1024);
        let closed = CancellationToken::new();
        closed.cancel();
        let db = dir.path().join("replay.sqlite");
        let outcome = load_for_replay(&options, &db, &events, &closed);
        assert!(
            matches!(outcome, Err(ReplayLoadError::Interrupted)),
            "{outcome:?}"
        );
        let stored = crate::store::HistoryReader::open(&db)
            .unwrap()
            .total_readings()
            .unwrap();
        assert!(stored < 300_000, "stopped early, {stored} readings kept");
    }

    #[test]
    fn loading_reports_progress_over_every_file_and_pass() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, rows: i64| {
            let path = dir.path().join(name);
            let mut text = String::from("timestamp,sensor,value\n");
            for i in 0..rows {
                text.push_str(&format!("{},t,{i}\n", 1_759_399_200 + i));
            }
            std::fs::write(&path, text).unwrap();
            path
        };
        let files = vec![write("a.csv", 20_000), write("b.csv", 100)];
        let size: u64 = files
            .iter()
            .map(|f| std::fs::metadata(f).unwrap().len())
            .sum();
        let options = ReplayOptions {
            files: files.clone(),
            import: ImportOptions::default(),
            from: None,
            to: None,
            speed: Speed::Max,
            paused: true,
            record: Some(dir.path().join("history.sqlite").into()),
        };
        let (events, mut rx) = mpsc::channel(1024);
        let reports = load_for_replay(
            &options,
            &dir.path().join("replay.sqlite"),
            &events,
            &CancellationToken::new(),
        )
        .unwrap();
        assert_eq!(
            reports.iter().map(|r| r.written.total()).sum::<u64>(),
            20_100
        );
        let seen = progress_of(&mut rx);
        // Each file of each pass starts at its own name and ends complete.
        let marks: Vec<(&str, u64, u64)> = seen
            .iter()
            .filter(|p| {
                p.bytes == 0
                    || p.rows == 0
                    || p.rows % 20_100 == 0
                    || p.rows % 20_100 == 20_000
                    || p.rows % 20_100 == 100
            })
            .map(|p| (&*p.file, p.bytes, p.rows))
            .collect();
        // The end of a file may be reported twice (its last timed report and
        // the final one) when the report interval has passed; a repeat says nothing new.
        let mut marks = marks;
        marks.dedup();
        let a = std::fs::metadata(&files[0]).unwrap().len();
        assert_eq!(
            marks,
            [
                ("a.csv", 0, 0),
                ("a.csv", a, 20_000),
                ("b.csv", a, 20_000),
                ("b.csv", size, 20_100),
                ("a.csv", size, 20_100),
                ("a.csv", size + a, 40_100),
                ("b.csv", size + a, 40_100),
                ("b.csv", 2 * size, 40_200),
            ]
        );
        assert!(seen.iter().all(|p| p.total_bytes == 2 * size));
        assert!(
            seen.windows(2)
                .all(|w| w[0].bytes <= w[1].bytes && w[0].rows <= w[1].rows)
        );
        assert_eq!(
            seen.last().unwrap().line(),
            "loading b.csv 100% (40.2 k rows)"
        );
    }
}
