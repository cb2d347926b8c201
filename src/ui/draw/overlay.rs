//! Help (generated from the key map) and the quit confirmation.

use crate::ui::keys::Action;
use crate::ui::state::{Overlay, RowDetail, UiState};
use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

pub fn draw(frame: &mut Frame, area: Rect, ui: &UiState) {
    match &ui.overlay {
        None => {}
        Some(Overlay::Help) => help(frame, area, ui),
        Some(Overlay::ConfirmQuit { unacked }) => confirm_quit(frame, area, ui, *unacked),
        Some(Overlay::ReplayPicker(picker)) => replay_picker(frame, area, ui, picker),
        Some(Overlay::ConfirmAckAll { keys }) => confirm_ack_all(frame, area, ui, keys),
        Some(Overlay::Shelve { key, selected }) => shelve_menu(frame, area, ui, key, *selected),
        Some(Overlay::Comment { key, text }) => comment_prompt(frame, area, ui, key, text),
        Some(Overlay::RowDetail(popup)) => row_detail(frame, area, ui, popup),
    }
}

/// A journal or status row whole: one field a line, long text wrapped.
fn row_detail(frame: &mut Frame, area: Rect, ui: &UiState, popup: &RowDetail) {
    let theme = ui.theme();
    let label_width = popup
        .fields
        .iter()
        .map(|(label, _)| label.chars().count())
        .max()
        .unwrap_or(0)
        + 2;
    let width = area.width.saturating_sub(4).clamp(20, 76);
    let inner = usize::from(width.saturating_sub(2)).max(1);
    let mut lines: Vec<Line> = popup
        .fields
        .iter()
        .map(|(label, text)| {
            Line::from(vec![
                Span::styled(format!("{label:<label_width$}"), theme.dim),
                Span::raw(text.clone()),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        if popup.sensor.is_some() {
            "Enter sensor detail   any other key closes"
        } else {
            "any key closes"
        },
        theme.dim,
    ));
    // Word wrapping can take a row more than the widths say: one spare.
    let rows: usize = lines
        .iter()
        .map(|l| l.width().div_ceil(inner).max(1))
        .sum::<usize>()
        + 1;
    let height = u16::try_from(rows + 2).unwrap_or(u16::MAX);
    let rect = centered(area, width, height);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .style(theme.base)
            .wrap(Wrap { trim: false })
            .block(
                Block::bordered()
                    .title(format!(" {} ", popup.title))
                    .title_style(theme.title)
                    .border_style(theme.focus_border),
            ),
        rect,
    );
}

/// A bordered dialog in the theme's dialog colours, centred in `area`.
fn dialog(frame: &mut Frame, area: Rect, ui: &UiState, title: &str, lines: Vec<Line>, width: u16) {
    let theme = ui.theme();
    let rect = centered(area, width, lines.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .style(theme.dialog)
            .wrap(Wrap { trim: false })
            .block(
                Block::bordered()
                    .title(format!(" {title} "))
                    .border_style(theme.dialog),
            ),
        rect,
    );
}

fn confirm_ack_all(frame: &mut Frame, area: Rect, ui: &UiState, keys: &[String]) {
    let n = keys.len();
    let mut lines = vec![Line::raw(format!(
        "Acknowledge {n} alarm{} in view as {}?",
        if n == 1 { "" } else { "s" },
        ui.config.operator
    ))];
    let shown = usize::from(area.height.saturating_sub(8)).clamp(1, 8);
    lines.extend(keys.iter().take(shown).map(|k| Line::raw(format!("  {k}"))));
    if n > shown {
        lines.push(Line::raw(format!("  … and {} more", n - shown)));
    }
    lines.push(Line::raw(""));
    lines.push(Line::raw("y: acknowledge all   any other key: cancel"));
    dialog(frame, area, ui, "Acknowledge all?", lines, 52);
}

fn shelve_menu(frame: &mut Frame, area: Rect, ui: &UiState, key: &str, selected: usize) {
    let theme = ui.theme();
    let mut lines = vec![Line::raw(format!("Shelve {key}")), Line::raw("")];
    for (i, choice) in ui.shelve_choices().iter().enumerate() {
        let text = format!(" {} {} ", i + 1, choice.label());
        lines.push(if i == selected {
            Line::styled(text, theme.selected)
        } else {
            Line::raw(text)
        });
    }
    lines.push(Line::raw(""));
    lines.push(Line::raw("Enter or 1-9 shelve   ↑↓ choose   Esc cancel"));
    dialog(frame, area, ui, "Shelve", lines, 50);
}

fn comment_prompt(frame: &mut Frame, area: Rect, ui: &UiState, key: &str, text: &str) {
    let lines = vec![
        Line::raw(format!(
            "Comment on {key} (journal, as {})",
            ui.config.operator
        )),
        Line::raw(""),
        Line::from(vec![Span::raw(format!("> {text}")), Span::raw("_")]),
        Line::raw(""),
        Line::raw("Enter record   Esc cancel"),
    ];
    let width = (text.chars().count() as u16 + 8).clamp(50, area.width.saturating_sub(4).max(50));
    dialog(frame, area, ui, "Comment", lines, width);
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [v] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [h] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(v);
    h
}

fn help(frame: &mut Frame, area: Rect, ui: &UiState) {
    let theme = ui.theme();
    let keymap = &ui.config.keymap;
    let key_width = Action::ALL
        .iter()
        .map(|a| keymap.label(*a).chars().count())
        .max()
        .unwrap_or(4)
        .max(6);
    let entry = |action: &Action| {
        vec![
            Span::styled(format!("{:<key_width$} ", keymap.label(*action)), theme.key),
            Span::raw(action.description()),
        ]
    };
    let entry_width = (key_width + 1 + 26) as u16;
    let two_columns = area.width >= entry_width * 2 + 5;
    let per_column = if two_columns {
        Action::ALL.len().div_ceil(2)
    } else {
        Action::ALL.len()
    };
    let mut lines: Vec<Line> = (0..per_column)
        .map(|i| {
            let mut spans = entry(&Action::ALL[i]);
            if two_columns && let Some(right) = Action::ALL.get(i + per_column) {
                let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
                spans.push(Span::raw(" ".repeat(
                    usize::from(entry_width) + 2 - used.min(usize::from(entry_width)),
                )));
                spans.extend(entry(right));
            }
            Line::from(spans)
        })
        .collect();
    lines.push(Line::styled(
        "Ctrl-C always quits. Keys are set in [ui.keys]. Other keys close.",
        theme.dim,
    ));
    let width = if two_columns {
        entry_width * 2 + 4
    } else {
        entry_width + 2
    };
    // On a short terminal the help scrolls with the up/down/page keys.
    let visible = usize::from(area.height.saturating_sub(2)).max(1);
    let skip = ui.help_scroll.min(lines.len().saturating_sub(visible));
    let title = if lines.len() > visible {
        " Keys (↑↓ scroll) "
    } else {
        " Keys "
    };
    let lines: Vec<Line> = lines.into_iter().skip(skip).collect();
    let rect = centered(area, width, lines.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines).style(theme.base).block(
            Block::bordered()
                .title(title)
                .title_style(theme.title)
                .border_style(theme.focus_border),
        ),
        rect,
    );
}

