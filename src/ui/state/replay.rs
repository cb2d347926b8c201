//! Replay in the console: the keys of the file picker the `r` key opens,
//! of the seek prompt and of a replay on screen, and handing the screen to
//! a replay and back. Pure state changes; the update loop starts and stops
//! the replay itself (see [`Effect`]).

use super::{Detail, Effect, Overlay, Screen, UiState};
use crate::source::replay::ReplayCommand;
use crate::ui::replay::{Picker, seek_target};
use crossterm::event::{KeyCode, KeyEvent};

/// What the live plant's view was when a replay took the screen.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveView {
    screen: Screen,
    detail: Option<Detail>,
}

/// A replay takes the screen: it starts on its dashboard; the live view is kept.
pub fn enter(ui: &mut UiState) -> LiveView {
    let live = LiveView {
        screen: ui.screen,
        detail: ui.detail.take(),
    };
    ui.screen = Screen::Dashboard;
    ui.seek_input = None;
    ui.replay_view = true;
    live
}

/// Back to the live plant as it was left; an open detail view reloads from
/// the live history.
pub fn leave(ui: &mut UiState, live: LiveView) -> Vec<Effect> {
    ui.replay_view = false;
    ui.seek_input = None;
    ui.screen = live.screen;
    ui.detail = live.detail;
    if ui.screen == Screen::Detail && ui.detail.is_some() {
        ui.load_detail()
    } else {
        Vec::new()
    }
}

const MINUTE: i64 = 60_000;
const HOUR: i64 = 3_600_000;

/// Handles a key when the picker, the seek prompt or a replay has it;
/// `None` leaves the key to the console.
pub fn on_key(ui: &mut UiState, key: &KeyEvent) -> Option<Vec<Effect>> {
    if let Some(Overlay::ReplayPicker(picker)) = &mut ui.overlay {
        let outcome = picker_key(picker, key);
        if outcome.as_ref().is_none_or(|effects| !effects.is_empty()) {
            ui.overlay = None;
        }
        return Some(outcome.unwrap_or_default());
    }
    if ui.seek_input.is_some() {
        return Some(seek_key(ui, key));
    }
    if ui.live.replay_loading.is_some() {
        // Loading: only leaving makes sense (the player does not exist yet).
        return match key.code {
            KeyCode::Esc if ui.replay_view => Some(vec![Effect::StopReplay]),
            _ => None,
        };
    }
    ui.live.replay.as_ref()?;
    let command = match key.code {
        KeyCode::Char(' ') => ReplayCommand::TogglePause,
        KeyCode::Char('>') => ReplayCommand::Faster,
        KeyCode::Char('<') => ReplayCommand::Slower,
        KeyCode::Char('n') => ReplayCommand::Step,
        KeyCode::Char('f') => ReplayCommand::Jump(MINUTE),
        KeyCode::Char('b') => ReplayCommand::Jump(-MINUTE),
        KeyCode::Char('F') => ReplayCommand::Jump(HOUR),
        KeyCode::Char('B') => ReplayCommand::Jump(-HOUR),
        KeyCode::Char('0') => ReplayCommand::Restart,
        KeyCode::Char('T') => {
            ui.seek_input = Some(String::new());
            return Some(Vec::new());
        }
        KeyCode::Esc
            if ui.replay_view && ui.screen == Screen::Dashboard && ui.filter.is_empty() =>
        {
            return Some(vec![Effect::StopReplay]);
        }
        _ => return None,
    };
    Some(vec![Effect::Replay(command)])
}

/// `Some(effects)` keeps the picker open unless effects are returned; `None` closes it.
fn picker_key(picker: &mut Picker, key: &KeyEvent) -> Option<Vec<Effect>> {
    let last = picker.files.len().saturating_sub(1);
    match key.code {
        KeyCode::Up | KeyCode::Char('k') => picker.selected = picker.selected.saturating_sub(1),
        KeyCode::Down | KeyCode::Char('j') => picker.selected = (picker.selected + 1).min(last),
        KeyCode::Home => picker.selected = 0,
        KeyCode::End => picker.selected = last,
        KeyCode::Enter => {
            return picker
                .files
                .get(picker.selected)
                .map(|f| vec![Effect::StartReplay(f.clone())]);
        }
        KeyCode::Esc | KeyCode::Char('q') => return None,
        _ => {}
    }
    Some(Vec::new())
}

fn seek_key(ui: &mut UiState, key: &KeyEvent) -> Vec<Effect> {
    let Some(text) = ui.seek_input.as_mut() else {
        return Vec::new();
    };
    match key.code {
        KeyCode::Esc => ui.seek_input = None,
        KeyCode::Backspace => {
            text.pop();
        }
        KeyCode::Char(c) => text.push(c),
        KeyCode::Enter => {
            let text = ui.seek_input.take().unwrap_or_default();
            let position = ui.live.replay.as_ref().map_or(ui.now_ms, |r| r.position_ms);
            match seek_target(&text, position, ui.config.timezone) {
                Some(ts) => return vec![Effect::Replay(ReplayCommand::Seek(ts))],
                None => ui.toast(format!(
                    "seek: {text:?} is not a time; write HH:MM[:SS] or YYYY-MM-DD HH:MM"
                )),
            }
        }
        _ => {}
    }
    Vec::new()
}

impl UiState {
    /// Opens the replay picker on these files (or says there are none).
    pub fn open_replay_picker(&mut self, files: Vec<std::path::PathBuf>, looked_in: &str) {
        if files.is_empty() {
            self.toast(format!("no CSV files in {looked_in}"));
        } else {
            self.overlay = Some(Overlay::ReplayPicker(Picker { files, selected: 0 }));
        }
    }
}
