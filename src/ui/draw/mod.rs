//! Drawing: pure functions from [`UiState`] to a frame. No I/O, no state
//! changes; everything shown was loaded by the update loop beforehand.

mod alarms;
mod detail;
mod invoice;
mod journal;
mod overlay;
mod status;
mod tiles;

use super::elide;
use super::keys::Action;
use super::layout;
use super::state::{Focus, Screen, UiState};
use super::theme::Theme;
use crate::model::TimestampMs;
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

/// Draws the whole console.
pub fn draw(frame: &mut Frame, ui: &UiState) {
    let area = frame.area();
    let theme = ui.theme();
    frame.buffer_mut().set_style(area, theme.base);
    if layout::too_small(area) {
        too_small(frame.buffer_mut(), area, theme);
    } else {
        let (header_area, body, footer_area) = layout::screen(area);
        header(frame.buffer_mut(), header_area, ui);
        match ui.screen {
            Screen::Dashboard => {
                let areas = layout::dashboard(area);
                tiles::draw(frame.buffer_mut(), areas.tiles, ui);
                alarms::draw(frame, areas.alarms, ui);
            }
            Screen::Detail => detail::draw(frame, body, ui),
            Screen::Status => status::draw(frame, body, ui),
            Screen::Invoice => invoice::draw(frame, body, ui),
            Screen::Journal => journal::draw(frame, body, ui),
        }
        footer(frame.buffer_mut(), footer_area, ui);
        overlay::draw(frame, area, ui);
    }
    if ui.config.ascii {
        downgrade_to_ascii(frame.buffer_mut(), area);
    }
}

fn too_small(buf: &mut Buffer, area: Rect, theme: &Theme) {
    let text = vec![
        Line::styled("Terminal too small", theme.title),
        Line::raw(format!(
            "{}x{}: floorwatch needs at least {}x{}.",
            area.width,
            area.height,
            layout::MIN_WIDTH,
            layout::MIN_HEIGHT
        )),
        Line::raw("Enlarge the window, or press Ctrl-C to quit."),
    ];
    let top = area.height.saturating_sub(3) / 2;
    let inner = Rect {
        y: area.y + top,
        height: area.height - top,
        ..area
    };
    ratatui::widgets::Widget::render(
        Paragraph::new(text)
            .alignment(Alignment::Center)
            .wrap(Wrap { trim: true }),
        inner,
        buf,
    );
}

/// `HH:MM:SS` in the plant's time zone.
pub fn clock(ui: &UiState, ts: TimestampMs) -> String {
    time_fmt(ui, ts, "%H:%M:%S")
}

pub fn time_fmt(ui: &UiState, ts: TimestampMs, fmt: &str) -> String {
    chrono::DateTime::from_timestamp_millis(ts)
        .map(|t| t.with_timezone(&ui.config.timezone).format(fmt).to_string())
        .unwrap_or_else(|| "--:--:--".into())
}

/// The header: plant, sources, alarms, the replay's state and the clock.
/// When it is too narrow the least needed parts go first: the source count,
/// the plant's name, the alarm count (the UNACK badge stays), the replayed
/// date; the replay's play state, speed and progress and a space before the
/// clock always stay.
fn header(buf: &mut Buffer, area: Rect, ui: &UiState) {
    let theme = ui.theme();
    buf.set_style(area, theme.header);
    let live = &ui.live;
    // During a replay the clock is the replayed time, under a badge.
    let now = live.replay.as_ref().map_or(ui.now_ms, |r| r.position_ms);
    let tz = time_fmt(ui, now, "%Z");
    let short_clock = format!(" {} {tz} ", clock(ui, now));
    let long_clock = if live.replay.is_some() {
        format!(" {} {tz} ", time_fmt(ui, now, "%Y-%m-%d %H:%M:%S"))
    } else {
        short_clock.clone()
    };
    let (up, total) = live.source_health();
    let sources = vec![Span::raw(format!("  sources {up}/{total} up"))];
    let replay = replay_badge(ui);
    let width = |spans: &[Span]| spans.iter().map(|s| s.width()).sum::<usize>();
    let fits = |parts: &[&[Span]], clock: &str| {
        parts.iter().map(|p| width(p)).sum::<usize>() + clock.chars().count()
            <= usize::from(area.width)
    };
    let plant = |room: usize| vec![Span::raw(format!(" {}", elide::middle(&live.plant, room)))];
    let full = alarm_badge(ui, false);
    let short = alarm_badge(ui, true);
    let plant_min = live.plant.chars().count().min(8) + 1;
    let (left, clock_text): (Vec<Span>, &str) =
        if fits(&[&plant(usize::MAX), &sources, &full, &replay], &long_clock) {
            (
                [plant(usize::MAX), sources, full, replay].concat(),
                &long_clock,
            )
        } else {
            let room = usize::from(area.width)
                .saturating_sub(width(&full) + width(&replay) + long_clock.chars().count() + 1);
            if room >= plant_min {
                ([plant(room), full, replay].concat(), &long_clock)
            } else if fits(&[&short, &replay], &long_clock) {
                ([short, replay].concat(), &long_clock)
            } else if fits(&[&short, &replay], &short_clock) {
                ([short, replay].concat(), &short_clock)
            } else {
                (replay, &short_clock)
            }
        };
    let right_width = clock_text.chars().count() as u16;
    let [l, r] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(right_width)]).areas(area);
    buf.set_line(l.x, l.y, &Line::from(left), l.width);
    buf.set_stringn(r.x, r.y, clock_text, usize::from(r.width), Style::default());
}

