//! The export key: what each view writes to CSV, and the outcome.

use super::{Effect, Focus, Screen, UiState};
use crate::report::{ReportError, TimeRange, View};
use crate::ui::layout;

impl UiState {
    /// What the export key writes: the detail view's sensor over its window,
    /// the alarm pane's alarms (their journal since the oldest was raised), or
    /// the dashboard's sensors (those the filter shows) over the live window.
    pub(super) fn export_action(&mut self) -> Vec<Effect> {
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
                        events: Vec::new(),
                        states: Vec::new(),
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
    pub fn on_export(&mut self, result: Result<(std::path::PathBuf, u64), ReportError>) {
        match result {
            Ok((path, rows)) => self.toast(format!("exported {rows} rows to {}", path.display())),
            Err(e) => self.toast(format!("export failed: {e}")),
        }
    }
}
