//! The operator console (ratatui + crossterm).
//!
//! One update loop ([`run`]) is fed by the terminal's input stream, the
//! engine's snapshot channel, the history worker and a slow idle tick. It
//! changes [`state::UiState`] and performs the [`state::Effect`]s that come
//! back (through [`effects::EffectRunner`]); drawing ([`draw::draw`]) is a
//! pure function of that state, called at once after a key (or the answer
//! to something the operator asked for) and at most `ui.max_fps` times a
//! second for data ([`pacer::FramePacer`]), only when something changed; [`screen::Screen`] writes a frame only
//! when a cell differs from what the terminal shows.

mod config;
pub mod decimals;
pub mod draw;
mod effects;
pub mod elide;
pub mod history;
pub mod invoice;
pub mod journal;
pub mod keys;
pub mod layout;
mod pacer;
pub mod replay;
pub mod screen;
pub mod state;
pub mod theme;
pub mod worker;

pub use config::UiConfig;

use crate::app::Running;
use crate::config::Config;
use crate::error::BadInput;
use crate::model::now_ms;
use crate::source::replay::ReplayCommand;
use crate::store::Location;
use anyhow::{Context, Result};
use crossterm::event::EventStream;
use effects::{EffectRunner, Flow, HomeEngine, replay_loaded};
use futures::StreamExt;
use pacer::FramePacer;
use state::{Effect, UiState};
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;
use theme::ColorSupport;
use tokio::time::Instant;

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
pub async fn run(running: &Running, config: &Config, db: &Location) -> Result<()> {
    let console = Console {
        snapshots: running.snapshots.clone(),
        commands: running.commands.clone(),
        replay: None,
    };
    run_console(console, config, db).await
}

/// The console on any engine: the live plant or a replay.
pub async fn run_console(console: Console, config: &Config, db: &Location) -> Result<()> {
    let user_themes = crate::paths::user_themes();
    let (ui_config, warnings) =
        UiConfig::from_config(config, ColorSupport::detect(), Some(&user_themes))?;
    for warning in &warnings {
        tracing::warn!("{warning}");
    }
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(BadInput(
            "the console needs a terminal on stdin and stdout; use --headless to record without one"
                .into(),
        )
        .into());
    }
    let _guard = TerminalGuard;
    let terminal = ratatui::try_init().context("opening the terminal")?;
    let size = terminal.size().context("reading the terminal size")?;
    let mut screen = screen::Screen::new(terminal);

    let home = HomeEngine {
        snapshots: console.snapshots,
        alarm_commands: console.commands,
        replay_commands: console.replay,
    };
    let (mut runner, mut answers) = EffectRunner::start(home, config, db);
    let live = runner.snapshots.borrow_and_update().clone();
    let mut ui = UiState::new(Arc::new(ui_config), live, now_ms());
    ui.size = ratatui::layout::Rect::new(0, 0, size.width, size.height);
    if let Some(warning) = warnings.first() {
        ui.toast(warning.clone());
    }
    let mut input = EventStream::new();
    let mut idle = tokio::time::interval(Duration::from_secs(1));
    idle.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let signal = crate::app::shutdown_signal();
    tokio::pin!(signal);
    let mut pacer = FramePacer::new(ui.config.max_fps, Instant::now());

    loop {
        if pacer.due(Instant::now()) {
            screen.show(&ui)?;
            pacer.drew_for_data(Instant::now());
        }
        let wake_at = pacer.wake_at();
        let frame_due = async {
            match wake_at {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let (effects, cause) = tokio::select! {
            _ = &mut signal => break,
            event = input.next() => match event {
                Some(Ok(event)) => (ui.on_event(&event), Cause::Operator),
                Some(Err(e)) => return Err(e).context("reading the terminal"),
                None => break,
            },
            changed = runner.snapshots.changed(), if runner.engine_alive => {
                runner.engine_alive = changed.is_ok();
                (runner.show_snapshot(&mut ui), Cause::Data)
            }
            Some((request, answer)) = answers.history.recv() => {
                ui.on_history(request, answer);
                (Vec::new(), Cause::Operator)
            }
            Some((request, answer)) = answers.journal.recv() => {
                ui.on_journal(request, answer);
                (Vec::new(), Cause::Operator)
            }
            Some(answer) = answers.invoice.recv() => {
                ui.on_invoice(answer);
                (Vec::new(), Cause::Operator)
            }
            Some(result) = answers.export.recv() => {
                ui.on_export(result);
                (Vec::new(), Cause::Operator)
            }
            outcome = replay_loaded(&mut runner.replay) => (replay_outcome(&mut ui, outcome), Cause::Operator),
            _ = idle.tick() => (ui.on_tick(now_ms()), Cause::Data),
            _ = frame_due => (Vec::new(), Cause::FrameSlot),
        };
        if runner.run(&mut ui, effects).await == Flow::Quit {
            return Ok(());
        }
        match cause {
            Cause::Operator if pacer.operator() => {
                screen.show(&ui)?;
                pacer.drew_for_operator();
            }
            Cause::Operator | Cause::Data => pacer.data(),
            Cause::FrameSlot => {}
        }
    }
    Ok(())
}

/// What woke the update loop: the operator's own doing (a key, a resize, the
/// answer to a query the operator made) is drawn at once; data waits for its
/// frame slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cause {
    Operator,
    Data,
    FrameSlot,
}

/// The toast of a replay picked with `r` that finished loading, or the
/// effect that gives the screen back when it failed.
fn replay_outcome(
    ui: &mut UiState,
    outcome: Result<String, crate::app::replay::ReplayLoadError>,
) -> Vec<Effect> {
    match outcome {
        Ok(message) => {
            ui.toast(message);
            Vec::new()
        }
        Err(e) => {
            let message = format!("replay: {e}");
            tracing::warn!("{message}");
            ui.toast(message);
            vec![Effect::StopReplay]
        }
    }
}
