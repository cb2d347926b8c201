//! The alarm journal view: who did what to which alarm and when, filtered by
//! sensor, priority, event/state and time range, with the alarm-system KPIs
//! of the same range beside it. Rows are read by the `ui::journal` worker;
//! the view's state changes here are pure, like the rest of [`UiState`].

use super::{Effect, Focus, Screen, UiState};
use crate::alarm::Priority;
use crate::alarm::journal::JournalFilter;
use crate::model::TimestampMs;
use crate::report::TimeRange;
use crate::store::AlarmEventRow;
use crate::ui::journal::{
    JournalData, JournalLoadError, JournalQuery, KindFilter, MAX_ROWS, RANGES,
};
use crate::ui::keys::Action;

const DEFAULT_RANGE: usize = 2;
/// How often a journal that follows the present is read again.
const REFRESH_MS: i64 = 5_000;

/// The journal view's filters and what was loaded for them.
#[derive(Clone, Debug, PartialEq)]
pub struct JournalView {
    /// Substring of the sensor id (case-insensitive); edited with the filter key.
    pub sensor: String,
    pub priority: Option<Priority>,
    pub kind: Option<KindFilter>,
    pub range: usize,
    /// End of the shown range; `None` follows the present.
    pub end_ms: Option<TimestampMs>,
    pub cursor: usize,
    pub data: Option<JournalData>,
    pub error: Option<String>,
    pub request: u64,
    pub requested_ms: TimestampMs,
    /// Where `Back` returns to.
    pub back_to: Screen,
}

impl JournalView {
    fn new(back_to: Screen) -> Self {
        JournalView {
            sensor: String::new(),
            priority: None,
            kind: None,
            range: DEFAULT_RANGE,
            end_ms: None,
            cursor: 0,
            data: None,
            error: None,
            request: 0,
            requested_ms: 0,
            back_to,
        }
    }

    pub fn range_ms(&self) -> i64 {
        RANGES[self.range].1
    }

    pub fn span(&self, now: TimestampMs) -> (TimestampMs, TimestampMs) {
        let end = self.end_ms.unwrap_or(now);
        (end - self.range_ms(), end)
    }

    pub fn filter(&self, now: TimestampMs) -> JournalFilter {
        let (from, to) = self.span(now);
        JournalFilter {
            sensor: (!self.sensor.is_empty()).then(|| self.sensor.clone()),
            priority: self.priority,
            state: match self.kind {
                Some(KindFilter::State(s)) => Some(s),
                _ => None,
            },
            event: match self.kind {
                Some(KindFilter::Event(e)) => Some(e),
                _ => None,
            },
            from_ms: Some(from),
            to_ms: Some(to + 1),
            limit: Some(MAX_ROWS),
        }
    }

    /// The filters in words, for the title and the export toast.
    pub fn describe(&self) -> String {
        let mut parts = vec![RANGES[self.range].0.to_owned()];
        if !self.sensor.is_empty() {
            parts.push(format!("sensor ~ {:?}", self.sensor));
        }
        if let Some(p) = self.priority {
            parts.push(p.label().to_owned());
        }
        if let Some(k) = self.kind {
            parts.push(k.label());
        }
        parts.join(" · ")
    }

    pub fn rows(&self) -> &[AlarmEventRow] {
        self.data.as_ref().map_or(&[], |d| &d.rows[..])
    }
}

/// Opening, filtering and moving in the journal view.
impl UiState {
    pub fn open_journal(&mut self) -> Vec<Effect> {
        if self.screen == Screen::Journal {
            return self.journal_back();
        }
        let mut view = JournalView::new(self.screen);
        // From the alarm pane or a sensor, start on that sensor's history.
        if let Some(sensor) = self.journal_sensor_hint() {
            view.sensor = sensor;
        }
        self.journal = Some(view);
        self.screen = Screen::Journal;
        self.load_journal()
    }

