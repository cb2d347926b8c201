//! The invoice preview of one meter: open, switch period, scroll, save, and
//! the invoice worker's answers.

use super::{Effect, Screen, UiState};
use crate::billing::Invoice;
use crate::model::SensorId;
use crate::ui::invoice::{ConsumptionPanel, InvoiceAnswer, InvoiceError, InvoiceRequest};
use crate::ui::keys::Action;
use crate::ui::layout::Cursor;
use std::sync::Arc;

/// How many months back the invoice preview may go.
const MAX_MONTHS_BACK: u32 = 120;

/// The invoice preview of one meter and its consumption panel.
#[derive(Clone, Debug)]
pub struct InvoiceView {
    pub meter: SensorId,
    /// 0 = this month so far, 1 = the last complete month, ...
    pub months_back: u32,
    pub request: u64,
    pub invoice: Option<Arc<Invoice>>,
    /// The invoice as printed (the text rendering), one entry per line.
    pub lines: Vec<String>,
    pub error: Option<String>,
    /// `None` while it is being read.
    pub panel: Option<Result<ConsumptionPanel, Arc<InvoiceError>>>,
    pub scroll: usize,
    /// Where `Back` returns to.
    pub back_to: Screen,
}

impl UiState {
    /// The sensor the keys act on: the detail's, the preview's, or the tile under the cursor.
    fn selected_sensor(&self) -> Option<SensorId> {
        match self.screen {
            Screen::Detail => self.detail.as_ref().map(|d| d.sensor.clone()),
            Screen::Invoice => self.invoice.as_ref().map(|v| v.meter.clone()),
            _ => match self.effective_cursor() {
                Some(Cursor::Sensor(id)) => Some(id),
                _ => None,
            },
        }
    }

    pub(super) fn open_invoice(&mut self) -> Vec<Effect> {
        let Some(sensor) = self.selected_sensor() else {
            self.toast("select a meter first");
            return Vec::new();
        };
        if !self.config.meters.contains(sensor.as_str()) {
            self.toast(format!(
                "{sensor} is not a meter: give it meter = {{ customer, tariff }} in the config"
            ));
            return Vec::new();
        }
        let back_to = match self.screen {
            Screen::Invoice => self
                .invoice
                .as_ref()
                .map_or(Screen::Dashboard, |v| v.back_to),
            other => other,
        };
        self.invoice = Some(InvoiceView {
            meter: sensor,
            months_back: 1,
            request: 0,
            invoice: None,
            lines: Vec::new(),
            error: None,
            panel: None,
            scroll: 0,
            back_to,
        });
        self.screen = Screen::Invoice;
        let mut effects = self.load_invoice();
        if let Some(view) = &self.invoice {
            effects.push(Effect::Invoice(InvoiceRequest::Consumption {
                request: view.request,
                meter: view.meter.clone(),
                now: self.clock(),
            }));
        }
        effects
    }

    fn load_invoice(&mut self) -> Vec<Effect> {
        self.next_request += 1;
        let request = self.next_request;
        let now = self.clock();
        let Some(view) = self.invoice.as_mut() else {
            return Vec::new();
        };
        view.request = request;
        view.invoice = None;
        view.lines.clear();
        view.error = None;
        view.scroll = 0;
        vec![Effect::Invoice(InvoiceRequest::Preview {
            request,
            meter: view.meter.clone(),
            months_back: view.months_back,
            now,
        })]
    }

    pub(super) fn invoice_action(&mut self, action: Action) -> Vec<Effect> {
        let Some(view) = self.invoice.as_mut() else {
            self.screen = Screen::Dashboard;
            return Vec::new();
        };
        let last_line = view.lines.len().saturating_sub(1);
        match action {
            Action::Back => {
                self.screen = view.back_to;
                Vec::new()
            }
            Action::Left if view.months_back < MAX_MONTHS_BACK => {
                view.months_back += 1;
                self.load_invoice()
            }
            Action::Right if view.months_back > 0 => {
                view.months_back -= 1;
                self.load_invoice()
            }
            Action::Up => {
                view.scroll = view.scroll.saturating_sub(1);
                Vec::new()
            }
            Action::Down => {
                view.scroll = (view.scroll + 1).min(last_line);
                Vec::new()
            }
            Action::PageUp => {
                view.scroll = view.scroll.saturating_sub(10);
                Vec::new()
            }
            Action::PageDown => {
                view.scroll = (view.scroll + 10).min(last_line);
                Vec::new()
            }
            Action::First => {
                view.scroll = 0;
                Vec::new()
            }
            Action::Last => {
                view.scroll = last_line;
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    pub(super) fn save_invoice(&mut self) -> Vec<Effect> {
        let loaded = (self.screen == Screen::Invoice)
            .then(|| self.invoice.as_ref().and_then(|v| v.invoice.clone()))
            .flatten();
        match loaded {
            Some(invoice) => {
                self.toast("saving the invoice...");
                vec![Effect::Invoice(InvoiceRequest::Save(invoice))]
            }
            None => {
                self.toast("no invoice to save: open one with the invoice key on a meter");
                Vec::new()
            }
        }
    }

    pub fn on_invoice(&mut self, answer: InvoiceAnswer) {
        match answer {
            InvoiceAnswer::Saved(Ok(path)) => self.toast(format!("saved {}", path.display())),
            InvoiceAnswer::Saved(Err(e)) => self.toast(format!("could not save: {e}")),
            InvoiceAnswer::Preview(request, result) => {
                let Some(view) = self.invoice.as_mut().filter(|v| v.request == request) else {
                    return;
                };
                match result {
                    Ok(invoice) => {
                        view.lines = crate::billing::render::text(&invoice)
                            .lines()
                            .map(str::to_owned)
                            .collect();
                        view.invoice = Some(invoice);
                    }
                    Err(e) => view.error = Some(e.to_string()),
                }
            }
            InvoiceAnswer::Consumption(request, result) => {
                if let Some(view) = self.invoice.as_mut().filter(|v| v.request >= request) {
                    view.panel = Some(result.map_err(Arc::new));
                }
            }
        }
    }
}
