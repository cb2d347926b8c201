//! Energy billing: consumption of meters from raw history, tariffs, invoices
//! per customer, and their renderings (text, CSV, JSON, Markdown).
//!
//! Money is `rust_decimal::Decimal` from config to invoice; see
//! [`tariff::rounding_rule`] for where it is rounded.

pub mod consumption;
pub mod invoice;
pub mod period;
pub mod render;
pub mod tariff;
pub mod usage;

pub use consumption::{ConsumptionError, MeterSpec, Readout};
pub use invoice::{Invoice, MeterBill};
pub use period::Period;
pub use tariff::PriceBook;

use crate::config::{Config, Customer};
use crate::store::HistoryReader;
use invoice::{BillableMeter, CustomerInfo};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    #[error("unknown customer {id:?} (defined: {known})")]
    UnknownCustomer { id: String, known: String },
    #[error(
        "{id:?} is not a meter: no sensor with that id has meter = {{ customer, tariff }} (meters: {known})"
    )]
    UnknownMeter { id: String, known: String },
    #[error(
        "customer {0:?} has no meters: bind sensors with meter = {{ customer = \"{0}\", tariff = ... }}"
    )]
    NoMeters(String),
    #[error(transparent)]
    Consumption(#[from] ConsumptionError),
}

impl BillingError {
    /// Whether the user asked for something that is not there (exit code 2).
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, BillingError::Consumption(ConsumptionError::Store(_)))
    }
}

/// Which period to bill: resolved per customer, whose billing day may differ.
#[derive(Clone, Debug)]
pub enum PeriodChoice {
    Month {
        year: i32,
        month: u32,
    },
    /// The customer's billing period `back` periods before the one that
    /// contains `now` (0 = the running one, 1 = the last one that has ended),
    /// with the customer's own `start_day`.
    Back {
        now: crate::model::TimestampMs,
        back: u32,
    },
    Custom(Period),
}

impl PeriodChoice {
    pub fn parse_month(text: &str) -> Result<PeriodChoice, period::PeriodError> {
        let p = Period::parse_month(chrono_tz::UTC, text, 1)?;
        let (y, m) = p.label.split_once('-').unwrap_or_default();
        Ok(PeriodChoice::Month {
            year: y.parse().unwrap_or_default(),
            month: m.parse().unwrap_or_default(),
        })
    }
}

/// Everything billing needs from the config, resolved once.
pub struct Billing<'a> {
    config: &'a Config,
    /// Declared customers, then those only named by a meter (id as name).
    customers: Vec<Customer>,
    books: BTreeMap<String, PriceBook>,
    /// Overrides each customer's `start_day`.
    pub start_day: Option<u32>,
}

impl<'a> Billing<'a> {
    pub fn new(config: &'a Config) -> Self {
        let tz = config.timezone();
        let books = config
            .tariff
            .iter()
            .map(|(name, t)| (name.clone(), PriceBook::from_config(name, t, tz)))
            .collect();
        Billing {
            config,
            customers: all_customers(config),
            books,
            start_day: None,
        }
    }

    /// The plant timezone periods are reckoned in.
    pub fn timezone(&self) -> chrono_tz::Tz {
        self.config.timezone()
    }

    pub fn customers(&self) -> impl Iterator<Item = &Customer> {
        self.customers.iter()
    }

    pub fn customer(&self, id: &str) -> Result<&Customer, BillingError> {
        self.customers
            .iter()
            .find(|c| c.id.get_ref() == id)
            .ok_or_else(|| BillingError::UnknownCustomer {
                id: id.to_owned(),
                known: join_or_none(self.customers.iter().map(|c| c.id.get_ref().as_str())),
            })
    }

    /// The customer a meter is billed to.
    pub fn customer_of_meter(&self, meter: &str) -> Result<&Customer, BillingError> {
        let binding = self
            .config
            .sensor
            .iter()
            .find(|s| s.id.get_ref() == meter)
            .and_then(|s| s.meter.as_ref())
            .ok_or_else(|| BillingError::UnknownMeter {
                id: meter.to_owned(),
                known: join_or_none(self.meter_ids()),
            })?;
        self.customer(binding.customer.get_ref())
    }

    fn meter_ids(&self) -> impl Iterator<Item = &'a str> {
        self.config
            .sensor
            .iter()
            .filter(|s| s.meter.is_some())
            .map(|s| s.id.get_ref().as_str())
    }

    /// The customer's meters, in config order.
    pub fn meters_of(&self, customer: &Customer) -> Vec<BillableMeter<'_>> {
        self.config
            .sensor
            .iter()
            .filter_map(|s| {
                let binding = s.meter.as_ref()?;
                let listed = customer
                    .meters
                    .iter()
                    .any(|m| m.get_ref() == s.id.get_ref());
                if binding.customer.get_ref() != customer.id.get_ref() && !listed {
                    return None;
                }
                Some(BillableMeter {
                    spec: MeterSpec::from_binding(s.id.get_ref(), binding),
                    name: s.meta().name,
                    book: self.books.get(binding.tariff.get_ref())?,
                })
            })
            .collect()
    }

    /// `--start-day`, else the customer's `start_day`, else 1.
    fn start_day_of(&self, customer: &Customer) -> u32 {
        self.start_day
            .or_else(|| customer.start_day.as_ref().map(|d| *d.get_ref()))
            .unwrap_or(1)
    }

    pub fn period_for(&self, customer: &Customer, choice: &PeriodChoice) -> Period {
        match choice {
            PeriodChoice::Custom(p) => p.clone(),
            PeriodChoice::Month { year, month } => {
                let day = self.start_day_of(customer);
                Period::month(self.config.timezone(), *year, *month, day.clamp(1, 28))
                    .unwrap_or_else(|| Period::between(self.config.timezone(), 0, 1))
            }
            PeriodChoice::Back { now, back } => {
                let day = self.start_day_of(customer).clamp(1, 28);
                let mut period = Period::month_containing(self.config.timezone(), *now, day);
                for _ in 0..*back {
                    period = period.previous();
                }
                period
            }
        }
    }

    /// The invoice of one customer, optionally for only one of its meters.
    pub fn invoice(
        &self,
        reader: &HistoryReader,
        customer: &Customer,
        only_meter: Option<&str>,
        choice: &PeriodChoice,
    ) -> Result<Invoice, BillingError> {
        let period = self.period_for(customer, choice);
        let mut meters = self.meters_of(customer);
        if let Some(id) = only_meter {
            meters.retain(|m| m.spec.sensor == id);
        }
        if meters.is_empty() {
            return Err(BillingError::NoMeters(customer.id.get_ref().clone()));
        }
        let currency = meters[0].book.currency.clone();
        let bills = meters
            .iter()
            .map(|m| invoice::bill_meter(reader, m, &period))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(invoice::assemble(
            customer_info(customer),
            &period,
            currency,
            bills,
        ))
    }
}