    fn journal_sensor_hint(&self) -> Option<String> {
        match (self.screen, self.focus) {
            (Screen::Dashboard, Focus::Alarms) => {
                let alarms = self.visible_alarms();
                alarms.get(self.alarm_cursor).map(|a| a.sensor.to_string())
            }
            (Screen::Detail, _) => self.detail.as_ref().map(|d| d.sensor.to_string()),
            _ => None,
        }
    }

    fn journal_back(&mut self) -> Vec<Effect> {
        self.screen = self
            .journal
            .as_ref()
            .map_or(Screen::Dashboard, |j| j.back_to);
        Vec::new()
    }

    pub fn load_journal(&mut self) -> Vec<Effect> {
        let now = self.clock();
        self.next_request += 1;
        let request = self.next_request;
        let Some(view) = self.journal.as_mut() else {
            return Vec::new();
        };
        view.request = request;
        view.requested_ms = now;
        let (_, to) = view.span(now);
        vec![Effect::LoadJournal(JournalQuery {
            request,
            filter: view.filter(now),
            kpi_to: to + 1,
            kpi_span_ms: view.range_ms(),
        })]
    }

    pub fn on_journal(&mut self, request: u64, result: Result<JournalData, JournalLoadError>) {
        let Some(view) = self.journal.as_mut().filter(|v| v.request == request) else {
            return;
        };
        match result {
            Ok(data) => {
                view.cursor = view.cursor.min(data.rows.len().saturating_sub(1));
                view.data = Some(data);
                view.error = None;
            }
            Err(e) => view.error = Some(e.to_string()),
        }
    }

    /// A journal that follows the present is read again every few seconds.
    pub(super) fn journal_refresh_due(&self) -> bool {
        let clock = self.clock();
        self.screen == Screen::Journal
            && self
                .journal
                .as_ref()
                .is_some_and(|j| j.end_ms.is_none() && (clock - j.requested_ms).abs() >= REFRESH_MS)
    }

    /// The journal's sensor filter is what the filter key edits on this screen.
    pub(super) fn journal_filter_edited(&mut self) -> Vec<Effect> {
        if let Some(view) = self.journal.as_mut() {
            view.cursor = 0;
        }
        self.load_journal()
    }

    pub(super) fn journal_action(&mut self, action: Action) -> Vec<Effect> {
        let now = self.clock();
        let Some(view) = self.journal.as_mut() else {
            self.screen = Screen::Dashboard;
            return Vec::new();
        };
        let last_row = view.rows().len().saturating_sub(1);
        match action {
            Action::Back | Action::Journal => return self.journal_back(),
            Action::Up => view.cursor = view.cursor.saturating_sub(1),
            Action::Down => view.cursor = (view.cursor + 1).min(last_row),
            Action::PageUp => view.cursor = view.cursor.saturating_sub(10),
            Action::PageDown => view.cursor = (view.cursor + 10).min(last_row),
            Action::First => view.cursor = 0,
            Action::Last if view.end_ms.is_none() => view.cursor = last_row,
            Action::Last => {
                view.end_ms = None;
                return self.load_journal();
            }
            // The row whole; `Enter` again opens its sensor.
            Action::Detail => {
                if let Some(row) = view.rows().get(view.cursor).cloned() {
                    self.open_journal_row(&row);
                }
                return Vec::new();
            }
            Action::ZoomIn | Action::ZoomOut | Action::Left | Action::Right => {
                move_range(view, action, now);
                return self.load_journal();
            }
            Action::CyclePriority => {
                view.priority = next_in(&priorities(), view.priority);
                view.cursor = 0;
                return self.load_journal();
            }
            Action::CycleKind => {
                view.kind = next_in(&KindFilter::cycle(), view.kind);
                view.cursor = 0;
                return self.load_journal();
            }
            _ => {}
        }
        Vec::new()
    }

