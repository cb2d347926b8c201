//! The invoice preview of the selected meter and its consumption panel,
//! computed on a worker thread from the history file so the update loop never
//! waits on billing. Saving writes the previewed invoice as text.

use crate::billing::consumption::{TotalOnly, read_consumption};
use crate::billing::render::{Format, render};
use crate::billing::{Billing, BillingError, ConsumptionError, Invoice, Period, PeriodChoice};
use crate::config::Config;
use crate::model::{SensorId, TimestampMs};
use crate::store::{HistoryReader, Location, StoreError};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::mpsc;

#[derive(Clone, Debug)]
pub enum InvoiceRequest {
    /// The invoice of `meter` for the month `months_back` before the current
    /// one (0 = this month so far, 1 = the last complete month).
    Preview {
        request: u64,
        meter: SensorId,
        months_back: u32,
        now: TimestampMs,
    },
    /// This month so far against the last month.
    Consumption {
        request: u64,
        meter: SensorId,
        now: TimestampMs,
    },
    Save(Arc<Invoice>),
}

impl PartialEq for InvoiceRequest {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (InvoiceRequest::Save(a), InvoiceRequest::Save(b)) => Arc::ptr_eq(a, b),
            (
                InvoiceRequest::Preview {
                    request: a,
                    meter: m,
                    months_back: b,
                    now: n,
                },
                InvoiceRequest::Preview {
                    request: a2,
                    meter: m2,
                    months_back: b2,
                    now: n2,
                },
            ) => (a, m, b, n) == (a2, m2, b2, n2),
            (
                InvoiceRequest::Consumption {
                    request: a,
                    meter: m,
                    now: n,
                },
                InvoiceRequest::Consumption {
                    request: a2,
                    meter: m2,
                    now: n2,
                },
            ) => (a, m, n) == (a2, m2, n2),
            _ => false,
        }
    }
}

/// kWh of the meter this month so far and last month.
#[derive(Clone, Debug, PartialEq)]
pub struct ConsumptionPanel {
    pub this_label: String,
    pub this_kwh: Option<f64>,
    pub last_label: String,
    pub last_kwh: Option<f64>,
}

#[derive(Debug)]
pub enum InvoiceAnswer {
    Preview(u64, Result<Arc<Invoice>, InvoiceError>),
    Consumption(u64, Result<ConsumptionPanel, InvoiceError>),
    Saved(Result<PathBuf, InvoiceError>),
}

