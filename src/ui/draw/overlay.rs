//! Help (generated from the key map) and the quit confirmation.

use crate::ui::keys::Action;
use crate::ui::state::{Overlay, UiState};
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
    }
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
        "Ctrl-C always quits. Keys are set in [ui.keys]. Any key closes this help.",
        theme.dim,
    ));
    let width = if two_columns {
        entry_width * 2 + 4
    } else {
        entry_width + 2
    };
    let rect = centered(area, width, lines.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines).style(theme.base).block(
            Block::bordered()
                .title(" Keys ")
                .title_style(theme.title)
                .border_style(theme.focus_border),
        ),
        rect,
    );
}

fn confirm_quit(frame: &mut Frame, area: Rect, ui: &UiState, unacked: usize) {
    let theme = ui.theme();
    let lines = vec![
        Line::raw(format!(
            "{unacked} alarm{} not acknowledged.",
            if unacked == 1 { " is" } else { "s are" }
        )),
        Line::raw(""),
        Line::raw("Quit anyway?  y: quit   any other key: stay"),
    ];
    let rect = centered(area, 48, 5);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .style(theme.dialog)
            .wrap(Wrap { trim: true })
            .block(
                Block::bordered()
                    .title(" Quit? ")
                    .border_style(theme.dialog),
            ),
        rect,
    );
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
