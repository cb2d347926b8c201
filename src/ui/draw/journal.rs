//! The alarm journal view: every recorded alarm transition and operator
//! action in the chosen range, newest first, and the alarm KPIs beside it.

use super::{format_value, pane, time_fmt};
use crate::alarm::kpi::{AlarmKpis, FLOOD_THRESHOLD};
use crate::store::AlarmEventRow;
use crate::ui::journal::MAX_ROWS;
use crate::ui::state::{JournalView, UiState};
use crate::ui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState, Wrap};

pub fn draw(frame: &mut Frame, area: Rect, ui: &UiState) {
    let Some(view) = &ui.journal else {
        return;
    };
    let [table_area, kpi_area] = if area.width >= 110 {
        Layout::horizontal([Constraint::Min(0), Constraint::Length(36)]).areas(area)
    } else {
        Layout::vertical([Constraint::Min(0), Constraint::Length(6)]).areas(area)
    };
    rows_table(frame, table_area, ui, view);
    kpi_panel(frame, kpi_area, ui, view, area.width >= 110);
}

fn rows_table(frame: &mut Frame, area: Rect, ui: &UiState, view: &JournalView) {
    let theme = ui.theme();
    let rows = view.rows();
    let count = if rows.len() >= MAX_ROWS {
        format!("newest {MAX_ROWS}")
    } else {
        format!("{} rows", rows.len())
    };
    let (_, to) = view.span(ui.clock());
    let when = if view.end_ms.is_none() {
        "to now".to_owned()
    } else {
        format!("to {}", time_fmt(ui, to, "%m-%d %H:%M"))
    };
    let title = format!(" Alarm journal · {} {when} · {count} ", view.describe());
    let block = pane(title, true, theme);
    let message = match (&view.error, &view.data) {
        (Some(e), _) => Some(Line::styled(format!("journal: {e}"), theme.alarm)),
        (None, None) => Some(Line::styled("loading the journal…", theme.dim)),
        (None, Some(_)) if rows.is_empty() => Some(Line::styled(
            "no alarm events match these filters in this range",
            theme.dim,
        )),
        _ => None,
    };
    if let Some(line) = message {
        frame.render_widget(
            Paragraph::new(line).wrap(Wrap { trim: true }).block(block),
            area,
        );
        return;
    }
    let wide = area.width >= 100;
    let table_rows: Vec<Row> = rows.iter().map(|r| journal_row(ui, r, wide)).collect();
    let mut widths = vec![
        Constraint::Length(14),
        Constraint::Length(4),
        Constraint::Min(10),
        Constraint::Length(5),
        Constraint::Length(9),
        Constraint::Length(9),
        Constraint::Length(8),
        Constraint::Length(8),
    ];
    if wide {
        widths.push(Constraint::Min(12));
    }
    let table = Table::new(table_rows, widths)
        .header(header(wide).style(theme.title))
        .block(block)
        .column_spacing(1)
        .row_highlight_style(theme.selected)
        .highlight_symbol("›");
    let mut state = TableState::default().with_selected(Some(view.cursor));
    frame.render_stateful_widget(table, area, &mut state);
}

fn header(wide: bool) -> Row<'static> {
    let mut cells = vec![
        "time", "prio", "sensor", "cond", "event", "state", "value", "operator",
    ];
    if wide {
        cells.push("comment");
    }
    Row::new(cells)
}

fn journal_row<'a>(ui: &UiState, r: &'a AlarmEventRow, wide: bool) -> Row<'a> {
    let theme = ui.theme();
    let mut cells = vec![
        Cell::from(time_fmt(ui, r.ts, "%m-%d %H:%M:%S")),
        Cell::from(short_priority(&r.priority)),
        Cell::from(r.sensor.as_str()),
        Cell::from(r.condition.to_uppercase()),
        Cell::from(r.event.as_str()),
        Cell::from(r.state.as_str()),
        Cell::from(r.value.map(format_value).unwrap_or_default()),
        Cell::from(r.operator.as_str()),
    ];
    if wide {
        cells.push(Cell::from(r.comment.as_str()));
    }
    Row::new(cells).style(event_style(r, theme))
}

fn short_priority(priority: &str) -> &'static str {
    match priority {
        "critical" => "CRIT",
        "high" => "HIGH",
        "medium" => "MED",
        "low" => "LOW",
        _ => "?",
    }
}

