//! The invoice preview of a meter: a consumption panel (this month so far
//! against last month) above the invoice as it prints.

use super::pane;
use crate::ui::state::{InvoiceView, UiState};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub fn draw(frame: &mut Frame, area: Rect, ui: &UiState) {
    let Some(view) = &ui.invoice else {
        return;
    };
    let [panel_area, preview_area] =
        Layout::vertical([Constraint::Length(3), Constraint::Min(3)]).areas(area);
    consumption(frame, panel_area, ui, view);
    preview(frame, preview_area, ui, view);
}

fn kwh(value: Option<f64>) -> String {
    value.map_or("no readings".into(), |v| format!("{v:.1} kWh"))
}

fn consumption(frame: &mut Frame, area: Rect, ui: &UiState, view: &InvoiceView) {
    let theme = ui.theme();
    let text = match &view.panel {
        None => Line::styled("reading consumption...", theme.dim),
        Some(Err(e)) => Line::styled(e.to_string(), theme.alarm),
        Some(Ok(p)) => {
            let ratio = match (p.this_kwh, p.last_kwh) {
                (Some(this), Some(last)) if last > 0.0 => {
                    format!("  ({:.0}% of last month)", this / last * 100.0)
                }
                _ => String::new(),
            };
            Line::from(vec![
                Span::styled(format!("{} so far ", p.this_label), theme.dim),
                Span::styled(kwh(p.this_kwh), theme.value),
                Span::raw(ratio),
                Span::styled(format!("   {} ", p.last_label), theme.dim),
                Span::styled(kwh(p.last_kwh), theme.value),
            ])
        }
    };
    let block = pane(format!(" Consumption {} ", view.meter), false, theme);
    frame.render_widget(Paragraph::new(text).block(block), area);
}

fn preview(frame: &mut Frame, area: Rect, ui: &UiState, view: &InvoiceView) {
    let theme = ui.theme();
    let period = view
        .invoice
        .as_ref()
        .map(|i| i.period.label.clone())
        .unwrap_or_else(|| match view.months_back {
            0 => "this month".into(),
            1 => "last month".into(),
            n => format!("{n} months ago"),
        });
    let total = view
        .invoice
        .as_ref()
        .map(|i| format!(" · total {} {}", i.currency, i.total))
        .unwrap_or_default();
    let title = format!(" Invoice {} · {period}{total} ", view.meter);
    let block = pane(title, true, theme);
    let body: Vec<Line> = if let Some(e) = &view.error {
        vec![Line::styled(e.clone(), theme.alarm)]
    } else if view.invoice.is_none() {
        vec![Line::styled("computing the invoice...", theme.dim)]
    } else {
        view.lines
            .iter()
            .skip(view.scroll)
            .map(|l| Line::raw(l.clone()))
            .collect()
    };
    frame.render_widget(Paragraph::new(body).block(block), area);
}
