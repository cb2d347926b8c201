//! Performs the [`Effect`]s that state changes ask for: alarm and replay
//! commands to the engine, queries to the history, journal and invoice
//! workers, exports, the bell, and taking the screen for a replay started
//! with `r` and giving it back. The run loop owns the answers' receivers
//! ([`Answers`]) and hands every batch of effects to [`EffectRunner::run`].
//! Of the console it knows only the engine it was started on ([`HomeEngine`]).

use super::state::replay::{self, LiveView};
use super::state::{Effect, UiState};
use super::{history, invoice, journal};
use crate::alarm::AlarmCommand;
use crate::app::replay::{ReplayLoadError, ReplayOptions, ReplaySession};
use crate::config::Config;
use crate::csvio::profile::ProfileError;
use crate::engine::LiveState;
use crate::error::describe_error;
use crate::model::now_ms;
use crate::report::{ReportError, View, ViewTarget, export_view};
use crate::source::replay::ReplayCommand;
use crate::store::Location;
use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

/// Where an export went (file and rows), or why it failed.
pub type ExportOutcome = Result<(PathBuf, u64), ReportError>;

/// The engine the console was started on: the live plant, or the replay of
/// `floorwatch replay`. A replay started with `r` gives the screen back to it.
pub struct HomeEngine {
    pub snapshots: watch::Receiver<Arc<LiveState>>,
    pub alarm_commands: mpsc::Sender<AlarmCommand>,
    /// Set when the home engine is itself a replay.
    pub replay_commands: Option<mpsc::Sender<ReplayCommand>>,
}

/// The workers' answers, for the run loop to wait on.
pub struct Answers {
    pub history: mpsc::UnboundedReceiver<history::HistoryAnswer>,
    pub journal: mpsc::UnboundedReceiver<journal::JournalAnswer>,
    pub invoice: mpsc::UnboundedReceiver<invoice::InvoiceAnswer>,
    pub export: mpsc::UnboundedReceiver<ExportOutcome>,
}

/// Where the runner sends the workers' queries.
struct Workers {
    history: mpsc::UnboundedSender<history::HistoryRequest>,
    journal: mpsc::UnboundedSender<journal::JournalRequest>,
    invoice: mpsc::UnboundedSender<invoice::InvoiceJob>,
    export: mpsc::UnboundedSender<ExportOutcome>,
}

/// What the run loop does after a batch of effects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Quit,
}

/// The console's I/O side: the engine it shows and the workers it feeds.
pub struct EffectRunner<'a> {
    home: HomeEngine,
    config: &'a Config,
    db: &'a Location,
    /// The snapshots on screen: the live plant's, or the replay's.
    pub snapshots: watch::Receiver<Arc<LiveState>>,
    /// Whether that engine still sends snapshots.
    pub engine_alive: bool,
    /// A replay started with `r`, on screen instead of the live plant.
    pub replay: Option<ReplayView>,
    workers: Workers,
}

impl<'a> EffectRunner<'a> {
    /// Starts the workers; the runner shows the home engine.
    pub fn start(home: HomeEngine, config: &'a Config, db: &'a Location) -> (Self, Answers) {
        let (history_tx, history_rx) = history::spawn();
        let (journal_tx, journal_rx) = journal::spawn();
        let (invoice_tx, invoice_rx) = invoice::spawn(
            Arc::new(config.clone()),
            crate::paths::data_dir().join("invoices"),
        );
        let (export_tx, export_rx) = mpsc::unbounded_channel();
        let runner = EffectRunner {
            snapshots: home.snapshots.clone(),
            home,
            config,
            db,
            engine_alive: true,
            replay: None,
            workers: Workers {
                history: history_tx,
                journal: journal_tx,
                invoice: invoice_tx,
                export: export_tx,
            },
        };
        let answers = Answers {
            history: history_rx,
            journal: journal_rx,
            invoice: invoice_rx,
            export: export_rx,
        };
        (runner, answers)
    }