/// Raises stand out by priority; operator actions read as normal text.
fn event_style(r: &AlarmEventRow, theme: &Theme) -> Style {
    match (r.event.as_str(), r.priority.as_str()) {
        ("raised", "critical" | "high") => theme.alarm,
        ("raised", _) => theme.warning,
        ("cleared", _) => theme.dim,
        _ => Style::default(),
    }
}

fn kpi_panel(frame: &mut Frame, area: Rect, ui: &UiState, view: &JournalView, tall: bool) {
    let theme = ui.theme();
    let block = pane(" Alarm KPIs ", false, theme);
    let Some(kpis) = view.data.as_ref().map(|d| &d.kpis) else {
        frame.render_widget(
            Paragraph::new(Line::styled("…", theme.dim)).block(block),
            area,
        );
        return;
    };
    let lines = if tall {
        kpi_lines(kpis, theme)
    } else {
        kpi_summary(kpis, theme)
    };
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        area,
    );
}

fn label(text: &str, theme: &Theme) -> Span<'static> {
    Span::styled(format!("{text:<12}"), theme.dim)
}

/// Red when a KPI breaks its guideline (ISA-18.2 / EEMUA 191).
fn flagged(text: String, bad: bool, theme: &Theme) -> Span<'static> {
    Span::styled(text, if bad { theme.alarm } else { theme.value })
}

fn priority_mix(kpis: &AlarmKpis) -> String {
    kpis.priority_percent()
        .iter()
        .map(|(p, pct)| format!("{} {pct:.0}%", short_priority(p.label())))
        .collect::<Vec<_>>()
        .join(" ")
}

fn names(keys: &[String]) -> String {
    match keys {
        [] => "0".into(),
        [one] => format!("1: {one}"),
        [first, rest @ ..] => format!("{}: {first} +{}", rest.len() + 1, rest.len()),
    }
}

fn kpi_lines(kpis: &AlarmKpis, theme: &Theme) -> Vec<Line<'static>> {
    vec![
        Line::from(vec![
            label("raised", theme),
            Span::raw(kpis.raised.to_string()),
        ]),
        Line::from(vec![
            label("per 10 min", theme),
            Span::raw(format!("{:.2}", kpis.per_10_min)),
        ]),
        Line::from(vec![
            label("peak 10 min", theme),
            flagged(
                kpis.peak_10_min.to_string(),
                kpis.peak_10_min > FLOOD_THRESHOLD,
                theme,
            ),
        ]),
        Line::from(vec![
            label("floods", theme),
            flagged(kpis.floods.to_string(), kpis.floods > 0, theme),
        ]),
        Line::from(vec![
            label("chattering", theme),
            flagged(names(&kpis.chattering), !kpis.chattering.is_empty(), theme),
        ]),
        Line::from(vec![
            label("standing", theme),
            flagged(names(&kpis.standing), !kpis.standing.is_empty(), theme),
        ]),
        Line::styled("priority mix", theme.dim),
        Line::raw(format!(" {}", priority_mix(kpis))),
        Line::raw(""),
        Line::styled(
            format!("flood: >{FLOOD_THRESHOLD} alarms in 10 min"),
            theme.dim,
        ),
        Line::styled("chattering: ≥3 raises in 1 min", theme.dim),
        Line::styled("standing: active > 24 h", theme.dim),
    ]
}

/// The same figures in four lines, for narrow terminals.
fn kpi_summary(kpis: &AlarmKpis, theme: &Theme) -> Vec<Line<'static>> {
    vec![
        Line::from(vec![
            Span::raw(format!(
                "raised {}  per 10 min {:.2}  peak ",
                kpis.raised, kpis.per_10_min
            )),
            flagged(
                kpis.peak_10_min.to_string(),
                kpis.peak_10_min > FLOOD_THRESHOLD,
                theme,
            ),
            Span::raw("  floods "),
            flagged(kpis.floods.to_string(), kpis.floods > 0, theme),
        ]),
        Line::from(vec![
            Span::raw("chattering "),
            flagged(names(&kpis.chattering), !kpis.chattering.is_empty(), theme),
        ]),
        Line::from(vec![
            Span::raw("standing "),
            flagged(names(&kpis.standing), !kpis.standing.is_empty(), theme),
        ]),
        Line::raw(format!("mix {}", priority_mix(kpis))),
    ]
}
