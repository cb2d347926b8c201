//! The console's own state and the one place it changes. Keys, snapshots,
//! history answers and ticks come in; [`Effect`]s (I/O for the update loop
//! to perform) go out. Nothing here touches the terminal, the engine or the
//! database, so all of it runs in tests with fixed data.

use super::UiConfig;
use super::history::{DetailData, DetailQuery};
use super::invoice::{ConsumptionPanel, InvoiceAnswer, InvoiceRequest};
use super::keys::Action;
use super::layout::{self, Cursor, Row};
use super::theme::Theme;
use crate::alarm::{AlarmCommand, AlarmState, AlarmView};
use crate::billing::Invoice;
use crate::engine::LiveState;
use crate::model::{SensorId, TimestampMs};
use crate::report::{TimeRange, View};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::Rect;
use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

/// History windows of the detail view, shortest first.
pub const WINDOWS: [(&str, i64); 5] = [
    ("15m", 15 * 60_000),
    ("1h", 3_600_000),
    ("8h", 8 * 3_600_000),
    ("24h", 24 * 3_600_000),
    ("7d", 7 * 24 * 3_600_000),
];
const DEFAULT_WINDOW: usize = 1;
const TOAST_MS: i64 = 4_000;

/// What the update loop must do after a state change.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    Quit,
    Alarm(AlarmCommand),
    LoadDetail(DetailQuery),
    Invoice(InvoiceRequest),
    Bell,
    /// Write what the view shows to a CSV file (see [`crate::report::view`]).
    Export(View),
    /// Control the replay on screen.
    Replay(crate::source::replay::ReplayCommand),
    /// List CSV files for the replay picker.
    OpenReplayPicker,
    /// Replay this file in a view of its own.
    StartReplay(std::path::PathBuf),
    /// Leave the replay view, back to the live plant.
    StopReplay,
    /// Read the alarm journal and its KPIs for the journal view.
    LoadJournal(super::journal::JournalQuery),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    Dashboard,
    Detail,
    Status,
    /// The invoice preview of one meter.
    Invoice,
    /// The alarm journal with filters and the alarm KPIs.
    Journal,
}

/// Which dashboard pane has the keyboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    Tiles,
    Alarms,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Overlay {
    Help,
    ConfirmQuit {
        unacked: usize,
    },
    ReplayPicker(super::replay::Picker),
    /// Acknowledge these alarms (every unacknowledged one in view) on `y`.
    ConfirmAckAll {
        keys: Vec<String>,
    },
    /// How long to shelve this alarm: one of [`UiState::shelve_choices`].
    Shelve {
        key: String,
        selected: usize,
    },
    /// A comment being typed for this alarm's journal.
    Comment {
        key: String,
        text: String,
    },
}

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

#[derive(Clone, Debug, PartialEq)]
pub struct Toast {
    pub text: String,
    pub until_ms: TimestampMs,
}

/// The detail view of one sensor.
#[derive(Clone, Debug, PartialEq)]
pub struct Detail {
    pub sensor: SensorId,
    pub window: usize,
    /// End of the shown window; `None` follows the present.
    pub end_ms: Option<TimestampMs>,
    pub data: Option<DetailData>,
    pub error: Option<String>,
    /// Id of the newest request; older answers are dropped.
    pub request: u64,
    pub requested_ms: TimestampMs,
}

impl Detail {
    pub fn window_ms(&self) -> i64 {
        WINDOWS[self.window].1
    }
    pub fn range(&self, now: TimestampMs) -> (TimestampMs, TimestampMs) {
        let end = self.end_ms.unwrap_or(now);
        (end - self.window_ms(), end)
    }
}

/// How many months back the invoice preview may go.
const MAX_MONTHS_BACK: u32 = 120;

/// The invoice preview of one meter and its consumption panel.
#[derive(Clone, Debug)]
pub struct InvoiceView {
    pub meter: SensorId,
    /// 0 = this month so far, 1 = the last complete month, ...
    pub months_back: u32,
    pub request: u64,
    pub invoice: Option<Arc<Invoice>>,
    /// The invoice as printed (the text rendering), one entry per line.
    pub lines: Vec<String>,
    pub error: Option<String>,
    pub panel: Option<Result<ConsumptionPanel, String>>,
    pub scroll: usize,
    /// Where `Back` returns to.
    pub back_to: Screen,
}

