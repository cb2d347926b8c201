//! The alarm pane: active alarms by priority, then newest first;
//! unacknowledged ones stand out.

use super::{clock, format_decimals, pane};
use crate::alarm::{AlarmState, AlarmView, Priority};
use crate::ui::state::{Focus, UiState};
use crate::ui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};

fn priority_label(p: Priority) -> &'static str {
    match p {
        Priority::Critical => "CRIT",
        Priority::High => "HIGH",
        Priority::Medium => "MED",
        Priority::Low => "LOW",
    }
}

fn row_style(alarm: &AlarmView, theme: &Theme) -> Style {
    match alarm.state {
        s if s.needs_ack() => theme.unack,
        AlarmState::Shelved | AlarmState::Suppressed | AlarmState::OutOfService => theme.dim,
        _ => match alarm.priority {
            Priority::Critical | Priority::High => theme.alarm,
            _ => theme.warning,
        },
    }
}

pub fn draw(frame: &mut Frame, area: Rect, ui: &UiState) {
    let theme = ui.theme();
    let alarms = ui.visible_alarms();
    let unacked = alarms.iter().filter(|a| a.state.needs_ack()).count();
    let focused = ui.focus == Focus::Alarms;
    let title = if alarms.is_empty() {
        " Alarms ".to_owned()
    } else {
        format!(" Alarms {} · {unacked} unack ", alarms.len())
    };
    let block = pane(title, focused, theme);
    if alarms.is_empty() {
        let text = Paragraph::new(Line::styled("no active alarms", theme.dim)).block(block);
        frame.render_widget(text, area);
        return;
    }
    let wide = area.width >= 70;
    let rows: Vec<Row> = alarms
        .iter()
        .map(|a| {
            let name = ui
                .live
                .sensor(a.sensor.as_str())
                .map_or_else(|| a.sensor.to_string(), |s| s.meta.name.clone());
            let mut cells = vec![
                Cell::from(priority_label(a.priority)),
                Cell::from(a.condition.to_uppercase()),
                Cell::from(name),
                Cell::from(
                    a.value
                        .map(|v| format_decimals(v, ui.config.decimals.of(a.sensor.as_str())))
                        .unwrap_or_default(),
                ),
                Cell::from(clock(ui, a.raised_ms)),
                Cell::from(a.state.label()),
            ];
            if wide {
                cells.push(Cell::from(a.acked_by.clone().unwrap_or_default()));
            }
            Row::new(cells).style(row_style(a, theme))
        })
        .collect();
    let mut widths = vec![
        Constraint::Length(4),
        Constraint::Length(5),
        Constraint::Min(10),
        Constraint::Length(8),
        Constraint::Length(8),
        Constraint::Length(9),
    ];
    if wide {
        widths.push(Constraint::Length(8));
    }
    let table = Table::new(rows, widths)
        .block(block)
        .column_spacing(1)
        .row_highlight_style(if focused {
            theme.selected
        } else {
            Style::default()
        })
        .highlight_symbol(if focused { "›" } else { " " });
    let mut state = TableState::default().with_selected(Some(ui.alarm_cursor));
    frame.render_stateful_widget(table, area, &mut state);
}