/// Why a preview, a consumption panel or a save failed.
#[derive(Debug, thiserror::Error)]
pub enum InvoiceError {
    #[error("{0}")]
    OpenHistory(#[source] StoreError),
    #[error("{0}")]
    Billing(#[source] BillingError),
    #[error("{meter} is not a meter")]
    NotAMeter { meter: SensorId },
    #[error("{0}")]
    Consumption(#[source] ConsumptionError),
    #[error("creating {}: {source}", .dir.display())]
    CreateDir {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("writing {}: {source}", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The customer's billing period `months_back` periods before the running one.
pub fn month_back(now: TimestampMs, months_back: u32) -> PeriodChoice {
    PeriodChoice::Back {
        now,
        back: months_back,
    }
}

struct Worker {
    config: Arc<Config>,
    /// The history file last read (live, or a replay's store) and its reader.
    open: Option<(Location, HistoryReader)>,
    save_dir: PathBuf,
}

impl Worker {
    fn answer(&mut self, db: &Location, request: InvoiceRequest) -> InvoiceAnswer {
        let open = match self.open.take() {
            Some((path, reader)) if &path == db => (path, reader),
            _ => match HistoryReader::open(db) {
                Ok(reader) => (db.clone(), reader),
                Err(e) => return failed(request, InvoiceError::OpenHistory(e)),
            },
        };
        let (_, reader) = self.open.insert(open);
        answer_with(&self.config, &self.save_dir, reader, request)
    }
}

fn answer_with(
    config: &Config,
    save_dir: &Path,
    reader: &HistoryReader,
    request: InvoiceRequest,
) -> InvoiceAnswer {
    match request {
        InvoiceRequest::Preview {
            request,
            meter,
            months_back,
            now,
        } => InvoiceAnswer::Preview(request, preview(config, reader, &meter, months_back, now)),
        InvoiceRequest::Consumption {
            request,
            meter,
            now,
        } => InvoiceAnswer::Consumption(request, consumption(config, reader, &meter, now)),
        InvoiceRequest::Save(invoice) => InvoiceAnswer::Saved(save(save_dir, &invoice)),
    }
}

fn preview(
    config: &Config,
    reader: &HistoryReader,
    meter: &SensorId,
    months_back: u32,
    now: TimestampMs,
) -> Result<Arc<Invoice>, InvoiceError> {
    let billing = Billing::new(config);
    let customer = billing
        .customer_of_meter(meter.as_str())
        .map_err(InvoiceError::Billing)?;
    let choice = month_back(now, months_back);
    billing
        .invoice(reader, customer, Some(meter.as_str()), &choice)
        .map(Arc::new)
        .map_err(InvoiceError::Billing)
}

fn consumption(
    config: &Config,
    reader: &HistoryReader,
    meter: &SensorId,
    now: TimestampMs,
) -> Result<ConsumptionPanel, InvoiceError> {
    let billing = Billing::new(config);
    let customer = billing
        .customer_of_meter(meter.as_str())
        .map_err(InvoiceError::Billing)?;
    let spec = billing
        .meters_of(customer)
        .into_iter()
        .find(|m| m.spec.sensor == meter.as_str())
        .map(|m| m.spec)
        .ok_or_else(|| InvoiceError::NotAMeter {
            meter: meter.clone(),
        })?;
    let tz = config.timezone();
    let this = billing.period_for(customer, &month_back(now, 0));
    let last = this.previous();
    let so_far = Period::between(tz, this.from, now.clamp(this.from + 1, this.to));
    let kwh = |period: &Period| -> Result<Option<f64>, InvoiceError> {
        let mut total = TotalOnly::default();
        match read_consumption(reader, &spec, period, &mut total) {
            Ok(_) => Ok(Some(total.0)),
            Err(ConsumptionError::NoReadings { .. }) => Ok(None),
            Err(e) => Err(InvoiceError::Consumption(e)),
        }
    };
    Ok(ConsumptionPanel {
        this_kwh: kwh(&so_far)?,
        this_label: this.label.clone(),
        last_kwh: kwh(&last)?,
        last_label: last.label,
    })
}

fn save(save_dir: &Path, invoice: &Invoice) -> Result<PathBuf, InvoiceError> {
    std::fs::create_dir_all(save_dir).map_err(|source| InvoiceError::CreateDir {
        dir: save_dir.to_owned(),
        source,
    })?;
    let name = format!(
        "{}-{}-{}.txt",
        invoice.customer.id,
        invoice
            .meters
            .first()
            .map(|m| m.meter.as_str())
            .unwrap_or("all"),
        invoice.period.label
    )
    .replace(['/', '\\', ' ', ':'], "_");
    let path = save_dir.join(name);
    std::fs::write(&path, render(invoice, Format::Text)).map_err(|source| InvoiceError::Write {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

/// An invoice request and the history file (live, or a replay's store) it reads.
pub type InvoiceJob = (Location, InvoiceRequest);

/// Starts the invoice worker; it stops when the request sender is dropped.
/// Saved invoices go to `save_dir`.
pub fn spawn(
    config: Arc<Config>,
    save_dir: PathBuf,
) -> (
    mpsc::UnboundedSender<InvoiceJob>,
    mpsc::UnboundedReceiver<InvoiceAnswer>,
) {
    let (request_tx, mut request_rx) = mpsc::unbounded_channel::<InvoiceJob>();
    let (answer_tx, answer_rx) = mpsc::unbounded_channel();
    let started = std::thread::Builder::new()
        .name("ui-invoice".into())
        .spawn(move || {
            let mut worker = Worker {
                config,
                open: None,
                save_dir,
            };
            while let Some((db, request)) = request_rx.blocking_recv() {
                if answer_tx.send(worker.answer(&db, request)).is_err() {
                    break;
                }
            }
        });
    if let Err(e) = started {
        tracing::warn!("cannot start the invoice worker: {e}");
    }
    (request_tx, answer_rx)
}

fn failed(request: InvoiceRequest, error: InvoiceError) -> InvoiceAnswer {
    match request {
        InvoiceRequest::Preview { request, .. } => InvoiceAnswer::Preview(request, Err(error)),
        InvoiceRequest::Consumption { request, .. } => {
            InvoiceAnswer::Consumption(request, Err(error))
        }
        InvoiceRequest::Save(_) => InvoiceAnswer::Saved(Err(error)),
    }
}
