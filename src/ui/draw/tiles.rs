//! The tile grid: group headings and one tile per sensor (name, value,
//! gauge over the display range, sparkline of the recent window).

use super::format_decimals;
use crate::alarm::{AlarmView, Priority};
use crate::engine::SensorLive;
use crate::model::Quality;
use crate::ui::layout::{self, Row, TILE_HEIGHT};
use crate::ui::state::{Focus, UiState};
use crate::ui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::symbols;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Sparkline, Widget};
use std::collections::HashMap;

const ASCII_BARS: symbols::bar::Set = symbols::bar::Set {
    full: "#",
    seven_eighths: "#",
    three_quarters: "=",
    five_eighths: "=",
    half: "-",
    three_eighths: "-",
    one_quarter: "_",
    one_eighth: "_",
    empty: " ",
};

/// "page 2/5 " when the sensors do not fit on one screen.
pub fn page_label(ui: &UiState) -> String {
    let (rows, areas) = ui.grid();
    let pages = layout::pages(&rows, areas.tiles.height);
    if pages.len() <= 1 {
        return String::new();
    }
    let (r, _) = ui.cursor_position(&rows);
    let page = pages.iter().position(|p| p.contains(&r)).unwrap_or(0);
    format!("page {}/{} ", page + 1, pages.len())
}

/// The most urgent alarm of each sensor.
fn worst_alarms(ui: &UiState) -> HashMap<&str, &AlarmView> {
    let mut worst: HashMap<&str, &AlarmView> = HashMap::new();
    for alarm in ui.live.alarms.iter() {
        let entry = worst.entry(alarm.sensor.as_str()).or_insert(alarm);
        if alarm.priority < entry.priority {
            *entry = alarm;
        }
    }
    worst
}

pub fn draw(buf: &mut Buffer, area: Rect, ui: &UiState) {
    let theme = ui.theme();
    let cols = layout::columns(area.width);
    let rows = layout::rows(&ui.live, &ui.filter, &ui.collapsed, cols);
    if rows.is_empty() {
        let text = if ui.live.sensors.is_empty() {
            " No sensors yet: waiting for the first reading or discovery."
        } else {
            " No sensor matches the filter (Esc clears it)."
        };
        buf.set_stringn(area.x, area.y, text, usize::from(area.width), theme.dim);
        return;
    }
    let (cur_row, cur_col) = ui.cursor_position(&rows);
    let pages = layout::pages(&rows, area.height);
    let page = pages
        .iter()
        .find(|p| p.contains(&cur_row))
        .cloned()
        .unwrap_or(0..0);
    let alarms = worst_alarms(ui);
    let tile_width = (area.width + 1) / cols as u16;
    let focused = ui.focus == Focus::Tiles;
    let mut y = area.y;
    for r in page {
        let row = &rows[r];
        if y + row.height() > area.bottom() {
            break;
        }
        match row {
            Row::Group {
                name,
                shown,
                collapsed,
            } => {
                let selected = focused && r == cur_row;
                let line = group_heading(name, *shown, *collapsed, theme, selected);
                buf.set_line(area.x, y, &line, area.width);
            }
            Row::Tiles(tiles) => {
                for (c, i) in tiles.iter().enumerate() {
                    let x = area.x + c as u16 * tile_width;
                    let width = tile_width.saturating_sub(1).min(area.right() - x);
                    let sensor = &ui.live.sensors[*i];
                    let selected = focused && r == cur_row && c == cur_col;
                    let alarm = alarms.get(sensor.meta.id.as_str()).copied();
                    let rect = Rect::new(x, y, width, TILE_HEIGHT);
                    tile(buf, rect, sensor, alarm, selected, ui);
                }
            }
        }
        y += row.height();
    }
}

