//! The operator console (ratatui + crossterm).
//!
//! One update loop ([`run`]) is fed by the terminal's input stream, the
//! engine's snapshot channel, the history worker and a slow idle tick. It
//! changes [`state::UiState`] and performs the [`state::Effect`]s that come
//! back; drawing ([`draw::draw`]) is a pure function of that state, called at
//! most `ui.max_fps` times a second and only when something changed.

pub mod draw;
pub mod history;
pub mod invoice;
pub mod journal;
pub mod keys;
pub mod layout;
pub mod replay;
pub mod state;
pub mod theme;
pub mod worker;

use crate::alarm::operator_name;
use crate::app::Running;
use crate::app::replay::{ReplayOptions, ReplaySession};
use crate::config::{AlarmLimits, Config, SimSignal};
use crate::error::BadInput;
use crate::model::now_ms;
use crate::report::{View, ViewTarget, export_view};
use crate::source::replay::ReplayCommand;
use anyhow::{Context, Result};
use crossterm::event::EventStream;
use futures::StreamExt;
use keys::KeyMap;
use state::{Effect, UiState};
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use theme::{ColorSupport, Theme};
use tokio::time::Instant;

/// Everything the console takes from the config, resolved once at start.
#[derive(Clone, Debug)]
pub struct UiConfig {
    pub timezone: chrono_tz::Tz,
    pub max_fps: u32,
    pub ascii: bool,
    pub bell: bool,
    pub shelve_ms: i64,
    pub keymap: KeyMap,
    pub themes: Vec<Theme>,
    pub initial_theme: usize,
    /// Alarm limits by sensor id, for limit lines and gauge colours.
    pub limits: HashMap<String, AlarmLimits>,
    /// Where each configured sensor's values come from, as text.
    pub bindings: HashMap<String, String>,
    /// Sensors with a `meter` binding: the ones the invoice key works on.
    pub meters: std::collections::HashSet<String>,
    pub operator: String,
    /// The dashboard's window (`[history] live_window`): sparklines, exports.
    pub live_window_ms: i64,
}

impl UiConfig {
    /// Resolves `[ui]`: key map, themes (built-in and from `user_themes`)
    /// adapted to `colors`. Returns warnings about unreadable user themes.
    pub fn from_config(
        config: &Config,
        colors: ColorSupport,
        user_themes: Option<&Path>,
    ) -> Result<(UiConfig, Vec<String>), BadInput> {
        let ui = &config.ui;
        let keymap = KeyMap::with_bindings(&ui.keys).map_err(|diags| {
            BadInput(format!(
                "[ui.keys]: {}",
                diags
                    .iter()
                    .map(|d| d.message.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            ))
        })?;
        let (themes, warnings) = theme::load_all(user_themes);
        let themes: Vec<Theme> = themes.into_iter().map(|t| t.for_terminal(colors)).collect();
        let wanted = ui.theme.as_deref().unwrap_or("default");
        let initial_theme = themes
            .iter()
            .position(|t| t.name == wanted)
            .ok_or_else(|| {
                let names: Vec<_> = themes.iter().map(|t| t.name.as_str()).collect();
                BadInput(format!(
                    "unknown theme {wanted:?} in [ui] theme; available: {}",
                    names.join(", ")
                ))
            })?;
        let limits = config
            .sensor
            .iter()
            .filter_map(|s| Some((s.id.get_ref().clone(), s.alarm.as_ref()?.get_ref().clone())))
            .collect();
        let bindings = config
            .sensor
            .iter()
            .map(|s| (s.id.get_ref().clone(), binding_text(s)))
            .collect();
        let meters = config
            .sensor
            .iter()
            .filter(|s| s.meter.is_some())
            .map(|s| s.id.get_ref().clone())
            .collect();
        let ui_config = UiConfig {
            timezone: config.timezone(),
            max_fps: ui.max_fps.clamp(1, 60),
            ascii: ui.ascii.unwrap_or_else(|| !locale_is_utf8()),
            bell: ui.bell,
            shelve_ms: ui.shelve.as_millis_i64(),
            keymap,
            themes,
            initial_theme,
            limits,
            bindings,
            meters,
            operator: operator_name(),
            live_window_ms: config.history.live_window.as_millis_i64(),
        };
        Ok((ui_config, warnings))
    }
}

fn binding_text(sensor: &crate::config::Sensor) -> String {
    if let Some(m) = &sensor.mqtt {
        let mut text = format!("mqtt {} topic {}", m.broker.get_ref(), m.topic.get_ref());
        if let Some(v) = &m.value {
            text.push_str(&format!(" value {v}"));
        }
        return text;
    }
    if let Some(m) = &sensor.modbus {
        let at = match (&m.field, &m.address) {
            (Some(field), _) => format!("field {}", field.get_ref()),
            (None, Some(address)) => format!(
                "{:?} register {} {:?} {:?}",
                m.table,
                address.get_ref(),
                m.kind,
                m.order
            )
            .to_lowercase(),
            (None, None) => String::new(),
        };
        return format!("modbus {} {at} scale {}", m.device.get_ref(), m.scale);
    }
    if let Some(s) = &sensor.sim {
        let signal = match s.signal {
            SimSignal::Temperature => "temperature",
            SimSignal::Vibration => "vibration",
            SimSignal::Power => "power",
            SimSignal::Energy => "energy",
        };
        return format!("simulated {signal}, every {}", s.period);
    }
    "no source configured".into()
}

/// Whether the locale promises UTF-8 (else box drawing and braille are avoided).
fn locale_is_utf8() -> bool {
    ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .is_some_and(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("utf-8") || l.contains("utf8")
        })
}