pub struct UiState {
    pub config: Arc<UiConfig>,
    pub live: Arc<LiveState>,
    pub now_ms: TimestampMs,
    pub size: Rect,
    pub screen: Screen,
    pub focus: Focus,
    pub overlay: Option<Overlay>,
    pub cursor: Option<Cursor>,
    pub alarm_cursor: usize,
    pub filter: String,
    pub filter_editing: bool,
    pub collapsed: BTreeSet<String>,
    pub theme: usize,
    pub toast: Option<Toast>,
    /// First line of the help shown (it scrolls on short terminals).
    pub help_scroll: usize,
    pub detail: Option<Detail>,
    pub invoice: Option<InvoiceView>,
    pub journal: Option<super::journal::JournalView>,
    /// A replay started from the console is on screen (Esc leaves it).
    pub replay_view: bool,
    /// The replay's seek prompt, while it is being typed.
    pub seek_input: Option<String>,
    pub(super) next_request: u64,
    known_unacked: HashSet<String>,
}

impl UiState {
    pub fn new(config: Arc<UiConfig>, live: Arc<LiveState>, now_ms: TimestampMs) -> Self {
        let theme = config.initial_theme;
        let known_unacked = unacked_keys(&live);
        UiState {
            config,
            live,
            now_ms,
            size: Rect::new(0, 0, 80, 24),
            screen: Screen::Dashboard,
            focus: Focus::Tiles,
            overlay: None,
            cursor: None,
            alarm_cursor: 0,
            filter: String::new(),
            filter_editing: false,
            collapsed: BTreeSet::new(),
            theme,
            toast: None,
            help_scroll: 0,
            detail: None,
            invoice: None,
            journal: None,
            replay_view: false,
            seek_input: None,
            next_request: 0,
            known_unacked,
        }
    }

    /// The time the views show: the replayed time during a replay, else the wall clock.
    pub fn clock(&self) -> TimestampMs {
        self.live
            .replay
            .as_ref()
            .map_or(self.now_ms, |r| r.position_ms)
    }

    pub fn theme(&self) -> &Theme {
        &self.config.themes[self.theme.min(self.config.themes.len().saturating_sub(1))]
    }

