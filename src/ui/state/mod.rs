//! The console's own state and the one place it changes. Keys, snapshots,
//! history answers and ticks come in; [`Effect`]s (I/O for the update loop
//! to perform) go out. Nothing here touches the terminal, the engine or the
//! database, so all of it runs in tests with fixed data.
//!
//! This file holds what every screen shares (the clock, toasts, the filter,
//! overlays) and routes keys and actions to the screens. Convention for
//! per-screen state: a screen with state of its own keeps it in one
//! `Option<...>` field of [`UiState`] (`detail`, `invoice`, `journal`), set
//! when the screen opens; that struct and the screen's `impl UiState` block
//! (open, keys, worker answers) live in the screen's file here. The worker
//! beside it (`ui::history`, `ui::journal`, `ui::invoice`, `ui::replay`)
//! holds only queries and answers, and imports nothing from `state`.
//! [`types`] is the leaf both sides share.

mod alarms;
mod confirm;
mod dashboard;
mod detail;
mod export;
mod invoice;
pub mod journal;
pub mod replay;
mod row_detail;
mod types;

pub use alarms::{MAX_COMMENT, ShelveChoice};
pub use detail::{Detail, WINDOWS};
pub use invoice::InvoiceView;
pub use journal::JournalView;
pub use row_detail::RowDetail;
pub use types::{Effect, Focus, Overlay, Screen};

use crate::engine::LiveState;
use crate::model::TimestampMs;
use crate::ui::config::UiConfig;
use crate::ui::keys::Action;
use crate::ui::layout::Cursor;
use crate::ui::theme::Theme;
use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::Rect;
use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

/// How long a footer message stays (the idle tick clears it).
pub const TOAST_MS: i64 = 5_000;

#[derive(Clone, Debug, PartialEq)]
pub struct Toast {
    pub text: String,
    pub until_ms: TimestampMs,
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
    /// The highlighted source on the status screen (`Enter` shows it whole).
    pub status_cursor: usize,
    pub detail: Option<Detail>,
    pub invoice: Option<InvoiceView>,
    pub journal: Option<JournalView>,
    /// A replay started from the console is on screen (Esc leaves it).
    pub replay_view: bool,
    /// The replay's seek prompt, while it is being typed.
    pub seek_input: Option<String>,
    next_request: u64,
    known_unacked: HashSet<String>,
    /// Alarm actions sent and not yet shown done by a snapshot.
    pending: Vec<confirm::Pending>,
}

impl UiState {
    pub fn new(config: Arc<UiConfig>, live: Arc<LiveState>, now_ms: TimestampMs) -> Self {
        let theme = config.initial_theme;
        let known_unacked = alarms::unacked_keys(&live);
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
            status_cursor: 0,
            detail: None,
            invoice: None,
            journal: None,
            replay_view: false,
            seek_input: None,
            next_request: 0,
            known_unacked,
            pending: Vec::new(),
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
        self.take_snapshot(live, true)
    }

    /// Shows `live`; a refusal it carries is told when `news` and new.
    fn take_snapshot(&mut self, live: Arc<LiveState>, news: bool) -> Vec<Effect> {
        let refused = news && live.refused.is_some() && live.refused != self.live.refused;
        if refused {
            let why = live.refused.as_ref().map(|(_, why)| why.clone());
            self.toast(format!("refused: {}", why.unwrap_or_default()));
        }
        self.live = live;
        self.confirm_sent(refused);
        let unacked = alarms::unacked_keys(&self.live);
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
        self.expire_sent();
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

    /// Another engine takes the screen (a replay, or the live plant back from
    /// one): its snapshot is shown, but what it refused before is old news,
    /// and actions sent to the other engine are no longer waited for.
    pub fn switch_engine(&mut self, live: Arc<LiveState>) -> Vec<Effect> {
        self.pending.clear();
        self.take_snapshot(live, false)
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
        if let Some(effects) = replay::on_key(self, key) {
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
            Some(Overlay::RowDetail(popup)) => self.row_detail_key(popup, action),
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
                Screen::Status => self.status_action(action),
            },
        }
    }

    fn status_action(&mut self, action: Action) -> Vec<Effect> {
        let last = self.live.sources.len().saturating_sub(1);
        match action {
            Action::Back | Action::NextPane => {
                self.screen = Screen::Dashboard;
                self.focus = Focus::Tiles;
            }
            Action::Up => self.status_cursor = self.status_cursor.saturating_sub(1),
            Action::Down => self.status_cursor = (self.status_cursor + 1).min(last),
            Action::First => self.status_cursor = 0,
            Action::Last => self.status_cursor = last,
            Action::Detail => {
                if let Some(source) = self.live.sources.get(self.status_cursor).cloned() {
                    self.open_source_row(&source);
                }
            }
            _ => {}
        }
        Vec::new()
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
}
