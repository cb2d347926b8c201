//! Wiring: history writer + engine + sources, run until quit or a signal,
//! then shut down in order so every received reading is committed.

pub mod replay;

use crate::config::Config;
use crate::engine::{Engine, EngineConfig, EngineSummary, LiveState};
use crate::source::{self, SourceEvent};
use crate::store::postgres::listen::{self, ListenStatus};
use crate::store::writer::WriterConfig;
use crate::store::{Location, StoreStats, Writer};
use anyhow::{Context, Result};
use std::sync::Arc;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// A running console without its screen: writer, engine and sources.
pub struct Running {
    pub snapshots: watch::Receiver<Arc<LiveState>>,
    pub events: mpsc::Sender<SourceEvent>,
    pub commands: mpsc::Sender<crate::alarm::AlarmCommand>,
    pub store: crate::store::WriterHandle,
    /// This console's id: the origin of its alarm journal rows.
    pub console: String,
    /// With a PostgreSQL history: how the connection following the shared
    /// alarm journal is doing.
    pub shared_journal: Option<watch::Receiver<ListenStatus>>,
    cancel: CancellationToken,
    sources: JoinSet<()>,
    engine: tokio::task::JoinHandle<EngineSummary>,
    writer: Writer,
}

/// Why a shutdown did not end cleanly: what was received may not all be in
/// the history file.
#[derive(Debug, thiserror::Error)]
pub enum ShutdownError {
    #[error("engine task failed")]
    Engine(#[source] tokio::task::JoinError),
    #[error("history writer thread failed")]
    WriterThread(#[source] tokio::task::JoinError),
    #[error("committing history")]
    Commit(#[source] crate::store::StoreError),
}

/// What was received and stored, reported at shutdown.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub engine: EngineSummary,
    pub store: StoreStats,
}

/// The sensors the history knows and their readings of the live window, so a
/// restarted console shows what it showed (as not live) instead of empty tiles.
fn restore_dashboard(engine: &mut EngineConfig, db: &Location) -> crate::store::Result<()> {
    let reader = crate::store::HistoryReader::open(db)?;
    let since = crate::model::now_ms() - engine.live_window_ms;
    engine.restored_readings = reader.recent(since)?;
    // Sensors the config does not name (discovered from topics or templates)
    // come back only if they reported within the window: a sensor removed
    // from the config long ago does not haunt the dashboard.
    let active: std::collections::HashSet<&str> = engine
        .restored_readings
        .iter()
        .filter(|r| r.ts >= since)
        .map(|r| r.sensor.as_str())
        .collect();
    engine.restored_sensors = reader
        .sensors()?
        .into_iter()
        .filter(|m| active.contains(m.id.as_str()))
        .collect();
    Ok(())
}

/// The alarm journal, the alarms' recent values and the dashboard's live
/// window, from the history.
fn restore_from_history(engine_config: &mut EngineConfig, db: &Location) -> Result<()> {
    engine_config.restored_alarms = crate::alarm::journal::restore(db)
        .with_context(|| format!("reading the alarm journal in {db}"))?;
    engine_config.alarm_history =
        crate::alarm::seed::load(db, &engine_config.alarms, crate::model::now_ms())
            .with_context(|| format!("reading recent values for alarms in {db}"))?;
    restore_dashboard(engine_config, db).with_context(|| format!("reading recent values in {db}"))
}

impl Running {
    pub async fn start(config: &Config, db: impl Into<Location>) -> Result<Running> {
        let db = &db.into();
        let writer_config = WriterConfig {
            retention: config.history.retention.map(|d| d.0),
            sync_full: config.history.sync == crate::config::HistorySync::Full,
            ..Default::default()
        };
        let (writer, store) =
            Writer::spawn(db, writer_config).with_context(|| format!("opening history {db}"))?;
        let mut engine_config = EngineConfig::from_config(config);
        engine_config.console = crate::source::alarm_journal::console_id();
        let journal_start = match &store.stats().failing {
            Some(why) if store.stats().reconnecting => {
                tracing::warn!(
                    "history {db} not reachable ({why}); starting with live values only, \
                     without restored alarms or recent values, and without following other \
                     consoles' alarm actions; readings wait until it answers"
                );
                None
            }
            _ => {
                // Read before the restore: actions journaled after it are followed.
                let start = match db {
                    Location::Postgres(pg) => Some(
                        listen::last_event_id(pg)
                            .with_context(|| format!("reading the alarm journal in {db}"))?,
                    ),
                    Location::Sqlite(_) => None,
                };
                restore_from_history(&mut engine_config, db)?;
                start
            }
        };
        let shared = crate::source::mqtt::alarm_topic::SharedTopic::from_config(config)
            .map_err(|e| crate::error::BadInput(format!("[alarms] alarm_topic: {e}")))?;
        let shared = match (shared, journal_start) {
            (Some(topic), Some(_)) => {
                tracing::info!(
                    alarm_topic = %topic.prefix,
                    "alarm state is shared through the PostgreSQL history {db}; [alarms] alarm_topic is not used"
                );
                None
            }
            (shared, _) => shared,
        };
        let (engine, snapshots) =
            Engine::new(&engine_config, config.sensor_metas(), Some(store.clone()));
        // `db check` is SQLite's integrity check; a server checks its own files.
        let engine = match db.sqlite_path() {
            Some(path) => {
                engine.with_history_check(crate::store::spawn_quick_check(path.to_owned()))
            }
            None => engine,
        };
        let (engine, transitions) = match &shared {
            Some(_) => {
                let (tx, rx) = mpsc::channel(1024);
                (engine.with_alarm_feed(tx), Some(rx))
            }
            None => (engine, None),
        };
        let handles = Engine::start(engine, snapshots, &engine_config);
        let cancel = CancellationToken::new();
        let mut sources = source::spawn_all(config, handles.events.clone(), cancel.clone())
            .await
            .context("starting sources")?;
        let shared_journal = match (db, journal_start) {
            (Location::Postgres(pg), Some(after)) => {
                let feed = listen::follow(pg, &engine_config.console, after)
                    .with_context(|| format!("following the alarm journal in {db}"))?;
                let status = feed.status.clone();
                sources.spawn(crate::source::alarm_journal::run(
                    feed,
                    handles.commands.clone(),
                    cancel.clone(),
                ));
                Some(status)
            }
            _ => None,
        };
        if let (Some(shared), Some(transitions)) = (shared, transitions) {
            sources.spawn(crate::source::mqtt::alarm_topic::run(
                shared,
                transitions,
                handles.commands.clone(),
                cancel.clone(),
            ));
        }
        Ok(Running {
            snapshots: handles.snapshots,
            events: handles.events,
            commands: handles.commands,
            store,
            console: engine_config.console,
            shared_journal,
            cancel,
            sources,
            engine: handles.task,
            writer,
        })
    }

    /// Stops the sources, lets the engine hand over everything it received,
    /// and waits for the writer to commit it.
    pub async fn shutdown(mut self) -> Result<Outcome, ShutdownError> {
        self.cancel.cancel();
        // A history that cannot be written must not hold the exit for long:
        // what it could not store is not acknowledged, so nothing is lost.
        self.writer.give_up_after_grace();
        while self.sources.join_next().await.is_some() {}
        drop(self.events);
        drop(self.commands);
        let engine = self.engine.await.map_err(ShutdownError::Engine)?;
        drop(self.store);
        let writer = self.writer;
        let store = tokio::task::spawn_blocking(move || writer.join())
            .await
            .map_err(ShutdownError::WriterThread)?
            .map_err(ShutdownError::Commit)?;
        Ok(Outcome { engine, store })
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