fn confirm_quit(frame: &mut Frame, area: Rect, ui: &UiState, unacked: usize) {
    let lines = vec![
        Line::raw(format!(
            "{unacked} alarm{} not acknowledged.",
            if unacked == 1 { " is" } else { "s are" }
        )),
        Line::raw(""),
        Line::raw("Quit anyway?  y: quit   any other key: stay"),
    ];
    dialog(frame, area, ui, "Quit?", lines, 48);
}

fn replay_picker(frame: &mut Frame, area: Rect, ui: &UiState, picker: &crate::ui::replay::Picker) {
    let theme = ui.theme();
    let rows = usize::from(area.height.saturating_sub(6)).max(1);
    let first = picker.selected.saturating_sub(rows - 1);
    let mut lines: Vec<Line> = picker
        .files
        .iter()
        .enumerate()
        .skip(first)
        .take(rows)
        .map(|(i, f)| {
            let text = format!(" {} ", f.display());
            if i == picker.selected {
                Line::styled(text, theme.focus_border)
            } else {
                Line::raw(text)
            }
        })
        .collect();
    lines.push(Line::styled(
        "Enter replay   ↑↓ choose   Esc cancel",
        theme.dim,
    ));
    let width = picker
        .files
        .iter()
        .map(|f| f.display().to_string().chars().count() as u16 + 4)
        .max()
        .unwrap_or(20)
        .clamp(40, area.width);
    let rect = centered(area, width, lines.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines).style(theme.base).block(
            Block::bordered()
                .title(" Replay a CSV file ")
                .title_style(theme.title)
                .border_style(theme.focus_border),
        ),
        rect,
    );
}
