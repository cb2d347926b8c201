//! Sensor detail: history chart with limit lines, window statistics, the
//! sensor's recent alarm events and where its values come from.

use super::{format_decimals, format_value, pane, time_fmt};
use crate::engine::SensorLive;
use crate::model::Quality;
use crate::ui::history::DetailData;
use crate::ui::state::{Detail, UiState, WINDOWS};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph, Wrap};

pub fn draw(frame: &mut Frame, area: Rect, ui: &UiState) {
    let Some(detail) = &ui.detail else {
        return;
    };
    let theme = ui.theme();
    let sensor = ui.live.sensor(detail.sensor.as_str());
    let side = if area.width >= 100 { 40 } else { 30 };
    let [chart_area, side_area] = if area.width >= 70 {
        Layout::horizontal([Constraint::Min(0), Constraint::Length(side)]).areas(area)
    } else {
        Layout::vertical([Constraint::Min(0), Constraint::Length(area.height / 2)]).areas(area)
    };
    let name = sensor.map_or_else(|| detail.sensor.to_string(), |s| s.meta.name.clone());
    let (from, to) = detail.range(ui.clock());
    let window = WINDOWS[detail.window].0;
    let when = if detail.end_ms.is_none() {
        "live".to_owned()
    } else {
        format!("to {}", time_fmt(ui, to, "%m-%d %H:%M"))
    };
    let title = format!(" {name} · {window} {when} ");
    let block = pane(title, true, theme);
    match (&detail.data, &detail.error) {
        (_, Some(error)) => frame.render_widget(
            Paragraph::new(Line::styled(format!("history: {error}"), theme.alarm))
                .wrap(Wrap { trim: true })
                .block(block),
            chart_area,
        ),
        (Some(data), None) if !data.buckets.is_empty() => {
            chart(frame, chart_area, block, data, ui, detail, (from, to))
        }
        (Some(_), None) => frame.render_widget(
            Paragraph::new(Line::styled("no history in this window", theme.dim)).block(block),
            chart_area,
        ),
        (None, None) => frame.render_widget(
            Paragraph::new(Line::styled("loading history…", theme.dim)).block(block),
            chart_area,
        ),
    }
    side_panel(frame, side_area, ui, detail, sensor);
}

fn chart(
    frame: &mut Frame,
    area: Rect,
    block: ratatui::widgets::Block,
    data: &DetailData,
    ui: &UiState,
    detail: &Detail,
    (from, to): (i64, i64),
) {
    let theme = ui.theme();
    let points: Vec<(f64, f64)> = data
        .buckets
        .iter()
        .map(|b| (b.last_ts as f64, b.avg))
        .collect();
    let limits: Vec<(&str, f64)> = ui
        .config
        .limits
        .get(detail.sensor.as_str())
        .map(|l| l.ordered())
        .unwrap_or_default();
    let (mut lo, mut hi) = data
        .buckets
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), b| {
            (lo.min(b.min), hi.max(b.max))
        });
    for (_, v) in &limits {
        lo = lo.min(*v);
        hi = hi.max(*v);
    }
    let pad = ((hi - lo) * 0.05).max(0.5);
    let (lo, hi) = (lo - pad, hi + pad);
    let limit_lines: Vec<Vec<(f64, f64)>> = limits
        .iter()
        .map(|(_, v)| vec![(from as f64, *v), (to as f64, *v)])
        .collect();
    let marker = if ui.config.ascii {
        Marker::Dot
    } else {
        Marker::Braille
    };
    let mut datasets = vec![
        Dataset::default()
            .marker(marker)
            .graph_type(GraphType::Line)
            .style(theme.chart)
            .data(&points),
    ];
    for ((name, _), line) in limits.iter().zip(&limit_lines) {
        datasets.push(
            Dataset::default()
                .name(name.to_uppercase())
                .marker(marker)
                .graph_type(GraphType::Line)
                .style(theme.limit)
                .data(line),
        );
    }
    let fmt = if to - from > 24 * 3_600_000 {
        "%m-%d %H:%M"
    } else {
        "%H:%M"
    };
    let x_labels = [from, from + (to - from) / 2, to].map(|t| Span::raw(time_fmt(ui, t, fmt)));
    let y_labels = [lo, (lo + hi) / 2.0, hi].map(|v| Span::raw(format_value(v)));
    let chart = Chart::new(datasets)
        .block(block)
        .style(theme.base)
        .x_axis(
            Axis::default()
                .bounds([from as f64, to as f64])
                .labels(x_labels)
                .style(theme.dim),
        )
        .y_axis(
            Axis::default()
                .bounds([lo, hi])
                .labels(y_labels)
                .style(theme.dim),
        )
        .hidden_legend_constraints((Constraint::Ratio(1, 3), Constraint::Ratio(1, 3)));
    frame.render_widget(chart, area);
}

/// Lines of the last payload or registers shown before the statistics.
const RAW_LINES: usize = 4;

/// What the source last received for this sensor, and when.
fn raw_lines(lines: &mut Vec<Line<'static>>, ui: &UiState, sensor: &SensorLive) {
    let theme = ui.theme();
    let Some(raw) = &sensor.raw else {
        return;
    };
    let when = sensor
        .last_arrival_ms
        .map(|t| format!(" at {}", time_fmt(ui, t, "%H:%M:%S")))
        .unwrap_or_default();
    lines.push(Line::styled(format!("received{when}"), theme.dim));
    let text = raw.describe();
    let shown = text.len().min(RAW_LINES);
    for line in &text[..shown] {
        lines.push(Line::styled(format!("  {line}"), theme.value));
    }
    if text.len() > shown {
        lines.push(Line::styled(
            format!("  … {} more lines", text.len() - shown),
            theme.dim,
        ));
    }
}