    pub fn on_event(&mut self, event: &Event) -> Vec<Effect> {
        match event {
            Event::Key(key) if key.kind != KeyEventKind::Release => self.on_key(key),
            Event::Resize(w, h) => {
                self.size = Rect::new(0, 0, *w, *h);
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    pub fn on_snapshot(&mut self, live: Arc<LiveState>) -> Vec<Effect> {
        if live.refused.is_some() && live.refused != self.live.refused {
            let why = live.refused.as_ref().map(|(_, why)| why.clone());
            self.toast(format!("refused: {}", why.unwrap_or_default()));
        }
        self.live = live;
        let unacked = unacked_keys(&self.live);
        let new_alarm = unacked.iter().any(|k| !self.known_unacked.contains(k));
        self.known_unacked = unacked;
        self.alarm_cursor = self
            .alarm_cursor
            .min(self.visible_alarms().len().saturating_sub(1));
        if new_alarm && self.config.bell {
            vec![Effect::Bell]
        } else {
            Vec::new()
        }
    }

    /// The slow tick: the clock, toasts and a live detail window move on.
    pub fn on_tick(&mut self, now: TimestampMs) -> Vec<Effect> {
        self.now_ms = now;
        if self.toast.as_ref().is_some_and(|t| now >= t.until_ms) {
            self.toast = None;
        }
        let clock = self.clock();
        let refresh_due = self.detail.as_ref().is_some_and(|d| {
            d.end_ms.is_none() && (clock - d.requested_ms).abs() >= (d.window_ms() / 200).max(5_000)
        });
        if refresh_due && self.screen == Screen::Detail {
            return self.load_detail();
        }
        if self.journal_refresh_due() {
            return self.load_journal();
        }
        Vec::new()
    }

    pub fn on_history(&mut self, request: u64, result: Result<DetailData, String>) {
        let Some(detail) = self.detail.as_mut() else {
            return;
        };
        if detail.request != request {
            return;
        }
        match result {
            Ok(data) => {
                detail.data = Some(data);
                detail.error = None;
            }
            Err(e) => detail.error = Some(e),
        }
    }

    /// Opens the replay picker on these files (or says there are none).
    pub fn open_replay_picker(&mut self, files: Vec<std::path::PathBuf>, looked_in: &str) {
        if files.is_empty() {
            self.toast(format!("no CSV files in {looked_in}"));
        } else {
            self.overlay = Some(Overlay::ReplayPicker(super::replay::Picker {
                files,
                selected: 0,
            }));
        }
    }

    pub fn toast(&mut self, text: impl Into<String>) {
        self.toast = Some(Toast {
            text: text.into(),
            until_ms: self.now_ms + TOAST_MS,
        });
    }

    fn on_key(&mut self, key: &KeyEvent) -> Vec<Effect> {
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return vec![Effect::Quit];
        }
        // Esc quickly followed by a key arrives as Alt+key (the terminal sends
        // both bytes at once, over SSH more often still). Unless Alt+key is bound,
        // it is what the operator typed: Esc, then the key.
        if key.modifiers.contains(KeyModifiers::ALT) && self.config.keymap.action(key).is_none() {
            let esc = KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE);
            let plain = KeyEvent::new(key.code, key.modifiers - KeyModifiers::ALT);
            let mut effects = self.on_key(&esc);
            effects.extend(self.on_key(&plain));
            return effects;
        }
        if self.filter_editing {
            return self.edit_filter(key);
        }
        if let Some(effects) = super::replay::on_key(self, key) {
            return effects;
        }
        if let Some(effects) = self.alarm_overlay_key(key) {
            return effects;
        }
        let action = self.config.keymap.action(key);
        match self.overlay.take() {
            Some(Overlay::ConfirmQuit { unacked }) => {
                if matches!(key.code, KeyCode::Char('y' | 'Y')) || action == Some(Action::Quit) {
                    return vec![Effect::Quit];
                }
                let _ = unacked;
                Vec::new()
            }
            Some(Overlay::Help)
                if matches!(
                    action,
                    Some(Action::Up | Action::Down | Action::PageUp | Action::PageDown)
                ) =>
            {
                self.help_scroll = match action {
                    Some(Action::Up) => self.help_scroll.saturating_sub(1),
                    Some(Action::PageUp) => self.help_scroll.saturating_sub(10),
                    Some(Action::PageDown) => (self.help_scroll + 10).min(Action::ALL.len()),
                    _ => (self.help_scroll + 1).min(Action::ALL.len()),
                };
                self.overlay = Some(Overlay::Help);
                Vec::new()
            }
            // Any other key closes the help; Quit still quits from there.
            Some(Overlay::Help) if action != Some(Action::Quit) => Vec::new(),
            _ => match action {
                Some(action) => self.apply(action),
                None => Vec::new(),
            },
        }
    }

    /// The text the filter key edits: the journal's sensor filter on the
    /// journal screen, the dashboard's filter everywhere else.
    pub fn filter_text(&self) -> &str {
        match (&self.journal, self.screen) {
            (Some(j), Screen::Journal) => &j.sensor,
            _ => &self.filter,
        }
    }

    fn filter_text_mut(&mut self) -> &mut String {
        match (&mut self.journal, self.screen) {
            (Some(j), Screen::Journal) => &mut j.sensor,
            _ => &mut self.filter,
        }
    }

    fn edit_filter(&mut self, key: &KeyEvent) -> Vec<Effect> {
        let before = self.filter_text().to_owned();
        match key.code {
            KeyCode::Enter => self.filter_editing = false,
            KeyCode::Esc => {
                self.filter_editing = false;
                self.filter_text_mut().clear();
            }
            KeyCode::Backspace => {
                self.filter_text_mut().pop();
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.filter_text_mut().push(c)
            }
            _ => {}
        }
        self.alarm_cursor = 0;
        if self.screen == Screen::Journal && self.filter_text() != before {
            return self.journal_filter_edited();
        }
        Vec::new()
    }

    /// Performs one named action.
    pub fn apply(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::Quit => self.quit(),
            Action::Help => {
                self.overlay = Some(Overlay::Help);
                self.help_scroll = 0;
                Vec::new()
            }
            Action::Filter => {
                if self.screen != Screen::Journal {
                    self.screen = Screen::Dashboard;
                }
                self.filter_editing = true;
                Vec::new()
            }
            Action::NextTheme => {
                self.theme = (self.theme + 1) % self.config.themes.len().max(1);
                let name = self.theme().name.clone();
                self.toast(format!("theme: {name}"));
                Vec::new()
            }
            Action::Status => {
                self.screen = match self.screen {
                    Screen::Status => Screen::Dashboard,
                    _ => Screen::Status,
                };
                Vec::new()
            }
            Action::Ack
            | Action::AckAll
            | Action::Shelve
            | Action::Unshelve
            | Action::Comment
            | Action::Reset => self.alarm_action(action),
            Action::Journal => self.open_journal(),
            Action::Invoice => self.open_invoice(),
            Action::SaveInvoice => self.save_invoice(),
            Action::Export => self.export_action(),
            Action::Replay => vec![Effect::OpenReplayPicker],
            _ => match self.screen {
                Screen::Dashboard => self.dashboard_action(action),
                Screen::Detail => self.detail_action(action),
                Screen::Invoice => self.invoice_action(action),
                Screen::Journal => self.journal_action(action),
                Screen::Status => {
                    if matches!(action, Action::Back | Action::NextPane) {
                        self.screen = Screen::Dashboard;
                        self.focus = Focus::Tiles;
                    }
                    Vec::new()
                }
            },
        }
    }