    /// Performs `effects` in order, and those they lead to.
    pub async fn run(&mut self, ui: &mut UiState, effects: Vec<Effect>) -> Flow {
        let mut effects = VecDeque::from(effects);
        while let Some(effect) = effects.pop_front() {
            match effect {
                Effect::Quit => return Flow::Quit,
                Effect::Alarm(command) => self.send_alarm_command(ui, command),
                Effect::Replay(command) => self.send_replay_command(ui, command),
                Effect::OpenReplayPicker => self.open_replay_picker(ui),
                Effect::StartReplay(file) => effects.extend(self.start_replay(ui, file).await),
                Effect::StopReplay => effects.extend(self.stop_replay(ui).await),
                Effect::LoadDetail(query) => {
                    let _ = self.workers.history.send((self.shown_store(), query));
                }
                Effect::LoadJournal(query) => {
                    let _ = self.workers.journal.send((self.shown_store(), query));
                }
                Effect::Invoice(request) => {
                    let _ = self.workers.invoice.send((self.shown_store(), request));
                }
                Effect::Export(what) => self.export(ui, what),
                Effect::Bell => ring_bell(),
            }
        }
        Flow::Continue
    }

    /// Takes the latest snapshot of the engine on screen to the state.
    pub fn show_snapshot(&mut self, ui: &mut UiState) -> Vec<Effect> {
        ui.on_snapshot(self.snapshots.borrow_and_update().clone())
    }

    /// Shows `snapshots`' engine instead of the one on screen.
    fn switch_to(&mut self, ui: &mut UiState, snapshots: watch::Receiver<Arc<LiveState>>) {
        self.snapshots = snapshots;
        ui.switch_engine(self.snapshots.borrow_and_update().clone());
    }

    fn send_alarm_command(&self, ui: &mut UiState, command: AlarmCommand) {
        let commands = self
            .replay
            .as_ref()
            .map_or(&self.home.alarm_commands, |v| &v.session.alarm_commands);
        if commands.try_send(command).is_err() {
            ui.not_sent();
            ui.toast("the engine is busy; try again");
        }
    }

    fn send_replay_command(&self, ui: &mut UiState, command: ReplayCommand) {
        let sender = self
            .replay
            .as_ref()
            .map(|v| &v.session.commands)
            .or(self.home.replay_commands.as_ref());
        if sender.is_some_and(|s| s.try_send(command).is_err()) {
            ui.toast("the replay is busy; try again");
        }
    }

    fn open_replay_picker(&self, ui: &mut UiState) {
        let dirs = replay_dirs(self.db);
        let files: Vec<_> = dirs
            .iter()
            .flat_map(|d| crate::csvio::csv_files_in(d))
            .collect();
        let looked_in: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        ui.open_replay_picker(files, &looked_in.join(" and "));
    }

    /// A replay of `file` takes the screen (replacing one already there).
    async fn start_replay(&mut self, ui: &mut UiState, file: PathBuf) -> Vec<Effect> {
        let live_ui = match self.replay.take() {
            Some(old) => {
                let _ = old.session.stop().await;
                old.live_ui
            }
            None => replay::enter(ui),
        };
        let mut effects = Vec::new();
        match start_replay(self.config, file.clone()) {
            Ok(session) => {
                self.switch_to(ui, session.snapshots.clone());
                self.replay = Some(ReplayView {
                    session,
                    file,
                    live_ui,
                    loading: true,
                });
            }
            Err(e) => {
                self.switch_to(ui, self.home.snapshots.clone());
                effects = replay::leave(ui, live_ui);
                ui.toast(format!("replay: {}", describe_error(&e)));
            }
        }
        self.engine_alive = true;
        effects
    }

    /// The live plant takes the screen back from a replay started with `r`.
    async fn stop_replay(&mut self, ui: &mut UiState) -> Vec<Effect> {
        let mut effects = Vec::new();
        if let Some(old) = self.replay.take() {
            let _ = old.session.stop().await;
            self.switch_to(ui, self.home.snapshots.clone());
            effects = replay::leave(ui, old.live_ui);
        }
        self.engine_alive = true;
        effects
    }

    fn export(&self, ui: &mut UiState, what: View) {
        match ViewTarget::from_config(self.config, &self.shown_store()) {
            Ok(target) => start_export(target, what, self.workers.export.clone()),
            Err(e) => ui.on_export(Err(e)),
        }
    }

    /// The history file the views read: the replay's own store while a replay
    /// started with `r` is on screen, else the console's history file.
    fn shown_store(&self) -> Location {
        self.replay
            .as_ref()
            .map_or_else(|| self.db.clone(), |v| v.session.db().into())
    }
}

fn ring_bell() {
    let mut out = std::io::stdout();
    let _ = out.write_all(b"\x07").and_then(|_| out.flush());
}