/// `  alarms 4  2 UNACK ` or `  no alarms`; `short`: only ` 2 UNACK `; then
/// `history: reconnecting` while the history's server is being reconnected.
fn alarm_badge(ui: &UiState, short: bool) -> Vec<Span<'static>> {
    let live = &ui.live;
    let unacked = live.alarms.iter().filter(|a| a.state.needs_ack()).count();
    let mut spans = match (short, live.alarms.is_empty()) {
        (true, _) => Vec::new(),
        (false, true) => vec![Span::raw("  no alarms")],
        (false, false) => vec![Span::raw(format!("  alarms {}", live.alarms.len()))],
    };
    if unacked > 0 {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(format!(" {unacked} UNACK "), ui.theme().unack));
    }
    if live.history.reconnecting {
        spans.push(Span::raw("  "));
        spans.push(Span::styled(" history: reconnecting ", ui.theme().unack));
    }
    spans
}

/// `  REPLAY  ▶ ×60 42%`, `  REPLAY  ‖ paused ×60 42%`, `  REPLAY  finished`
/// or `  REPLAY  loading 42%`; nothing without a replay.
fn replay_badge(ui: &UiState) -> Vec<Span<'static>> {
    let live = &ui.live;
    let state = match (&live.replay, &live.replay_loading) {
        (Some(replay), _) => replay_state(replay),
        (None, Some(loading)) => format!("loading {:.0}%", loading.fraction() * 100.0),
        (None, None) => return Vec::new(),
    };
    vec![
        Span::raw("  "),
        Span::styled(" REPLAY ", ui.theme().unack),
        Span::raw(format!(" {state}")),
    ]
}

/// `▶ ×60 42%` playing, `‖ paused ×60 42%`, or `finished`.
fn replay_state(replay: &crate::source::replay::ReplayStatus) -> String {
    if replay.finished {
        return "finished".into();
    }
    let progress = replay.progress() * 100.0;
    let speed = replay.speed.label();
    if replay.paused {
        format!("‖ paused {speed} {progress:.0}%")
    } else {
        format!("▶ {speed} {progress:.0}%")
    }
}

fn footer_actions(ui: &UiState) -> &'static [Action] {
    match (ui.screen, ui.focus) {
        (Screen::Dashboard, Focus::Tiles) => &[
            Action::Help,
            Action::Filter,
            Action::Detail,
            Action::NextPane,
            Action::Ack,
            Action::NextTheme,
            Action::Quit,
        ],
        (Screen::Dashboard, Focus::Alarms) => &[
            Action::Ack,
            Action::AckAll,
            Action::Shelve,
            Action::Unshelve,
            Action::Comment,
            Action::Journal,
            Action::Back,
            Action::Help,
            Action::Quit,
        ],
        (Screen::Detail, _) => &[
            Action::ZoomIn,
            Action::ZoomOut,
            Action::Left,
            Action::Back,
            Action::Ack,
            Action::Help,
        ],
        (Screen::Status, _) => &[Action::Detail, Action::Back, Action::Help, Action::Quit],
        (Screen::Journal, _) => &[
            Action::Detail,
            Action::Filter,
            Action::CyclePriority,
            Action::CycleKind,
            Action::ZoomOut,
            Action::Left,
            Action::Export,
            Action::Back,
        ],
        (Screen::Invoice, _) => &[
            Action::Left,
            Action::Right,
            Action::SaveInvoice,
            Action::Down,
            Action::Back,
            Action::Help,
        ],
    }
}