    /// What the export key writes: the detail view's sensor over its window,
    /// the alarm pane's alarms (their journal since the oldest was raised), or
    /// the dashboard's sensors (those the filter shows) over the live window.
    fn export_action(&mut self) -> Vec<Effect> {
        let now = self.clock();
        let view = match (self.screen, self.focus) {
            // The window's end is shown (a replay's clock is its last reading's time).
            (Screen::Detail, _) => self.detail.as_ref().map(|d| {
                let (from, to) = d.range(now);
                View::Readings {
                    sensors: vec![d.sensor.to_string()],
                    range: TimeRange { from, to: to + 1 },
                }
            }),
            (Screen::Dashboard, Focus::Alarms) => {
                let alarms = self.visible_alarms();
                let mut sensors: Vec<String> =
                    alarms.iter().map(|a| a.sensor.to_string()).collect();
                sensors.sort();
                sensors.dedup();
                alarms
                    .iter()
                    .map(|a| a.raised_ms)
                    .min()
                    .map(|from| View::AlarmJournal {
                        range: TimeRange { from, to: now + 1 },
                        priorities: Vec::new(),
                        sensors,
                    })
            }
            (Screen::Dashboard, Focus::Tiles) => {
                let filter = self.filter.to_lowercase();
                let sensors: Vec<String> = self
                    .live
                    .sensors
                    .iter()
                    .map(|s| &s.meta)
                    .filter(|m| layout::matches(&filter, m.id.as_str(), &m.name, &m.group))
                    .map(|m| m.id.to_string())
                    .collect();
                (!sensors.is_empty()).then(|| View::Readings {
                    sensors,
                    range: TimeRange {
                        from: now - self.config.live_window_ms,
                        to: now + 1,
                    },
                })
            }
            (Screen::Journal, _) => self.journal_export_view(),
            (Screen::Status | Screen::Invoice, _) => None,
        };
        match view {
            Some(view) => {
                self.toast("exporting to CSV…");
                vec![Effect::Export(view)]
            }
            None => {
                self.toast("nothing to export in this view");
                Vec::new()
            }
        }
    }

    /// The outcome of an export: where the file went, or why it failed.
    pub fn on_export(&mut self, result: Result<(std::path::PathBuf, u64), String>) {
        match result {
            Ok((path, rows)) => self.toast(format!("exported {rows} rows to {}", path.display())),
            Err(e) => self.toast(format!("export failed: {e}")),
        }
    }

    fn quit(&mut self) -> Vec<Effect> {
        let unacked = self
            .live
            .alarms
            .iter()
            .filter(|a| a.state.needs_ack())
            .count();
        if unacked > 0 {
            self.overlay = Some(Overlay::ConfirmQuit { unacked });
            Vec::new()
        } else {
            vec![Effect::Quit]
        }
    }

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

