//! Replaying CSV history through the engine: the files are loaded into a
//! temporary history file (sorted, merged, seekable, never mixed into the
//! live history), then a [`Player`] plays them to an engine of their own.
//! `record` also imports them into the real history.

use super::import::{FileReport, ImportError, ImportOptions, import_file};
use crate::engine::{Engine, EngineConfig, EngineSummary, LiveState};
use crate::model::{SensorMeta, TimestampMs};
use crate::source::replay::{Player, ReplayCommand, ReplayError, ReplayPlan, ReplayStatus, Speed};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::{mpsc, watch};
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
    pub record: Option<PathBuf>,
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
    #[error("{0} has no readings to replay")]
    Empty(String),
    #[error("loading the replay was interrupted")]
    Interrupted,
}

/// A replay running on its own engine.
pub struct ReplaySession {
    pub snapshots: watch::Receiver<Arc<LiveState>>,
    pub commands: mpsc::Sender<ReplayCommand>,
    /// Operator actions on the replay's alarms.
    pub alarm_commands: mpsc::Sender<crate::alarm::AlarmCommand>,
    /// How each file loaded (bad rows skipped and counted, as for import).
    pub reports: Vec<FileReport>,
    engine: JoinHandle<EngineSummary>,
    player: JoinHandle<Result<ReplayStatus, ReplayError>>,
    cancel: CancellationToken,
    _store: tempfile::TempDir,
}

/// Loads files into a history file; blocking (run it off the async threads).
pub fn load(
    files: &[PathBuf],
    options: &ImportOptions,
    db: &Path,
) -> Result<Vec<FileReport>, ReplayLoadError> {
    let conn = crate::store::bulk::open(db)?;
    files
        .iter()
        .map(|file| Ok(import_file(&conn, db, file, options, &mut |_| {})?))
        .collect()
}

impl ReplaySession {
    pub async fn start(
        options: ReplayOptions,
        engine_config: &EngineConfig,
        sensors: Vec<SensorMeta>,
    ) -> Result<ReplaySession, ReplayLoadError> {
        let store = tempfile::Builder::new()
            .prefix("floorwatch-replay-")
            .tempdir()
            .map_err(ReplayLoadError::Temp)?;
        let db = store.path().join("replay.sqlite");
        let (files, import, record, db_for_load) = (
            options.files.clone(),
            options.import.clone(),
            options.record.clone(),
            db.clone(),
        );
        let reports = tokio::task::spawn_blocking(move || {
            if let Some(history) = &record {
                load(&files, &import, history)?;
            }
            load(&files, &import, &db_for_load)
        })
        .await
        .map_err(|_| ReplayLoadError::Interrupted)??;
        if reports.iter().all(|r| r.stored == 0) {
            return Err(ReplayLoadError::Empty(label(&options.files)));
        }
        let mut metas = sensors;
        for meta in crate::store::HistoryReader::open(&db)?.sensors()? {
            if !metas.iter().any(|m| m.id == meta.id) {
                metas.push(meta);
            }
        }
        let handles = Engine::spawn(engine_config, metas, None);
        let plan = ReplayPlan {
            db,
            label: label(&options.files),
            from: options.from,
            to: options.to,
            speed: options.speed,
            paused: options.paused,
        };
        let player = Player::new(&plan, handles.events.clone())?;
        let (commands, command_rx) = mpsc::channel(32);
        let cancel = CancellationToken::new();
        let player = tokio::spawn(player.run(command_rx, cancel.clone()));
        // The player holds the only event sender: the engine ends when it does.
        drop(handles.events);
        Ok(ReplaySession {
            snapshots: handles.snapshots,
            commands,
            alarm_commands: handles.commands,
            reports,
            engine: handles.task,
            player,
            cancel,
            _store: store,
        })
    }

    /// The temporary history file the replay plays from (for history views).
    pub fn db(&self) -> PathBuf {
        self._store.path().join("replay.sqlite")
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
    /// Returns where the replay was (`None` if the player task died).
    pub async fn stop(self) -> Result<Option<ReplayStatus>, ReplayError> {
        self.cancel.cancel();
        let status = match self.player.await {
            Ok(result) => Some(result?),
            Err(_) => None,
        };
        let _ = self.engine.await;
        Ok(status)
    }
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