fn group_heading<'a>(
    name: &'a str,
    shown: usize,
    collapsed: bool,
    theme: &Theme,
    selected: bool,
) -> Line<'a> {
    let marker = if collapsed { "▸ " } else { "▾ " };
    let name = if name.is_empty() { "(no group)" } else { name };
    let style = if selected {
        theme.selected
    } else {
        theme.group
    };
    Line::from(vec![
        Span::styled(format!("{marker}{name}"), style),
        Span::styled(
            format!(
                " {shown} sensor{}{}",
                if shown == 1 { "" } else { "s" },
                if collapsed { " (folded)" } else { "" }
            ),
            theme.dim,
        ),
    ])
}

/// Style of the value and gauge: by the sensor's worst active alarm.
fn alarm_style(alarm: Option<&AlarmView>, theme: &Theme) -> Style {
    match alarm {
        None => theme.normal,
        Some(a) if a.state.needs_ack() => theme.unack,
        Some(a) => match a.priority {
            Priority::Critical | Priority::High => theme.alarm,
            Priority::Medium | Priority::Low => theme.warning,
        },
    }
}

fn tile(
    buf: &mut Buffer,
    area: Rect,
    sensor: &SensorLive,
    alarm: Option<&AlarmView>,
    selected: bool,
    ui: &UiState,
) {
    if area.width < 4 {
        return;
    }
    let theme = ui.theme();
    let width = usize::from(area.width);
    // Line 1: name, and the reason it needs attention.
    let badge = match (sensor.quality, alarm) {
        (Quality::Stale, _) => Some(("STALE", theme.stale)),
        (Quality::Bad, _) => Some(("BAD", theme.bad)),
        (_, Some(a)) => Some((a.condition.as_str(), alarm_style(Some(a), theme))),
        _ => None,
    };
    let name_style = if selected {
        theme.selected
    } else {
        theme.title
    };
    if selected {
        buf.set_style(Rect { height: 1, ..area }, theme.selected);
    }
    let badge_width = badge.map_or(0, |(b, _)| b.chars().count() + 1);
    let name = truncate(&sensor.meta.name, width.saturating_sub(badge_width));
    buf.set_stringn(area.x, area.y, &name, width, name_style);
    if let Some((text, style)) = badge {
        // On the page's background even on a selected tile: a badge
        // coloured like the selection would vanish into it.
        let style = theme.base.patch(style);
        let text = text.to_uppercase();
        let x = area.right().saturating_sub(text.chars().count() as u16);
        buf.set_stringn(x, area.y, text, width, style);
    }
    // Line 2: the value. A stale or bad value is never shown as live.
    let decimals = ui.config.decimals.of(sensor.meta.id.as_str());
    let value_line = value_line(sensor, alarm, decimals, theme);
    buf.set_line(area.x, area.y + 1, &value_line, area.width);
    // Line 3: gauge over the display range.
    let range = display_range(sensor, ui);
    let gauge_style = match sensor.quality {
        Quality::Good => alarm_style(alarm, theme),
        _ => theme.stale,
    };
    gauge(
        buf,
        Rect::new(area.x, area.y + 2, area.width, 1),
        sensor,
        range,
        gauge_style,
        theme,
    );
    // Line 4: sparkline of the recent window.
    sparkline(
        buf,
        Rect::new(area.x, area.y + 3, area.width, 1),
        sensor,
        ui,
    );
}

fn value_line<'a>(
    sensor: &SensorLive,
    alarm: Option<&AlarmView>,
    decimals: Option<usize>,
    theme: &Theme,
) -> Line<'a> {
    let unit = sensor.meta.unit.clone();
    let Some(last) = sensor.last else {
        return Line::styled("  no data", theme.dim);
    };
    let value = format_decimals(last.value, decimals);
    match sensor.quality {
        Quality::Good => {
            let style = match alarm {
                Some(a) => alarm_style(Some(a), theme),
                None => theme.value,
            };
            Line::from(vec![
                Span::styled(format!("{value:>10}"), style),
                Span::raw(" "),
                Span::styled(unit, theme.dim),
            ])
        }
        Quality::Stale => Line::from(vec![
            Span::styled(format!("({value}) {unit}"), theme.stale),
            Span::styled(" not live", theme.stale),
        ]),
        Quality::Bad => Line::from(vec![
            Span::styled("   ?? bad value", theme.bad),
            Span::styled(format!(" ({value})"), theme.dim),
        ]),
    }
}

