//! The row popup (`Enter` on a journal or status row): the row whole, one
//! field a line, wrapped, whatever the terminal's width. From a journal row,
//! `Enter` again opens the row's sensor.

use super::{Effect, Overlay, UiState};
use crate::model::TimestampMs;
use crate::source::SourceStatus;
use crate::store::AlarmEventRow;
use crate::ui::keys::Action;

/// What the popup shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowDetail {
    pub title: String,
    /// Label and text, in order.
    pub fields: Vec<(String, String)>,
    /// The sensor `Enter` opens from the popup.
    pub sensor: Option<String>,
}

impl UiState {
    /// The popup for a journal row.
    pub(super) fn open_journal_row(&mut self, row: &AlarmEventRow) {
        let time = self.local_time(row.ts, "%Y-%m-%d %H:%M:%S %Z");
        let mut fields = vec![
            ("time", time),
            ("priority", row.priority.clone()),
            ("sensor", row.sensor.clone()),
            ("condition", row.condition.to_uppercase()),
            ("event", row.event.clone()),
            ("state", row.state.clone()),
            (
                "value",
                row.value.map_or_else(|| "–".into(), |v| v.to_string()),
            ),
            ("operator", row.operator.clone()),
            ("comment", row.comment.clone()),
        ];
        fields.retain(|(_, text)| !text.is_empty());
        self.overlay = Some(Overlay::RowDetail(RowDetail {
            title: format!("{}/{} {}", row.sensor, row.condition, row.event),
            fields: fields.into_iter().map(|(l, t)| (l.to_owned(), t)).collect(),
            sensor: Some(row.sensor.clone()),
        }));
    }

    /// The popup for a source of the status screen.
    pub(super) fn open_source_row(&mut self, source: &SourceStatus) {
        let last = source.last_message_ms.map_or("never".into(), |t| {
            self.local_time(t, "%Y-%m-%d %H:%M:%S %Z")
        });
        let mut fields = vec![
            (
                "kind".to_owned(),
                source.kind.map_or("?", |k| k.label()).to_owned(),
            ),
            ("state".to_owned(), source.state.label().to_owned()),
            ("rate".to_owned(), format!("{:.1}/s", source.rate)),
            ("messages".to_owned(), source.messages.to_string()),
            ("errors".to_owned(), source.errors.to_string()),
            ("last msg".to_owned(), last),
        ];
        fields.extend(source.detail.iter().cloned());
        fields.extend(
            source
                .counts
                .iter()
                .map(|(k, n)| ((*k).to_owned(), n.to_string())),
        );
        if let Some(error) = &source.last_error {
            fields.push(("last error".to_owned(), error.clone()));
        }
        self.overlay = Some(Overlay::RowDetail(RowDetail {
            title: source.name.clone(),
            fields,
            sensor: None,
        }));
    }

    fn local_time(&self, ts: TimestampMs, format: &str) -> String {
        chrono::DateTime::from_timestamp_millis(ts).map_or_else(
            || ts.to_string(),
            |t| {
                t.with_timezone(&self.config.timezone)
                    .format(format)
                    .to_string()
            },
        )
    }

    /// A key while the popup is open: `Enter` opens the row's sensor (when it
    /// has one), any other key closes it.
    pub(super) fn row_detail_key(
        &mut self,
        popup: RowDetail,
        action: Option<Action>,
    ) -> Vec<Effect> {
        match (action, popup.sensor) {
            (Some(Action::Detail), Some(sensor)) => self.open_detail(sensor.as_str().into()),
            _ => Vec::new(),
        }
    }
}
