//! The status pane: every broker, device and feed with its state, rates,
//! errors and last error text.

use super::{clock, pane};
use crate::source::SourceStatus;
use crate::store::{CheckMode, CheckOutcome};
use crate::ui::state::UiState;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState, Wrap};

pub fn draw(frame: &mut Frame, area: Rect, ui: &UiState) {
    let theme = ui.theme();
    let live = &ui.live;
    let (up, total) = live.source_health();
    let lines = summary_lines(ui);
    let [table_area, summary_area] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(summary_height(&lines, area)),
    ])
    .areas(area);
    let rows: Vec<Row> = live
        .sources
        .iter()
        .map(|s| {
            let style = if s.state.is_up() {
                theme.normal
            } else {
                theme.alarm
            };
            Row::new(vec![
                Cell::from(s.name.clone()),
                Cell::from(s.kind.map_or("?", |k| k.label())),
                Cell::from(s.state.label()).style(style),
                Cell::from(format!("{:.1}/s", s.rate)),
                Cell::from(s.messages.to_string()),
                Cell::from(s.errors.to_string()),
                Cell::from(s.last_message_ms.map_or("never".into(), |t| clock(ui, t))),
                Cell::from(detail_text(s)),
            ])
        })
        .collect();
    let header = Row::new(vec![
        "source", "kind", "state", "rate", "msgs", "errors", "last msg", "details",
    ])
    .style(theme.title);
    let table = Table::new(
        rows,
        [
            Constraint::Min(12),
            Constraint::Length(6),
            Constraint::Length(11),
            Constraint::Length(8),
            Constraint::Length(8),
            Constraint::Length(6),
            Constraint::Length(8),
            Constraint::Fill(2),
        ],
    )
    .header(header)
    .column_spacing(1)
    .row_highlight_style(theme.selected)
    .highlight_symbol("›")
    .block(pane(
        format!(" Sources {up}/{total} up · Enter shows a source whole "),
        true,
        theme,
    ));
    let mut state =
        TableState::default().with_selected((!live.sources.is_empty()).then_some(ui.status_cursor));
    frame.render_stateful_widget(table, table_area, &mut state);

    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .block(pane(" Engine ", false, theme)),
        summary_area,
    );
}

/// The engine summary: counters, the history file's health, sources' last errors.
fn summary_lines(ui: &UiState) -> Vec<Line<'static>> {
    let theme = ui.theme();
    let live = &ui.live;
    let history = &live.history;
    let mut lines = vec![Line::raw(format!(
        "{} readings received: {} stored, {} duplicates, {} superseded · {} sensors",
        live.received,
        history.stored,
        history.duplicates,
        history.superseded,
        live.sensors.len()
    ))];
    if let Some(error) = &history.failing {
        let what = if history.reconnecting {
            "reconnecting"
        } else {
            "commits failing"
        };
        lines.push(Line::styled(
            format!("history: {what}, readings held back: {error}"),
            theme.alarm,
        ));
    }
    if let Some(check) = &live.history_check {
        let style = match check {
            CheckOutcome::Ok => theme.dim,
            CheckOutcome::Corrupt(_) => theme.alarm,
            CheckOutcome::Failed(_) => theme.warning,
        };
        lines.push(Line::styled(check.status_line(CheckMode::Quick), style));
    }
    for s in live.sources.iter().filter(|s| s.last_error.is_some()) {
        lines.push(Line::styled(
            format!(
                "{}: last error: {}",
                s.name,
                s.last_error.as_deref().unwrap_or_default()
            ),
            theme.alarm,
        ));
    }
    if live.sources.is_empty() {
        lines.push(Line::styled("no sources configured or started", theme.dim));
    }
    lines
}

/// Rows the summary needs with its borders, wrapped to `area`'s width; at
/// least 4, at most half of `area`.
fn summary_height(lines: &[Line<'_>], area: Rect) -> u16 {
    let inner = usize::from(area.width.saturating_sub(2)).max(1);
    let rows: usize = lines.iter().map(|l| l.width().div_ceil(inner).max(1)).sum();
    let rows = u16::try_from(rows + 2).unwrap_or(u16::MAX);
    rows.clamp(4, (area.height / 2).max(4))
}

fn detail_text(s: &SourceStatus) -> String {
    let mut parts: Vec<String> = s.detail.iter().map(|(k, v)| format!("{k} {v}")).collect();
    parts.extend(s.counts.iter().map(|(k, n)| format!("{k} {n}")));
    if let Some(err) = &s.last_error {
        parts.push(format!("error: {err}"));
    }
    parts.join(", ")
}
