//! The alarm pane and the alarm keys: which alarms show, acknowledging,
//! shelving, commenting and resetting, and the overlays they open.

use super::{Effect, Focus, Overlay, Screen, UiState};
use crate::alarm::{AlarmCommand, AlarmState, AlarmView};
use crate::engine::LiveState;
use crate::ui::keys::Action;
use crate::ui::layout::{self, Cursor};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::HashSet;

/// One entry of the shelve menu.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShelveChoice {
    For(i64),
    /// Until the condition next returns to normal.
    OneShot,
}

impl ShelveChoice {
    pub fn label(self) -> String {
        match self {
            ShelveChoice::For(ms) => format!(
                "for {}",
                humantime::format_duration(std::time::Duration::from_millis(ms.max(0) as u64))
            ),
            ShelveChoice::OneShot => "until it returns to normal (one-shot)".into(),
        }
    }
}

/// Shelve durations offered besides `[ui] shelve` (capped by `[alarms] shelve_max`).
const SHELVE_PRESETS_MS: [i64; 4] = [15 * 60_000, 3_600_000, 4 * 3_600_000, 8 * 3_600_000];
/// Longest comment kept (the journal is for notes, not essays).
pub const MAX_COMMENT: usize = 200;

impl UiState {
    /// Alarms shown in the pane: every alarm the engine reports, narrowed by
    /// the filter, most urgent first, newest first within a priority.
    pub fn visible_alarms(&self) -> Vec<&AlarmView> {
        let filter = self.filter.to_lowercase();
        let mut alarms: Vec<&AlarmView> = self
            .live
            .alarms
            .iter()
            .filter(|a| {
                let (name, group) = self
                    .live
                    .sensor(a.sensor.as_str())
                    .map_or(("", ""), |s| (s.meta.name.as_str(), s.meta.group.as_str()));
                layout::matches(&filter, a.sensor.as_str(), name, group)
                    || a.message.to_lowercase().contains(&filter)
            })
            .collect();
        alarms.sort_by(|a, b| {
            (a.priority, std::cmp::Reverse(a.raised_ms))
                .cmp(&(b.priority, std::cmp::Reverse(b.raised_ms)))
        });
        alarms
    }

    pub(super) fn alarm_action(&mut self, action: Action) -> Vec<Effect> {
        let alarms = self.visible_alarms();
        if action == Action::AckAll {
            let keys: Vec<String> = alarms
                .iter()
                .filter(|a| a.state.needs_ack())
                .map(|a| a.key.clone())
                .collect();
            if keys.is_empty() {
                self.toast("no unacknowledged alarms to acknowledge");
            } else {
                self.overlay = Some(Overlay::ConfirmAckAll { keys });
            }
            return Vec::new();
        }
        let Some(alarm) = self.selected_alarm(&alarms).cloned() else {
            self.toast("no alarm selected");
            return Vec::new();
        };
        let operator = self.config.operator.clone();
        let key = alarm.key;
        let command = match action {
            Action::Ack if !alarm.state.needs_ack() => {
                self.toast(format!("{key} is already acknowledged"));
                return Vec::new();
            }
            Action::Ack => AlarmCommand::Ack { key, operator },
            Action::Shelve if alarm.state == AlarmState::Shelved => {
                self.toast(format!("{key} is already shelved; unshelve it first"));
                return Vec::new();
            }
            Action::Shelve => {
                let default = ShelveChoice::For(self.config.shelve_ms);
                let selected = self
                    .shelve_choices()
                    .iter()
                    .position(|c| *c == default)
                    .unwrap_or(0);
                self.overlay = Some(Overlay::Shelve { key, selected });
                return Vec::new();
            }
            Action::Unshelve if alarm.state != AlarmState::Shelved => {
                self.toast(format!("{key} is not shelved"));
                return Vec::new();
            }
            Action::Unshelve => AlarmCommand::Unshelve { key, operator },
            Action::Comment => {
                self.overlay = Some(Overlay::Comment {
                    key,
                    text: String::new(),
                });
                return Vec::new();
            }
            Action::Reset => AlarmCommand::Reset { key, operator },
            _ => return Vec::new(),
        };
        self.sending(&command);
        vec![Effect::Alarm(command)]
    }

    /// The shelve menu: `[ui] shelve`, the presets, and one-shot.
    pub fn shelve_choices(&self) -> Vec<ShelveChoice> {
        let mut durations: Vec<i64> = SHELVE_PRESETS_MS.to_vec();
        durations.push(self.config.shelve_ms);
        durations.sort_unstable();
        durations.dedup();
        durations
            .into_iter()
            .map(ShelveChoice::For)
            .chain([ShelveChoice::OneShot])
            .collect()
    }