    /// What the export key writes from the journal: the rows in view, read
    /// again with the view's filters (sensors, priority, event or state, range).
    pub(super) fn journal_export_view(&self) -> Option<crate::report::View> {
        let view = self.journal.as_ref()?;
        let filter = view.filter(self.clock());
        let mut sensors: Vec<String> = view.rows().iter().map(|r| r.sensor.clone()).collect();
        sensors.sort();
        sensors.dedup();
        if sensors.is_empty() {
            return None;
        }
        Some(crate::report::View::AlarmJournal {
            range: TimeRange {
                from: filter.from_ms.unwrap_or(i64::MIN),
                to: filter.to_ms.unwrap_or(i64::MAX),
            },
            priorities: filter.priority.into_iter().collect(),
            sensors,
            events: filter.event.into_iter().collect(),
            states: filter.state.into_iter().collect(),
        })
    }
}

fn priorities() -> Vec<Option<Priority>> {
    std::iter::once(None)
        .chain(
            [
                Priority::Critical,
                Priority::High,
                Priority::Medium,
                Priority::Low,
            ]
            .map(Some),
        )
        .collect()
}

/// The entry after `current` in `cycle`, wrapping around.
fn next_in<T: PartialEq + Copy>(cycle: &[T], current: T) -> T {
    let at = cycle.iter().position(|x| *x == current).unwrap_or(0);
    cycle[(at + 1) % cycle.len()]
}

fn move_range(view: &mut JournalView, action: Action, now: TimestampMs) {
    match action {
        Action::ZoomIn => view.range = view.range.saturating_sub(1),
        Action::ZoomOut => view.range = (view.range + 1).min(RANGES.len() - 1),
        Action::Left => {
            let end = view.end_ms.unwrap_or(now);
            view.end_ms = Some(end - view.range_ms() / 2);
        }
        Action::Right => {
            let end = view.end_ms.map(|e| e + view.range_ms() / 2);
            view.end_ms = end.filter(|e| *e < now);
        }
        _ => {}
    }
    view.cursor = 0;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alarm::AlarmState;
    use crate::alarm::machine::EventKind;

    #[test]
    fn the_kind_filter_walks_every_event_then_every_state_then_back_to_all() {
        let cycle = KindFilter::cycle();
        assert_eq!(
            cycle.len(),
            1 + EventKind::ALL.len() + AlarmState::ALL.len() - 1
        );
        let mut at = None;
        let mut seen = Vec::new();
        for _ in 0..cycle.len() {
            at = next_in(&cycle, at);
            seen.push(at);
        }
        assert_eq!(seen.last(), Some(&None));
        assert_eq!(seen[0], Some(KindFilter::Event(EventKind::Raised)));
        assert!(seen.contains(&Some(KindFilter::State(AlarmState::Shelved))));
    }

    #[test]
    fn the_filter_follows_the_view() {
        let mut view = JournalView::new(Screen::Dashboard);
        view.sensor = "boiler".into();
        view.priority = Some(Priority::High);
        view.kind = Some(KindFilter::Event(EventKind::Acked));
        view.range = 0;
        let filter = view.filter(10_000_000);
        assert_eq!(filter.sensor.as_deref(), Some("boiler"));
        assert_eq!(filter.priority, Some(Priority::High));
        assert_eq!(filter.event, Some(EventKind::Acked));
        assert_eq!(filter.state, None);
        assert_eq!(
            (filter.from_ms, filter.to_ms),
            (Some(10_000_000 - 3_600_000), Some(10_000_001))
        );
        assert_eq!(
            view.describe(),
            "1h · sensor ~ \"boiler\" · high · event acked"
        );
    }

    #[test]
    fn panning_back_then_forward_returns_to_the_present() {
        let mut view = JournalView::new(Screen::Dashboard);
        let now = 100 * 3_600_000;
        move_range(&mut view, Action::Left, now);
        assert_eq!(view.end_ms, Some(now - 12 * 3_600_000));
        move_range(&mut view, Action::Right, now);
        assert_eq!(view.end_ms, None);
        move_range(&mut view, Action::ZoomOut, now);
        assert_eq!(RANGES[view.range].0, "7d");
    }
}