/// Leaves raw mode and the alternate screen however the console ends
/// (return, error or panic: ratatui's panic hook does the same).
struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

/// What the console talks to: an engine's snapshots and command channels.
pub struct Console {
    pub snapshots: tokio::sync::watch::Receiver<Arc<crate::engine::LiveState>>,
    pub commands: tokio::sync::mpsc::Sender<crate::alarm::AlarmCommand>,
    /// Set when the console shows a replay (`floorwatch replay`).
    pub replay: Option<tokio::sync::mpsc::Sender<ReplayCommand>>,
}

/// Runs the console until the operator quits or SIGINT/SIGTERM arrives.
pub async fn run(running: &Running, config: &Config, db: &Path) -> Result<()> {
    let console = Console {
        snapshots: running.snapshots.clone(),
        commands: running.commands.clone(),
        replay: None,
    };
    run_console(console, config, db).await
}

/// A replay started with the `r` key, shown instead of the live plant.
struct ReplayView {
    session: ReplaySession,
    /// The file, for messages.
    file: std::path::PathBuf,
    /// What the live plant's view was, to go back to.
    live_ui: replay::LiveView,
    /// Its files are still being loaded.
    loading: bool,
}

/// The history file the views read: the replay's own store while a replay
/// started with `r` is on screen, else the console's history file.
fn shown_store(view: Option<&ReplayView>, db: &Path) -> PathBuf {
    view.map_or_else(|| db.to_owned(), |v| v.session.db())
}

/// Resolves when the replay on screen has finished loading: the message to
/// show, or the error. Never resolves when nothing is loading. Cancel-safe.
async fn replay_loaded(view: &mut Option<ReplayView>) -> Result<String, String> {
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
    outcome.map_err(|e| format!("replay: {e}"))
}

