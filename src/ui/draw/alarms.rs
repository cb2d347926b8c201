//! The alarm pane: active alarms by priority, then newest first. Each
//! priority has a symbol and a colour role of its own, so an unacknowledged
//! CRIT and MED differ at a glance (and without colour). Columns have headers;
//! the value that raised the alarm is labelled apart from the sensor's value
//! now; names get the width there is and lose their middle, not their end.
//! A narrow pane (the side column) gives each alarm two lines.

use super::{clock, format_decimals, pane};
use crate::alarm::{AlarmState, AlarmView, Priority};
use crate::model::Quality;
use crate::ui::elide;
use crate::ui::state::{Focus, UiState};
use crate::ui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};

/// Below this inner width an alarm takes two lines.
const ONE_LINE_MIN: u16 = 64;
/// Columns of the one-line layout besides the name: priority, condition,
/// value at raise, value now, time raised, state.
const PRIORITY_W: u16 = 6;
const RAISED_VALUE_W: u16 = 8;
const NOW_VALUE_W: u16 = 7;
const TIME_W: u16 = 8;
const STATE_W: u16 = 9;
const BY_W: u16 = 8;
/// The name column never gets less than this before `by` is dropped.
const NAME_MIN: u16 = 20;

/// The priority's symbol and word: `◆ CRIT`, `▲ HIGH`, `● MED`, `○ LOW`.
pub fn priority_label(p: Priority) -> &'static str {
    match p {
        Priority::Critical => "◆ CRIT",
        Priority::High => "▲ HIGH",
        Priority::Medium => "● MED",
        Priority::Low => "○ LOW",
    }
}

/// The priority cell's colour role: critical and high alarms in the alarm
/// colour, medium in the warning colour, low dimmed; critical in reverse video
/// as well, so it stands out on an unacknowledged row too.
fn priority_style(p: Priority, theme: &Theme) -> Style {
    match p {
        Priority::Critical => theme.alarm.add_modifier(Modifier::REVERSED),
        Priority::High => theme.alarm,
        Priority::Medium => theme.warning,
        Priority::Low => theme.dim,
    }
}

/// An unacknowledged critical or high alarm takes the loud unack style; an
/// unacknowledged medium or low one its priority's colour, underlined.
fn row_style(alarm: &AlarmView, theme: &Theme) -> Style {
    let loud = alarm.priority <= Priority::High;
    match alarm.state {
        s if s.needs_ack() && loud => theme.unack,
        s if s.needs_ack() => {
            priority_style(alarm.priority, theme).add_modifier(Modifier::UNDERLINED)
        }
        AlarmState::Shelved | AlarmState::Suppressed | AlarmState::OutOfService => theme.dim,
        _ if loud => theme.alarm,
        _ => theme.warning,
    }
}

/// What the pane says when no alarm shows: none at all, or how many the filter hides.
fn empty_text(ui: &UiState) -> String {
    let total = ui.live.alarms.len();
    if total == 0 || ui.filter.is_empty() {
        "no active alarms".to_owned()
    } else {
        let s = if total == 1 { "" } else { "s" };
        format!("0 of {total} alarm{s} match {:?}", ui.filter)
    }
}