fn footer(buf: &mut Buffer, area: Rect, ui: &UiState) {
    let theme = ui.theme();
    buf.set_style(area, theme.footer);
    if let Some(toast) = &ui.toast {
        let text = super::elide::message(&toast.text, usize::from(area.width).saturating_sub(2));
        let line = Line::from(Span::styled(format!(" {text} "), theme.toast));
        buf.set_line(area.x, area.y, &line, area.width);
        return;
    }
    if let Some(text) = &ui.seek_input {
        let line = Line::from(vec![
            Span::styled(" seek to: ", theme.key),
            Span::raw(text.clone()),
            Span::styled("_", theme.key),
            Span::raw("   HH:MM[:SS] or YYYY-MM-DD HH:MM   Enter go  Esc cancel"),
        ]);
        buf.set_line(area.x, area.y, &line, area.width);
        return;
    }
    if let Some(loading) = &ui.live.replay_loading {
        let line = Line::from(vec![
            Span::raw(format!(" {}", loading.line())),
            Span::styled("  Esc", theme.key),
            Span::raw(" cancel"),
        ]);
        buf.set_line(area.x, area.y, &line, area.width);
        return;
    }
    if ui.live.replay.is_some() && ui.screen == Screen::Dashboard && ui.focus == Focus::Tiles {
        let mut spans = Vec::new();
        for (key, what) in crate::ui::replay::KEYS {
            spans.push(Span::styled(format!(" {key}"), theme.key));
            spans.push(Span::raw(format!(" {what}")));
        }
        if ui.replay_view {
            spans.push(Span::styled(" Esc", theme.key));
            spans.push(Span::raw(" live"));
        }
        buf.set_line(area.x, area.y, &Line::from(spans), area.width);
        return;
    }
    if ui.filter_editing {
        let line = Line::from(vec![
            Span::styled(
                if ui.screen == Screen::Journal {
                    " sensor: "
                } else {
                    " filter: "
                },
                theme.key,
            ),
            Span::raw(ui.filter_text().to_owned()),
            Span::styled("_", theme.key),
            Span::raw("   Enter keep  Esc clear"),
        ]);
        buf.set_line(area.x, area.y, &line, area.width);
        return;
    }
    let mut right = String::new();
    if !ui.filter.is_empty() {
        right = format!("filter: {} ", ui.filter);
    }
    if ui.screen == Screen::Dashboard {
        right.push_str(&tiles::page_label(ui));
    }
    let right_width = (right.chars().count() as u16).min(area.width / 2);
    let [l, r] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(right_width)]).areas(area);
    let mut spans = Vec::new();
    let mut used = 0usize;
    for action in footer_actions(ui) {
        let Some(key) = ui.config.keymap.first(*action) else {
            continue;
        };
        let key = key.to_string();
        let width = key.chars().count() + action.hint().len() + 3;
        if used + width > usize::from(l.width) {
            break;
        }
        used += width;
        spans.push(Span::raw(" "));
        spans.push(Span::styled(key, theme.key));
        spans.push(Span::raw(format!(" {} ", action.hint())));
    }
    buf.set_line(l.x, l.y, &Line::from(spans), l.width);
    buf.set_stringn(r.x, r.y, right, usize::from(r.width), theme.dim);
}

/// A bordered block in the theme's colours; focused panes stand out.
pub fn pane<'a>(title: impl Into<Line<'a>>, focused: bool, theme: &Theme) -> Block<'a> {
    Block::bordered()
        .title(title)
        .border_style(if focused {
            theme.focus_border
        } else {
            theme.border
        })
        .title_style(theme.title)
}

/// Value formatting: fewer decimals for bigger numbers.
pub fn format_value(value: f64) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    let magnitude = value.abs();
    if magnitude >= 10_000.0 {
        format!("{value:.0}")
    } else if magnitude >= 100.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

/// A sensor's value: with its configured `decimals`, else as [`format_value`].
pub fn format_decimals(value: f64, decimals: Option<usize>) -> String {
    match decimals {
        Some(digits) if value.is_finite() => format!("{value:.digits$}"),
        _ => format_value(value),
    }
}

/// Replaces everything outside ASCII, for terminals without box drawing,
/// block elements or braille (`--ascii`, or a non-UTF-8 locale).
fn downgrade_to_ascii(buf: &mut Buffer, area: Rect) {
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            let Some(cell) = buf.cell_mut((x, y)) else {
                continue;
            };
            let symbol = cell.symbol();
            if symbol.is_ascii() {
                continue;
            }
            let replacement = symbol.chars().next().map_or(' ', ascii_for);
            cell.set_char(replacement);
        }
    }
}

fn ascii_for(c: char) -> char {
    match c {
        '─' | '━' | '═' | '—' | '–' | '╌' | '┄' => '-',
        '│' | '┃' | '║' | '╎' | '┆' => '|',
        '\u{2500}'..='\u{257F}' => '+',
        '\u{2800}' => ' ',
        '\u{2801}'..='\u{28FF}' | '•' | '●' => '*',
        // The alarm priorities' symbols stay distinct: ◆ CRIT, ▲ HIGH, ● MED, ○ LOW.
        '◆' => '#',
        '▲' => '^',
        '○' => 'o',
        '░' | '·' | '…' => '.',
        '▁' | '▂' => '_',
        '▃' | '▄' | '▅' => '=',
        '\u{2580}'..='\u{259F}' => '#',
        '▾' | '▼' => 'v',
        '‖' => '|',
        '▸' | '▶' => '>',
        '°' => 'o',
        'µ' => 'u',
        _ => '?',
    }
}