/// The console on any engine: the live plant or a replay.
pub async fn run_console(console: Console, config: &Config, db: &Path) -> Result<()> {
    let user_themes = crate::paths::user_themes();
    let (ui_config, warnings) =
        UiConfig::from_config(config, ColorSupport::detect(), Some(&user_themes))?;
    for warning in &warnings {
        tracing::warn!("{warning}");
    }
    let frame_every = Duration::from_secs_f64(1.0 / f64::from(ui_config.max_fps));
    let full_redraw = std::env::var_os("FLOORWATCH_FULL_REDRAW").is_some();
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(BadInput(
            "the console needs a terminal on stdin and stdout; use --headless to record without one"
                .into(),
        )
        .into());
    }
    let _guard = TerminalGuard;
    let mut terminal = ratatui::try_init().context("opening the terminal")?;
    let size = terminal.size().context("reading the terminal size")?;

    let mut snapshots = console.snapshots.clone();
    let mut view: Option<ReplayView> = None;
    let live = snapshots.borrow_and_update().clone();
    let mut ui = UiState::new(Arc::new(ui_config), live, now_ms());
    ui.size = ratatui::layout::Rect::new(0, 0, size.width, size.height);
    if let Some(warning) = warnings.first() {
        ui.toast(warning.clone());
    }
    let (history_tx, mut history_rx) = history::spawn();
    let (journal_tx, mut journal_rx) = journal::spawn();
    let (invoice_tx, mut invoice_rx) = invoice::spawn(
        Arc::new(config.clone()),
        crate::paths::data_dir().join("invoices"),
    );
    let export_target = ViewTarget::from_config(config, db).map_err(|e| e.to_string());
    let (export_tx, mut export_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut input = EventStream::new();
    let mut idle = tokio::time::interval(Duration::from_secs(1));
    idle.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let signal = crate::app::shutdown_signal();
    tokio::pin!(signal);
    let mut engine_alive = true;
    let mut dirty = true;
    let mut next_frame = Instant::now();

    loop {
        if dirty && Instant::now() >= next_frame {
            draw_frame(&mut terminal, &ui, full_redraw)?;
            dirty = false;
            next_frame = Instant::now() + frame_every;
        }
        let frame_due = async {
            if dirty {
                tokio::time::sleep_until(next_frame).await
            } else {
                std::future::pending().await
            }
        };
        let effects = tokio::select! {
            _ = &mut signal => break,
            event = input.next() => match event {
                Some(Ok(event)) => { dirty = true; ui.on_event(&event) }
                Some(Err(e)) => return Err(e).context("reading the terminal"),
                None => break,
            },
            changed = snapshots.changed(), if engine_alive => {
                engine_alive = changed.is_ok();
                dirty = true;
                let live = snapshots.borrow_and_update().clone();
                ui.on_snapshot(live)
            }
            Some((request, answer)) = history_rx.recv() => {
                dirty = true;
                ui.on_history(request, answer);
                Vec::new()
            }
            Some((request, answer)) = journal_rx.recv() => {
                dirty = true;
                ui.on_journal(request, answer);
                Vec::new()
            }
            Some(answer) = invoice_rx.recv() => {
                dirty = true;
                ui.on_invoice(answer);
                Vec::new()
            }
            Some(result) = export_rx.recv() => {
                dirty = true;
                ui.on_export(result);
                Vec::new()
            }
            outcome = replay_loaded(&mut view) => {
                dirty = true;
                match outcome {
                    Ok(message) => {
                        ui.toast(message);
                        Vec::new()
                    }
                    Err(message) => {
                        tracing::warn!("{message}");
                        ui.toast(message);
                        vec![Effect::StopReplay]
                    }
                }
            }
            _ = idle.tick() => { dirty = true; ui.on_tick(now_ms()) }
            _ = frame_due => Vec::new(),
        };
        let mut effects = std::collections::VecDeque::from(effects);
        while let Some(effect) = effects.pop_front() {
            match effect {
                Effect::Quit => return Ok(()),
                Effect::Alarm(command) => {
                    let commands = view
                        .as_ref()
                        .map_or(&console.commands, |v| &v.session.alarm_commands);
                    if commands.try_send(command).is_err() {
                        ui.toast("the engine is busy; try again");
                    }
                }
                Effect::Replay(command) => {
                    let sender = view
                        .as_ref()
                        .map(|v| &v.session.commands)
                        .or(console.replay.as_ref());
                    if sender.is_some_and(|s| s.try_send(command).is_err()) {
                        ui.toast("the replay is busy; try again");
                    }
                }
                Effect::OpenReplayPicker => {
                    let dirs = replay_dirs(db);
                    let files: Vec<_> = dirs
                        .iter()
                        .flat_map(|d| crate::csvio::csv_files_in(d))
                        .collect();
                    let looked_in: Vec<String> =
                        dirs.iter().map(|d| d.display().to_string()).collect();
                    ui.open_replay_picker(files, &looked_in.join(" and "));
                }
                Effect::StartReplay(file) => {
                    let live_ui = match view.take() {
                        Some(old) => {
                            let _ = old.session.stop().await;
                            old.live_ui
                        }
                        None => replay::enter(&mut ui),
                    };
                    match start_replay(config, file.clone()) {
                        Ok(session) => {
                            snapshots = session.snapshots.clone();
                            ui.on_snapshot(snapshots.borrow_and_update().clone());
                            view = Some(ReplayView {
                                session,
                                file,
                                live_ui,
                                loading: true,
                            });
                        }
                        Err(e) => {
                            snapshots = console.snapshots.clone();
                            ui.on_snapshot(snapshots.borrow_and_update().clone());
                            effects.extend(replay::leave(&mut ui, live_ui));
                            ui.toast(format!("replay: {e:#}"));
                        }
                    }
                    engine_alive = true;
                }
                Effect::StopReplay => {
                    if let Some(old) = view.take() {
                        let _ = old.session.stop().await;
                        snapshots = console.snapshots.clone();
                        ui.on_snapshot(snapshots.borrow_and_update().clone());
                        effects.extend(replay::leave(&mut ui, old.live_ui));
                    }
                    engine_alive = true;
                }
                Effect::LoadDetail(query) => {
                    let _ = history_tx.send((shown_store(view.as_ref(), db), query));
                }
                Effect::LoadJournal(query) => {
                    let _ = journal_tx.send((shown_store(view.as_ref(), db), query));
                }
                Effect::Invoice(request) => {
                    let _ = invoice_tx.send((shown_store(view.as_ref(), db), request));
                }
                Effect::Export(what) => match &export_target {
                    Ok(target) => {
                        let target = ViewTarget {
                            db: shown_store(view.as_ref(), db),
                            ..target.clone()
                        };
                        start_export(target, what, export_tx.clone());
                    }
                    Err(e) => ui.on_export(Err(e.clone())),
                },
                Effect::Bell => {
                    let mut out = std::io::stdout();
                    let _ = out.write_all(b"\x07").and_then(|_| out.flush());
                }
            }
        }
    }
    Ok(())
}