    fn alarm_action(&mut self, action: Action) -> Vec<Effect> {
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
            Action::Ack => {
                self.toast(format!("acknowledging {key} as {operator}"));
                AlarmCommand::Ack { key, operator }
            }
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
            Action::Unshelve => {
                self.toast(format!("unshelving {key} as {operator}"));
                AlarmCommand::Unshelve { key, operator }
            }
            Action::Comment => {
                self.overlay = Some(Overlay::Comment {
                    key,
                    text: String::new(),
                });
                return Vec::new();
            }
            Action::Reset => {
                self.toast(format!(
                    "resetting {key}: a latched alarm resets once acknowledged and back to normal"
                ));
                AlarmCommand::Reset { key, operator }
            }
            _ => return Vec::new(),
        };
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
    fn alarm_overlay_key(&mut self, key: &KeyEvent) -> Option<Vec<Effect>> {
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
                self.toast(command_toast(&command));
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

    /// The dashboard grid for the current size and filter.
    pub fn grid(&self) -> (Vec<Row>, layout::DashboardAreas) {
        let areas = layout::dashboard(self.size);
        let cols = layout::columns(areas.tiles.width);
        let rows = layout::rows(&self.live, &self.filter, &self.collapsed, cols);
        (rows, areas)
    }

    /// What the cursor is on as shown (the first sensor when it is lost).
    pub fn effective_cursor(&self) -> Option<Cursor> {
        let (rows, _) = self.grid();
        let (r, c) = self.cursor_position(&rows);
        layout::cursor_at(&rows, &self.live, r, c)
    }

    /// Row and column of the cursor; on the first sensor when it is lost.
    pub fn cursor_position(&self, rows: &[Row]) -> (usize, usize) {
        self.cursor
            .as_ref()
            .and_then(|c| layout::locate(rows, &self.live, c))
            .or_else(|| {
                rows.iter()
                    .position(|r| matches!(r, Row::Tiles(_)))
                    .map(|r| (r, 0))
            })
            .unwrap_or((0, 0))
    }

    fn dashboard_action(&mut self, action: Action) -> Vec<Effect> {
        if action == Action::NextPane {
            self.focus = match self.focus {
                Focus::Tiles => Focus::Alarms,
                Focus::Alarms => {
                    self.screen = Screen::Status;
                    Focus::Tiles
                }
            };
            return Vec::new();
        }
        if action == Action::Back {
            if self.focus == Focus::Alarms {
                self.focus = Focus::Tiles;
            } else {
                self.filter.clear();
            }
            return Vec::new();
        }
        if self.focus == Focus::Alarms {
            self.move_alarm_cursor(action);
            return Vec::new();
        }
        self.tiles_action(action)
    }

    fn move_alarm_cursor(&mut self, action: Action) {
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

    fn tiles_action(&mut self, action: Action) -> Vec<Effect> {
        let (rows, areas) = self.grid();
        if rows.is_empty() {
            return Vec::new();
        }
        let (r, c) = self.cursor_position(&rows);
        let last_row = rows.len() - 1;
        let width = |row: usize| rows[row].len().max(1);
        let (nr, nc) = match action {
            Action::Down => ((r + 1).min(last_row), c),
            Action::Up => (r.saturating_sub(1), c),
            Action::Right if c + 1 < width(r) => (r, c + 1),
            Action::Right => ((r + 1).min(last_row), if r < last_row { 0 } else { c }),
            Action::Left if c > 0 => (r, c - 1),
            Action::Left if r > 0 => (r - 1, width(r - 1) - 1),
            Action::Left => (r, c),
            Action::PageDown | Action::PageUp => {
                let pages = layout::pages(&rows, areas.tiles.height);
                let page = pages.iter().position(|p| p.contains(&r)).unwrap_or(0);
                let target = if action == Action::PageDown {
                    (page + 1).min(pages.len().saturating_sub(1))
                } else {
                    page.saturating_sub(1)
                };
                (pages.get(target).map_or(r, |p| p.start), 0)
            }
            Action::First => (0, 0),
            Action::Last => (last_row, width(last_row) - 1),
            Action::NextGroup => (
                (r + 1..rows.len())
                    .find(|i| matches!(rows[*i], Row::Group { .. }))
                    .unwrap_or(r),
                0,
            ),
            Action::PrevGroup => {
                let heading = (0..=r)
                    .rev()
                    .find(|i| matches!(rows[*i], Row::Group { .. }));
                let before = heading
                    .and_then(|h| (0..h).rev().find(|i| matches!(rows[*i], Row::Group { .. })));
                // On a tile, go to its own heading first; on a heading, to the one before.
                let target = if heading == Some(r) { before } else { heading };
                (target.unwrap_or(r), 0)
            }
            Action::ToggleGroup => {
                self.toggle_group(&rows, r);
                return Vec::new();
            }
            Action::Detail => {
                return match &rows[r] {
                    Row::Group { .. } => {
                        self.toggle_group(&rows, r);
                        Vec::new()
                    }
                    Row::Tiles(tiles) => {
                        let i = tiles[c.min(tiles.len() - 1)];
                        let id = self.live.sensors[i].meta.id.clone();
                        self.open_detail(id)
                    }
                };
            }
            _ => (r, c),
        };
        let nc = nc.min(width(nr) - 1);
        self.cursor = layout::cursor_at(&rows, &self.live, nr, nc);
        Vec::new()
    }

    fn toggle_group(&mut self, rows: &[Row], row: usize) {
        let Some(group) = layout::group_of(rows, row).map(str::to_owned) else {
            return;
        };
        if !self.collapsed.remove(&group) {
            self.collapsed.insert(group.clone());
        }
        self.cursor = Some(Cursor::Group(group));
    }

    pub fn open_detail(&mut self, sensor: SensorId) -> Vec<Effect> {
        self.screen = Screen::Detail;
        self.detail = Some(Detail {
            sensor,
            window: DEFAULT_WINDOW,
            end_ms: None,
            data: None,
            error: None,
            request: 0,
            requested_ms: self.clock(),
        });
        self.load_detail()
    }

    pub fn load_detail(&mut self) -> Vec<Effect> {
        let now = self.clock();
        let width = self.size.width;
        self.next_request += 1;
        let request = self.next_request;
        let Some(detail) = self.detail.as_mut() else {
            return Vec::new();
        };
        detail.request = request;
        detail.requested_ms = now;
        let (from, to) = detail.range(now);
        vec![Effect::LoadDetail(DetailQuery {
            request,
            sensor: detail.sensor.clone(),
            from,
            to,
            buckets: usize::from(width).clamp(20, 400),
        })]
    }

    fn detail_action(&mut self, action: Action) -> Vec<Effect> {
        let now = self.clock();
        let Some(detail) = self.detail.as_mut() else {
            self.screen = Screen::Dashboard;
            return Vec::new();
        };
        match action {
            Action::Back | Action::Detail | Action::NextPane => {
                self.screen = Screen::Dashboard;
                return Vec::new();
            }
            Action::ZoomIn => detail.window = detail.window.saturating_sub(1),
            Action::ZoomOut => detail.window = (detail.window + 1).min(WINDOWS.len() - 1),
            Action::Left => {
                let end = detail.end_ms.unwrap_or(now);
                detail.end_ms = Some(end - detail.window_ms() / 2);
            }
            Action::Right => {
                let end = detail.end_ms.map(|e| e + detail.window_ms() / 2);
                detail.end_ms = end.filter(|e| *e < now);
            }
            Action::Last => detail.end_ms = None,
            _ => return Vec::new(),
        }
        self.load_detail()
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

fn command_toast(command: &AlarmCommand) -> String {
    let who = command.operator();
    match command {
        AlarmCommand::Shelve { key, for_ms, .. } => format!(
            "shelving {key} for {} as {who}",
            humantime::format_duration(std::time::Duration::from_millis((*for_ms).max(0) as u64))
        ),
        AlarmCommand::ShelveOneShot { key, .. } => {
            format!("shelving {key} until it returns to normal, as {who}")
        }
        AlarmCommand::Comment { key, .. } => format!("comment on {key} recorded as {who}"),
        AlarmCommand::AckAll { keys, .. } => {
            format!("acknowledging {} alarm(s) as {who}", keys.len())
        }
        _ => format!("alarm action sent as {who}"),
    }
}

/// Unacknowledged high and critical alarms: a new one rings the bell (ISA-18.2
/// annunciation by priority; medium and low alarms only show in the list).
fn unacked_keys(live: &LiveState) -> HashSet<String> {
    live.alarms
        .iter()
        .filter(|a| a.state.needs_ack() && a.priority <= crate::alarm::Priority::High)
        .map(|a| a.key.clone())
        .collect()
}
/// The invoice preview: open, switch period, scroll, save.
impl UiState {
    /// The sensor the keys act on: the detail's, the preview's, or the tile under the cursor.
    fn selected_sensor(&self) -> Option<SensorId> {
        match self.screen {
            Screen::Detail => self.detail.as_ref().map(|d| d.sensor.clone()),
            Screen::Invoice => self.invoice.as_ref().map(|v| v.meter.clone()),
            _ => match self.effective_cursor() {
                Some(Cursor::Sensor(id)) => Some(id),
                _ => None,
            },
        }
    }

    fn open_invoice(&mut self) -> Vec<Effect> {
        let Some(sensor) = self.selected_sensor() else {
            self.toast("select a meter first");
            return Vec::new();
        };
        if !self.config.meters.contains(sensor.as_str()) {
            self.toast(format!(
                "{sensor} is not a meter: give it meter = {{ customer, tariff }} in the config"
            ));
            return Vec::new();
        }
        let back_to = match self.screen {
            Screen::Invoice => self
                .invoice
                .as_ref()
                .map_or(Screen::Dashboard, |v| v.back_to),
            other => other,
        };
        self.invoice = Some(InvoiceView {
            meter: sensor,
            months_back: 1,
            request: 0,
            invoice: None,
            lines: Vec::new(),
            error: None,
            panel: None,
            scroll: 0,
            back_to,
        });
        self.screen = Screen::Invoice;
        let mut effects = self.load_invoice();
        if let Some(view) = &self.invoice {
            effects.push(Effect::Invoice(InvoiceRequest::Consumption {
                request: view.request,
                meter: view.meter.clone(),
                now: self.clock(),
            }));
        }
        effects
    }

    fn load_invoice(&mut self) -> Vec<Effect> {
        self.next_request += 1;
        let request = self.next_request;
        let now = self.clock();
        let Some(view) = self.invoice.as_mut() else {
            return Vec::new();
        };
        view.request = request;
        view.invoice = None;
        view.lines.clear();
        view.error = None;
        view.scroll = 0;
        vec![Effect::Invoice(InvoiceRequest::Preview {
            request,
            meter: view.meter.clone(),
            months_back: view.months_back,
            now,
        })]
    }

    fn invoice_action(&mut self, action: Action) -> Vec<Effect> {
        let Some(view) = self.invoice.as_mut() else {
            self.screen = Screen::Dashboard;
            return Vec::new();
        };
        let last_line = view.lines.len().saturating_sub(1);
        match action {
            Action::Back => {
                self.screen = view.back_to;
                Vec::new()
            }
            Action::Left if view.months_back < MAX_MONTHS_BACK => {
                view.months_back += 1;
                self.load_invoice()
            }
            Action::Right if view.months_back > 0 => {
                view.months_back -= 1;
                self.load_invoice()
            }
            Action::Up => {
                view.scroll = view.scroll.saturating_sub(1);
                Vec::new()
            }
            Action::Down => {
                view.scroll = (view.scroll + 1).min(last_line);
                Vec::new()
            }
            Action::PageUp => {
                view.scroll = view.scroll.saturating_sub(10);
                Vec::new()
            }
            Action::PageDown => {
                view.scroll = (view.scroll + 10).min(last_line);
                Vec::new()
            }
            Action::First => {
                view.scroll = 0;
                Vec::new()
            }
            Action::Last => {
                view.scroll = last_line;
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn save_invoice(&mut self) -> Vec<Effect> {
        let loaded = (self.screen == Screen::Invoice)
            .then(|| self.invoice.as_ref().and_then(|v| v.invoice.clone()))
            .flatten();
        match loaded {
            Some(invoice) => {
                self.toast("saving the invoice...");
                vec![Effect::Invoice(InvoiceRequest::Save(invoice))]
            }
            None => {
                self.toast("no invoice to save: open one with the invoice key on a meter");
                Vec::new()
            }
        }
    }

    pub fn on_invoice(&mut self, answer: InvoiceAnswer) {
        match answer {
            InvoiceAnswer::Saved(Ok(path)) => self.toast(format!("saved {}", path.display())),
            InvoiceAnswer::Saved(Err(e)) => self.toast(format!("could not save: {e}")),
            InvoiceAnswer::Preview(request, result) => {
                let Some(view) = self.invoice.as_mut().filter(|v| v.request == request) else {
                    return;
                };
                match result {
                    Ok(invoice) => {
                        view.lines = crate::billing::render::text(&invoice)
                            .lines()
                            .map(str::to_owned)
                            .collect();
                        view.invoice = Some(invoice);
                    }
                    Err(e) => view.error = Some(e),
                }
            }
            InvoiceAnswer::Consumption(request, result) => {
                if let Some(view) = self.invoice.as_mut().filter(|v| v.request >= request) {
                    view.panel = Some(result);
                }
            }
        }
    }
}