    /// Keys for the shelve menu, the comment prompt and the ack-all
    /// confirmation; `None` when none of them is open.
    pub(super) fn alarm_overlay_key(&mut self, key: &KeyEvent) -> Option<Vec<Effect>> {
        let operator = self.config.operator.clone();
        let choices = self.shelve_choices();
        let overlay = self.overlay.take()?;
        let (keep, command) = match overlay {
            Overlay::Shelve {
                key: alarm,
                selected,
            } => shelve_key(key, alarm, selected, &choices, operator),
            Overlay::Comment { key: alarm, text } => comment_key(key, alarm, text, operator),
            Overlay::ConfirmAckAll { keys } => {
                let yes = matches!(key.code, KeyCode::Char('y' | 'Y') | KeyCode::Enter)
                    || self.config.keymap.action(key) == Some(Action::AckAll);
                (None, yes.then_some(AlarmCommand::AckAll { keys, operator }))
            }
            other => {
                self.overlay = Some(other);
                return None;
            }
        };
        self.overlay = keep;
        Some(match command {
            Some(command) => {
                self.sending(&command);
                vec![Effect::Alarm(command)]
            }
            None => Vec::new(),
        })
    }

    /// The alarm `a`/`s` act on: the highlighted one in the alarm pane, or
    /// (from the tiles or the detail view) the most urgent alarm of the
    /// selected sensor.
    fn selected_alarm<'a>(&self, alarms: &[&'a AlarmView]) -> Option<&'a AlarmView> {
        let sensor = match (self.screen, self.focus) {
            (Screen::Dashboard, Focus::Alarms) => return alarms.get(self.alarm_cursor).copied(),
            (Screen::Detail, _) => self.detail.as_ref().map(|d| d.sensor.clone()),
            _ => match self.effective_cursor() {
                Some(Cursor::Sensor(id)) => Some(id),
                _ => None,
            },
        };
        let sensor = sensor?;
        alarms.iter().copied().find(|a| a.sensor == sensor)
    }

    pub(super) fn move_alarm_cursor(&mut self, action: Action) {
        let n = self.visible_alarms().len();
        let last = n.saturating_sub(1);
        self.alarm_cursor = match action {
            Action::Up | Action::Left => self.alarm_cursor.saturating_sub(1),
            Action::Down | Action::Right => (self.alarm_cursor + 1).min(last),
            Action::PageUp => self.alarm_cursor.saturating_sub(5),
            Action::PageDown => (self.alarm_cursor + 5).min(last),
            Action::First => 0,
            Action::Last => last,
            _ => self.alarm_cursor,
        };
    }
}

/// The shelve menu's keys: move, pick by number, Enter shelves, Esc cancels.
fn shelve_key(
    key: &KeyEvent,
    alarm: String,
    selected: usize,
    choices: &[ShelveChoice],
    operator: String,
) -> (Option<Overlay>, Option<AlarmCommand>) {
    let last = choices.len().saturating_sub(1);
    let pick = match key.code {
        KeyCode::Esc => return (None, None),
        KeyCode::Enter => Some(selected),
        KeyCode::Char(c @ '1'..='9') => Some(c as usize - '1' as usize).filter(|i| *i <= last),
        _ => None,
    };
    if let Some(i) = pick {
        let command = match choices.get(i) {
            Some(ShelveChoice::For(for_ms)) => AlarmCommand::Shelve {
                key: alarm,
                for_ms: *for_ms,
                operator,
            },
            _ => AlarmCommand::ShelveOneShot {
                key: alarm,
                operator,
            },
        };
        return (None, Some(command));
    }
    let selected = match key.code {
        KeyCode::Up | KeyCode::Char('k') => selected.saturating_sub(1),
        KeyCode::Down | KeyCode::Char('j') => (selected + 1).min(last),
        _ => selected,
    };
    (
        Some(Overlay::Shelve {
            key: alarm,
            selected,
        }),
        None,
    )
}

/// The comment prompt's keys: type, Backspace, Enter records, Esc cancels.
fn comment_key(
    key: &KeyEvent,
    alarm: String,
    mut text: String,
    operator: String,
) -> (Option<Overlay>, Option<AlarmCommand>) {
    match key.code {
        KeyCode::Esc => return (None, None),
        KeyCode::Enter if text.trim().is_empty() => return (None, None),
        KeyCode::Enter => {
            let command = AlarmCommand::Comment {
                key: alarm,
                text: text.trim().to_owned(),
                operator,
            };
            return (None, Some(command));
        }
        KeyCode::Backspace => {
            text.pop();
        }
        KeyCode::Char(c)
            if !key.modifiers.contains(KeyModifiers::CONTROL)
                && text.chars().count() < MAX_COMMENT =>
        {
            text.push(c)
        }
        _ => {}
    }
    (Some(Overlay::Comment { key: alarm, text }), None)
}

/// Unacknowledged high and critical alarms: a new one rings the bell (ISA-18.2
/// annunciation by priority; medium and low alarms only show in the list).
pub(super) fn unacked_keys(live: &LiveState) -> HashSet<String> {
    live.alarms
        .iter()
        .filter(|a| a.state.needs_ack() && a.priority <= crate::alarm::Priority::High)
        .map(|a| a.key.clone())
        .collect()
}