fn all_customers(config: &Config) -> Vec<Customer> {
    let mut customers = config.customer.clone();
    for sensor in &config.sensor {
        let Some(meter) = &sensor.meter else { continue };
        let id = meter.customer.get_ref();
        if !customers.iter().any(|c| c.id.get_ref() == id) {
            customers.push(Customer {
                id: toml::Spanned::new(meter.customer.span(), id.clone()),
                name: id.clone(),
                address: None,
                registration: None,
                meters: Vec::new(),
                start_day: None,
            });
        }
    }
    customers
}

fn customer_info(c: &Customer) -> CustomerInfo {
    CustomerInfo {
        id: c.id.get_ref().clone(),
        name: c.name.clone(),
        address: c.address.clone(),
        registration: c.registration.clone(),
    }
}

fn join_or_none<'s>(names: impl Iterator<Item = &'s str>) -> String {
    let names: Vec<&str> = names.collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// One customer's totals for a period (what `floorwatch export invoices` lists).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CustomerTotal {
    pub customer: String,
    pub name: String,
    pub period: String,
    pub currency: String,
    pub consumption_kwh: Decimal,
    pub subtotal: Decimal,
    pub taxes: Decimal,
    pub total: Decimal,
    pub excessive_consumption: bool,
}

impl CustomerTotal {
    pub fn of(invoice: &Invoice) -> CustomerTotal {
        CustomerTotal {
            customer: invoice.customer.id.clone(),
            name: invoice.customer.name.clone(),
            period: invoice.period.label.clone(),
            currency: invoice.currency.clone(),
            consumption_kwh: invoice.meters.iter().map(|m| m.consumption_kwh).sum(),
            subtotal: invoice.subtotal,
            taxes: invoice.tax_total,
            total: invoice.total,
            excessive_consumption: invoice.meters.iter().any(|m| m.alert.excessive),
        }
    }
}

/// Totals of every customer for a period, in config order. A customer whose
/// meters have no readings in the period is returned as its error.
pub fn customer_totals(
    config: &Config,
    reader: &HistoryReader,
    choice: &PeriodChoice,
) -> Vec<(String, Result<CustomerTotal, BillingError>)> {
    let billing = Billing::new(config);
    billing
        .customers()
        .map(|c| {
            let total = billing
                .invoice(reader, c, None, choice)
                .map(|inv| CustomerTotal::of(&inv));
            (c.id.get_ref().clone(), total)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn billing_config(start_day: u32) -> Config {
        let text = format!(
            r#"
[plant]
timezone = "UTC"
[[sensor]]
id = "m1"
meter = {{ customer = "c1", tariff = "flat" }}
[tariff.flat]
currency = "BRL"
energy = [ {{ price = 1.0 }} ]
[[customer]]
id = "c1"
name = "C1"
start_day = {start_day}
"#
        );
        Config::parse(std::path::Path::new("b.toml"), &text).unwrap()
    }

    fn ms(text: &str) -> crate::model::TimestampMs {
        chrono::DateTime::parse_from_rfc3339(text)
            .unwrap()
            .timestamp_millis()
    }

    #[test]
    fn the_default_period_is_the_last_one_that_has_ended_by_the_customers_day() {
        // On 10 Nov with periods starting on the 15th, 15 Oct–15 Nov is still
        // running: the last ended period is 15 Sep–15 Oct.
        let config = billing_config(15);
        let billing = Billing::new(&config);
        let customer = billing.customer("c1").unwrap();
        let now = ms("2026-11-10T12:00:00Z");
        let last = billing.period_for(customer, &PeriodChoice::Back { now, back: 1 });
        assert_eq!(
            (last.from, last.to),
            (ms("2026-09-15T00:00:00Z"), ms("2026-10-15T00:00:00Z"))
        );
        let running = billing.period_for(customer, &PeriodChoice::Back { now, back: 0 });
        assert!(running.contains(now));
        // Across a year boundary, with calendar months.
        let config = billing_config(1);
        let billing = Billing::new(&config);
        let customer = billing.customer("c1").unwrap();
        let jan = ms("2027-01-15T12:00:00Z");
        let p = billing.period_for(customer, &PeriodChoice::Back { now: jan, back: 13 });
        assert_eq!(p.label, "2025-12");
    }
}