/// A replay started with the `r` key, shown instead of the live plant.
pub struct ReplayView {
    session: ReplaySession,
    /// The file, for messages.
    file: PathBuf,
    /// What the live plant's view was, to go back to.
    live_ui: LiveView,
    /// Its files are still being loaded.
    loading: bool,
}

/// Resolves when the replay on screen has finished loading: the message to
/// show, or the error. Never resolves when nothing is loading. Cancel-safe.
pub async fn replay_loaded(view: &mut Option<ReplayView>) -> Result<String, ReplayLoadError> {
    let Some(view) = view.as_mut().filter(|v| v.loading) else {
        return std::future::pending().await;
    };
    let outcome = view.session.loaded().await.map(|reports| {
        let readings: u64 = reports.iter().map(|r| r.written.total()).sum();
        let bad: u64 = reports.iter().map(|r| r.stats.bad_rows()).sum();
        let first_bad = reports.iter().find_map(|r| r.examples.first());
        let mut text = format!("replaying {} ({readings} readings", view.file.display());
        match first_bad {
            Some(row) => text.push_str(&format!(", {bad} bad rows skipped, first {row})")),
            None => text.push(')'),
        }
        text.push_str(": Esc returns to the live plant");
        text
    });
    view.loading = false;
    outcome
}

/// Where the `r` key looks for CSV files: `fixtures/` and the history file's directory.
fn replay_dirs(db: &Location) -> Vec<PathBuf> {
    let mut dirs = vec![PathBuf::from("fixtures")];
    let file_dir = db.sqlite_path().and_then(Path::parent);
    if let Some(dir) = file_dir.filter(|d| !d.as_os_str().is_empty()) {
        dirs.push(dir.to_owned());
    }
    dirs.retain(|d| d.is_dir());
    dirs.dedup();
    dirs
}

/// Why a replay picked with `r` did not start.
#[derive(Debug, thiserror::Error)]
enum ReplayStartError {
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error(transparent)]
    Load(#[from] ReplayLoadError),
}

/// Starts a replay of `file` on its own engine; it loads in the background.
/// The file is read as `floorwatch replay` would: by the `[[import]]` profile
/// whose `files` glob matches it, else auto-detected in the plant's time zone.
fn start_replay(config: &Config, file: PathBuf) -> Result<ReplaySession, ReplayStartError> {
    let csv = crate::csvio::profile::options_for_file(config, &file)?;
    let options = ReplayOptions {
        files: vec![file],
        import: crate::csvio::import::ImportOptions {
            csv,
            ..Default::default()
        },
        from: None,
        to: None,
        speed: crate::source::replay::Speed::Times(60.0),
        paused: false,
        record: None,
    };
    let engine = crate::engine::EngineConfig::from_config(config);
    Ok(ReplaySession::spawn(
        options,
        &engine,
        config.sensor_metas(),
    )?)
}

/// Exports on a blocking thread (SQLite reads, file writes) and sends the
/// outcome back to the update loop.
fn start_export(target: ViewTarget, view: View, done: mpsc::UnboundedSender<ExportOutcome>) {
    tokio::task::spawn_blocking(move || {
        let result = export_view(&target, &view, now_ms()).inspect_err(|e| {
            tracing::error!(error = %e, "export from the console failed");
        });
        let _ = done.send(result);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_replay_picker_reads_a_file_with_its_import_profile() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("meter_log.csv");
        std::fs::write(
            &file,
            "Date;Time;Volts\n01/10/2025;12:00:00;230,5\n01/10/2025;12:00:01;231,0\n",
        )
        .unwrap();
        let config = Config::parse(
            Path::new("plant.toml"),
            r#"
[[import]]
name = "meters"
files = "meter_*.csv"
decimal = "comma"
date_format = "dmy"
[import.columns]
Volts = { sensor = "panel.voltage", unit = "V" }
"#,
        )
        .unwrap();
        let mut session = start_replay(&config, file).unwrap();
        let reports = session.loaded().await.unwrap().to_vec();
        assert_eq!(reports[0].written.total(), 2);
        let reader = crate::store::HistoryReader::open(session.db()).unwrap();
        let values: Vec<f64> = reader
            .range("panel.voltage", 0, i64::MAX)
            .unwrap()
            .iter()
            .map(|r| r.value)
            .collect();
        assert_eq!(values, [230.5, 231.0]);
        session.stop().await.unwrap();
    }
}