/// Where the sensor's values come from: its `[[sensor]]` binding, else the
/// pattern or template that discovered it.
fn source_text(ui: &UiState, detail: &Detail, sensor: Option<&SensorLive>) -> String {
    let binding = ui.config.bindings.get(detail.sensor.as_str());
    let discovered = sensor.and_then(|s| s.discovered_from.as_ref());
    binding
        .or(discovered)
        .map_or_else(|| "not bound, not discovered yet".to_owned(), Clone::clone)
}

fn side_panel(
    frame: &mut Frame,
    area: Rect,
    ui: &UiState,
    detail: &Detail,
    sensor: Option<&SensorLive>,
) {
    let theme = ui.theme();
    let unit = sensor.map_or("", |s| s.meta.unit.as_str());
    let decimals = ui.config.decimals.of(detail.sensor.as_str());
    let mut lines = Vec::new();
    let label = |text: &str| Span::styled(format!("{text:<8}"), theme.dim);
    lines.push(Line::from(vec![
        label("id"),
        Span::raw(detail.sensor.to_string()),
    ]));
    if let Some(s) = sensor {
        if !s.meta.group.is_empty() {
            lines.push(Line::from(vec![
                label("group"),
                Span::raw(s.meta.group.clone()),
            ]));
        }
        let now = match (s.last, s.quality) {
            (None, _) => Span::styled("no data", theme.dim),
            (Some(p), Quality::Good) => Span::styled(
                format!("{} {unit}", format_decimals(p.value, decimals)),
                theme.value,
            ),
            (Some(p), Quality::Stale) => Span::styled(
                format!("({} {unit}) stale", format_decimals(p.value, decimals)),
                theme.stale,
            ),
            (Some(p), Quality::Bad) => Span::styled(
                format!("bad ({})", format_decimals(p.value, decimals)),
                theme.bad,
            ),
        };
        lines.push(Line::from(vec![label("now"), now]));
    }
    lines.push(Line::raw(""));
    match detail.data.as_ref().and_then(|d| d.stats) {
        Some(st) => {
            let v = |x: f64| format!("{} {unit}", format_decimals(x, decimals));
            lines.push(Line::from(vec![
                label("last"),
                Span::styled(v(st.last), theme.value),
                Span::styled(
                    format!(" {}", time_fmt(ui, st.last_ts, "%H:%M:%S")),
                    theme.dim,
                ),
            ]));
            lines.push(Line::from(vec![label("min"), Span::raw(v(st.min))]));
            lines.push(Line::from(vec![label("max"), Span::raw(v(st.max))]));
            lines.push(Line::from(vec![label("avg"), Span::raw(v(st.avg))]));
            lines.push(Line::from(vec![
                label("points"),
                Span::raw(st.count.to_string()),
            ]));
        }
        None => lines.push(Line::styled("no readings in this window", theme.dim)),
    }
    if let Some(limits) = ui.config.limits.get(detail.sensor.as_str()) {
        let text: Vec<String> = limits
            .ordered()
            .iter()
            .map(|(n, v)| format!("{} {}", n.to_uppercase(), format_value(*v)))
            .collect();
        if !text.is_empty() {
            lines.push(Line::from(vec![
                label("limits"),
                Span::styled(text.join("  "), theme.limit),
            ]));
        }
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("Alarm events", theme.title));
    let events = detail.data.as_ref().map_or(&[][..], |d| &d.events[..]);
    if events.is_empty() {
        lines.push(Line::styled("none recorded", theme.dim));
    }
    for e in events {
        let mut text = format!(
            "{} {} {}",
            time_fmt(ui, e.ts, "%m-%d %H:%M"),
            e.condition.to_uppercase(),
            e.event
        );
        if let Some(v) = e.value {
            text.push_str(&format!(" {}", format_decimals(v, decimals)));
        }
        if !e.operator.is_empty() {
            text.push_str(&format!(" {}", e.operator));
        }
        lines.push(Line::raw(text));
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        label("source"),
        Span::raw(source_text(ui, detail, sensor)),
    ]));
    if let Some(s) = sensor {
        raw_lines(&mut lines, ui, s);
    }
    // Essentials first (value, statistics, limits, alarm events), what the
    // source received last; a panel taller than the screen scrolls.
    let inner = usize::from(area.width.saturating_sub(2)).max(1);
    // A wrapped line may take a row more than its width says (words move whole).
    let rows: usize = lines
        .iter()
        .map(|l| l.width().div_ceil(inner).max(1) + usize::from(l.width() > inner))
        .sum();
    let visible = usize::from(area.height.saturating_sub(2));
    let last_top = u16::try_from(rows.saturating_sub(visible)).unwrap_or(u16::MAX);
    let scroll = detail.side_scroll.min(last_top);
    let title = if last_top == 0 {
        " Detail ".to_owned()
    } else {
        format!(
            " Detail ↑↓ {}/{} ",
            usize::from(scroll) + visible.min(rows),
            rows
        )
    };
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0))
            .block(pane(title, false, theme)),
        area,
    );
}
