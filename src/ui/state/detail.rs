//! The detail view of one sensor: its history window, zoom and pan, and the
//! history worker's answers.

use super::{Effect, Screen, UiState};
use crate::model::{SensorId, TimestampMs};
use crate::ui::history::{DetailData, DetailQuery, HistoryLoadError};
use crate::ui::keys::Action;

/// History windows of the detail view, shortest first.
pub const WINDOWS: [(&str, i64); 5] = [
    ("15m", 15 * 60_000),
    ("1h", 3_600_000),
    ("8h", 8 * 3_600_000),
    ("24h", 24 * 3_600_000),
    ("7d", 7 * 24 * 3_600_000),
];
const DEFAULT_WINDOW: usize = 1;

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
    /// First row of the side panel shown (it scrolls with the up/down keys
    /// when it is taller than the screen).
    pub side_scroll: u16,
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

impl UiState {
    pub fn on_history(&mut self, request: u64, result: Result<DetailData, HistoryLoadError>) {
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
            Err(e) => detail.error = Some(e.to_string()),
        }
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
            side_scroll: 0,
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

    pub(super) fn detail_action(&mut self, action: Action) -> Vec<Effect> {
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
            // The side panel scrolls; drawing stops it at its last row.
            Action::Up | Action::Down | Action::PageUp | Action::PageDown | Action::First => {
                detail.side_scroll = match action {
                    Action::Up => detail.side_scroll.saturating_sub(1),
                    Action::PageUp => detail.side_scroll.saturating_sub(10),
                    Action::Down => detail.side_scroll.saturating_add(1),
                    Action::PageDown => detail.side_scroll.saturating_add(10),
                    _ => 0,
                };
                return Vec::new();
            }
            _ => return Vec::new(),
        }
        self.load_detail()
    }
}