/// The gauge's range: configured, else around the recent values.
fn display_range(sensor: &SensorLive, ui: &UiState) -> Option<(f64, f64)> {
    if let Some(range) = sensor.meta.range.filter(|(lo, hi)| hi > lo) {
        return Some(range);
    }
    if let Some(limits) = ui.config.limits.get(sensor.meta.id.as_str()) {
        let ordered = limits.ordered();
        if let Some((_, top)) = ordered.first().filter(|(_, v)| *v > 0.0) {
            return Some((0.0, top * 1.25));
        }
    }
    let (lo, hi) = sensor
        .recent
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
            (lo.min(p.value), hi.max(p.value))
        });
    (hi > lo).then_some((lo, hi))
}

fn gauge(
    buf: &mut Buffer,
    area: Rect,
    sensor: &SensorLive,
    range: Option<(f64, f64)>,
    style: Style,
    theme: &Theme,
) {
    let width = usize::from(area.width);
    let live_value = sensor.last.filter(|_| sensor.quality != Quality::Bad);
    let (Some(last), Some((lo, hi))) = (live_value, range) else {
        buf.set_stringn(area.x, area.y, "·".repeat(width), width, theme.gauge_empty);
        return;
    };
    let fraction = ((last.value - lo) / (hi - lo)).clamp(0.0, 1.0);
    let filled = if fraction.is_finite() {
        (fraction * width as f64).round() as usize
    } else {
        0
    };
    buf.set_stringn(area.x, area.y, "█".repeat(filled), width, style);
    buf.set_stringn(
        area.x + filled as u16,
        area.y,
        "░".repeat(width - filled),
        width - filled,
        theme.gauge_empty,
    );
}

/// The recent window in fixed time columns, aligned to the clock: a column
/// changes only while its time slot is filling, so over SSH a sparkline costs
/// a few bytes a second instead of repainting as it scrolls.
fn sparkline(buf: &mut Buffer, area: Rect, sensor: &SensorLive, ui: &UiState) {
    let width = usize::from(area.width);
    let Some(newest) = sensor.recent.back() else {
        return;
    };
    let column_ms = (ui.config.live_window_ms.max(1) / width.max(1) as i64).max(1);
    let last_column = newest.ts.div_euclid(column_ms);
    let first_column = last_column - width as i64 + 1;
    let mut sums = vec![(0.0f64, 0u32); width];
    for p in &sensor.recent {
        let column = p.ts.div_euclid(column_ms);
        if column >= first_column {
            let slot = &mut sums[(column - first_column) as usize];
            slot.0 += p.value;
            slot.1 += 1;
        }
    }
    let means: Vec<Option<f64>> = sums
        .iter()
        .map(|(sum, n)| (*n > 0).then(|| sum / f64::from(*n)))
        .collect();
    let (lo, hi) = means
        .iter()
        .flatten()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(*v), hi.max(*v))
        });
    let span = if hi > lo { hi - lo } else { 1.0 };
    // Offset by one so the lowest value still shows a bar.
    let data: Vec<Option<u64>> = means
        .iter()
        .map(|m| m.map(|v| (((v - lo) / span) * 7.0).round() as u64 + 1))
        .collect();
    let style = match sensor.quality {
        Quality::Good => ui.theme().sparkline,
        _ => ui.theme().stale,
    };
    let mut spark = Sparkline::default()
        .data(data)
        .max(8)
        .style(style)
        .absent_value_symbol(" ");
    if ui.config.ascii {
        spark = spark.bar_set(ASCII_BARS);
    }
    spark.render(area, buf);
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}