pub fn draw(frame: &mut Frame, area: Rect, ui: &UiState) {
    let theme = ui.theme();
    let alarms = ui.visible_alarms();
    let unacked = alarms.iter().filter(|a| a.state.needs_ack()).count();
    let focused = ui.focus == Focus::Alarms;
    let total = ui.live.alarms.len();
    let title = if alarms.is_empty() {
        " Alarms ".to_owned()
    } else if alarms.len() < total {
        format!(" Alarms {} of {total} · {unacked} unack ", alarms.len())
    } else {
        format!(" Alarms {} · {unacked} unack ", alarms.len())
    };
    let block = pane(title, focused, theme);
    if alarms.is_empty() {
        let text = Paragraph::new(Line::styled(empty_text(ui), theme.dim)).block(block);
        frame.render_widget(text, area);
        return;
    }
    // Inside the borders, less the highlight symbol's column.
    let inner = area.width.saturating_sub(3);
    let condition_w = alarms
        .iter()
        .map(|a| a.condition.chars().count() as u16)
        .max()
        .unwrap_or(2)
        .clamp(4, 11);
    let table = if inner >= ONE_LINE_MIN {
        one_line_table(ui, &alarms, inner, condition_w)
    } else {
        two_line_table(ui, &alarms, inner, condition_w)
    };
    let table = table
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

/// The name shown for an alarm's sensor: its configured name, else its id.
fn sensor_name(ui: &UiState, alarm: &AlarmView) -> String {
    ui.live
        .sensor(alarm.sensor.as_str())
        .map_or_else(|| alarm.sensor.to_string(), |s| s.meta.name.clone())
}

/// The value that raised the alarm.
fn raised_value(ui: &UiState, alarm: &AlarmView) -> String {
    let decimals = ui.config.decimals.of(alarm.sensor.as_str());
    alarm
        .value
        .map(|v| format_decimals(v, decimals))
        .unwrap_or_else(|| "–".into())
}

/// The sensor's value now; in brackets when it is not live (stale or bad).
fn current_value(ui: &UiState, alarm: &AlarmView) -> String {
    let decimals = ui.config.decimals.of(alarm.sensor.as_str());
    let Some(sensor) = ui.live.sensor(alarm.sensor.as_str()) else {
        return "–".into();
    };
    match (&sensor.last, sensor.quality) {
        (None, _) => "–".into(),
        (Some(p), Quality::Good) => format_decimals(p.value, decimals),
        (Some(p), _) => format!("({})", format_decimals(p.value, decimals)),
    }
}

/// The priority cell: its colour role, except on a row in the unack style
/// (colour on that background would not read), where critical is reversed.
fn priority_cell<'a>(alarm: &AlarmView, theme: &Theme) -> Cell<'a> {
    let on_unack_row = alarm.state.needs_ack() && alarm.priority <= Priority::High;
    let style = match alarm.priority {
        Priority::Critical if on_unack_row => Style::new().add_modifier(Modifier::REVERSED),
        _ if on_unack_row => Style::new(),
        p => priority_style(p, theme),
    };
    Cell::from(Span::styled(priority_label(alarm.priority), style))
}

fn one_line_table<'a>(
    ui: &'a UiState,
    alarms: &[&AlarmView],
    inner: u16,
    condition_w: u16,
) -> Table<'a> {
    let theme = ui.theme();
    let fixed = PRIORITY_W + condition_w + RAISED_VALUE_W + NOW_VALUE_W + TIME_W + STATE_W + 6;
    let longest_name = alarms
        .iter()
        .map(|a| sensor_name(ui, a).chars().count() as u16)
        .max()
        .unwrap_or(0);
    let with_by = inner.saturating_sub(fixed + BY_W + 1) >= longest_name.min(NAME_MIN);
    let name_w = inner
        .saturating_sub(fixed + if with_by { BY_W + 1 } else { 0 })
        .max(4);
    let rows: Vec<Row> = alarms
        .iter()
        .map(|a| {
            let mut cells = vec![
                priority_cell(a, theme),
                Cell::from(a.condition.to_uppercase()),
                Cell::from(elide::middle(&sensor_name(ui, a), usize::from(name_w))),
                Cell::from(Text::from(raised_value(ui, a)).right_aligned()),
                Cell::from(Text::from(current_value(ui, a)).right_aligned()),
                Cell::from(clock(ui, a.raised_ms)),
                Cell::from(a.state.label()),
            ];
            if with_by {
                cells.push(Cell::from(elide::middle(
                    a.acked_by.as_deref().unwrap_or_default(),
                    usize::from(BY_W),
                )));
            }
            Row::new(cells).style(row_style(a, theme))
        })
        .collect();
    let mut headers = vec![
        Cell::from("pri"),
        Cell::from("cond"),
        Cell::from("sensor"),
        Cell::from(Text::from("at raise").right_aligned()),
        Cell::from(Text::from("now").right_aligned()),
        Cell::from("raised"),
        Cell::from("state"),
    ];
    let mut widths = vec![
        Constraint::Length(PRIORITY_W),
        Constraint::Length(condition_w),
        Constraint::Length(name_w),
        Constraint::Length(RAISED_VALUE_W),
        Constraint::Length(NOW_VALUE_W),
        Constraint::Length(TIME_W),
        Constraint::Length(STATE_W),
    ];
    if with_by {
        headers.push(Cell::from("by"));
        widths.push(Constraint::Length(BY_W));
    }
    Table::new(rows, widths).header(Row::new(headers).style(theme.title))
}

/// Two lines an alarm: priority, condition and name; then the value at
/// raise, the value now, when it was raised, its state and who acknowledged it.
fn two_line_table<'a>(
    ui: &'a UiState,
    alarms: &[&AlarmView],
    inner: u16,
    condition_w: u16,
) -> Table<'a> {
    let theme = ui.theme();
    let name_w = inner.saturating_sub(PRIORITY_W + 1).max(4);
    let rows: Vec<Row> = alarms
        .iter()
        .map(|a| {
            let first = format!(
                "{:<cw$} {}",
                a.condition.to_uppercase(),
                sensor_name(ui, a),
                cw = usize::from(condition_w)
            );
            let second = values_line(ui, a, usize::from(name_w));
            let text = Text::from(vec![
                Line::raw(elide::middle(&first, usize::from(name_w))),
                Line::raw(second),
            ]);
            Row::new(vec![priority_cell(a, theme), Cell::from(text)])
                .height(2)
                .style(row_style(a, theme))
        })
        .collect();
    let header = Row::new(vec![
        Cell::from("pri"),
        Cell::from(Text::from(vec![
            Line::raw("cond · sensor"),
            Line::raw("value at raise · now · raised state"),
        ])),
    ])
    .height(2)
    .style(theme.title);
    Table::new(
        rows,
        [Constraint::Length(PRIORITY_W), Constraint::Length(name_w)],
    )
    .header(header)
}

/// The second line of a two-line alarm: `201.0 at raise · now 301.0 ·
/// 05:05:07 unack · ana`, shortened by dropping from the end (who, then when)
/// so the values are never cut.
fn values_line(ui: &UiState, alarm: &AlarmView, width: usize) -> String {
    let values = format!(
        "{} at raise · now {}",
        raised_value(ui, alarm),
        current_value(ui, alarm)
    );
    let state = format!("{values} · {}", alarm.state.label());
    let when = format!(
        "{values} · {} {}",
        clock(ui, alarm.raised_ms),
        alarm.state.label()
    );
    let who = alarm.acked_by.as_ref().map(|by| format!("{when} · {by}"));
    [who, Some(when), Some(state)]
        .into_iter()
        .flatten()
        .find(|line| line.chars().count() <= width)
        .unwrap_or_else(|| values.chars().take(width).collect())
}