/// Where the `r` key looks for CSV files: `fixtures/` and the history file's directory.
fn replay_dirs(db: &Path) -> Vec<std::path::PathBuf> {
    let mut dirs = vec![std::path::PathBuf::from("fixtures")];
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        dirs.push(dir.to_owned());
    }
    dirs.retain(|d| d.is_dir());
    dirs.dedup();
    dirs
}

/// Starts a replay of `file` on its own engine; it loads in the background.
/// The file is read as `floorwatch replay` would: by the `[[import]]` profile
/// whose `files` glob matches it, else auto-detected in the plant's time zone.
fn start_replay(config: &Config, file: std::path::PathBuf) -> Result<ReplaySession> {
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
fn start_export(
    target: ViewTarget,
    view: View,
    done: tokio::sync::mpsc::UnboundedSender<Result<(std::path::PathBuf, u64), String>>,
) {
    tokio::task::spawn_blocking(move || {
        let result = export_view(&target, &view, now_ms()).map_err(|e| {
            tracing::error!(error = %e, "export from the console failed");
            e.to_string()
        });
        let _ = done.send(result);
    });
}

fn draw_frame(
    terminal: &mut ratatui::DefaultTerminal,
    ui: &UiState,
    full_redraw: bool,
) -> Result<()> {
    use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
    use ratatui::backend::Backend;
    crossterm::queue!(terminal.backend_mut(), BeginSynchronizedUpdate)
        .context("writing to the terminal")?;
    let frame = terminal
        .draw(|frame| draw::draw(frame, ui))
        .context("drawing the console")?;
    if full_redraw {
        // Benchmark baseline only: repaint every cell of every frame.
        let buffer = frame.buffer.clone();
        let cells = buffer.content.iter().enumerate().map(|(i, cell)| {
            let (x, y) = buffer.pos_of(i);
            (x, y, cell)
        });
        terminal
            .backend_mut()
            .draw(cells)
            .context("writing to the terminal")?;
    }
    crossterm::execute!(terminal.backend_mut(), EndSynchronizedUpdate)
        .context("writing to the terminal")?;
    Ok(())
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
        let reader = crate::store::HistoryReader::open(&session.db()).unwrap();
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
