//! Replay in the console: the file picker the `r` key opens, and the keys
//! that control a replay on screen. Pure state changes; the update loop
//! starts and stops the replay itself (see [`Effect`]).

use super::state::{Detail, Effect, Overlay, Screen, UiState};
use crate::model::TimestampMs;
use crate::source::replay::ReplayCommand;
use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use crossterm::event::{KeyCode, KeyEvent};
use std::path::PathBuf;

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

/// CSV files offered by the `r` key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Picker {
    pub files: Vec<PathBuf>,
    pub selected: usize,
}

/// The keys of a replay on screen, for the footer and the help.
pub const KEYS: &[(&str, &str)] = &[
    ("Space", "pause"),
    ("<>", "speed"),
    ("n", "step"),
    ("b/f", "∓1 min"),
    ("B/F", "∓1 h"),
    ("T", "seek"),
    ("0", "restart"),
];

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

/// `HH:MM[:SS]` on the replay's current day, or `YYYY-MM-DD HH:MM[:SS]`, in the plant's zone.
pub fn seek_target(text: &str, position: TimestampMs, tz: chrono_tz::Tz) -> Option<TimestampMs> {
    let text = text.trim();
    let time = |t: &str| {
        NaiveTime::parse_from_str(t, "%H:%M:%S")
            .or_else(|_| NaiveTime::parse_from_str(t, "%H:%M"))
            .ok()
    };
    let naive = match text.split_once(' ') {
        Some((date, t)) => {
            NaiveDateTime::new(NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?, time(t)?)
        }
        None => {
            let day = chrono::DateTime::from_timestamp_millis(position)?
                .with_timezone(&tz)
                .date_naive();
            NaiveDateTime::new(day, time(text)?)
        }
    };
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|t| t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seek_targets_in_the_plant_zone() {
        let tz = chrono_tz::America::Sao_Paulo;
        let position = chrono::DateTime::parse_from_rfc3339("2025-10-02T13:00:00Z")
            .unwrap()
            .timestamp_millis();
        let expect = |s: &str| {
            chrono::DateTime::parse_from_rfc3339(s)
                .unwrap()
                .timestamp_millis()
        };
        assert_eq!(
            seek_target("14:30", position, tz),
            Some(expect("2025-10-02T17:30:00Z"))
        );
        assert_eq!(
            seek_target("2025-10-01 00:00:10", position, tz),
            Some(expect("2025-10-01T03:00:10Z"))
        );
        assert_eq!(seek_target("noon", position, tz), None);
    }
}
