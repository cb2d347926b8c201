//! Helpers for the billing tests: a real SQLite history file written through
//! floorwatch's own writer, and configs from text.
#![allow(dead_code)]

use floorwatch::billing::{Billing, Invoice, PeriodChoice};
use floorwatch::config::Config;
use floorwatch::model::{Reading, TimestampMs};
use floorwatch::store::{HistoryReader, Writer, writer::WriterConfig};
use std::path::PathBuf;

pub const MINUTE: i64 = 60_000;
pub const HOUR: i64 = 3_600_000;

pub fn ts(rfc3339: &str) -> TimestampMs {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .timestamp_millis()
}

/// `count` readings of `sensor` every `step` ms from `start`, value `f(i)`.
pub fn series(
    sensor: &str,
    start: TimestampMs,
    step: i64,
    count: usize,
    f: impl Fn(usize) -> f64,
) -> Vec<Reading> {
    (0..count)
        .map(|i| Reading::good(sensor, start + step * i as i64, f(i)))
        .collect()
}

pub fn write_history(path: impl Into<floorwatch::store::Location>, readings: Vec<Reading>) {
    let (writer, handle) = Writer::spawn(path, WriterConfig::default()).unwrap();
    for chunk in readings.chunks(50_000) {
        handle
            .blocking_send(floorwatch::store::WriteMsg::Readings(chunk.to_vec()))
            .unwrap();
    }
    drop(handle);
    writer.join().unwrap();
}

pub struct Plant {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
    pub config_path: PathBuf,
    pub config: Config,
    /// The same history on PostgreSQL ([`Plant::on_both_backends`]).
    pub pg: Option<floorwatch::store::postgres::scratch::Scratch>,
}

impl Plant {
    pub fn new(config_text: &str, readings: Vec<Reading>) -> Plant {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("history.sqlite");
        let config_path = dir.path().join("plant.toml");
        std::fs::write(&config_path, config_text).unwrap();
        let config = Config::load(&config_path).unwrap_or_else(|e| panic!("{e}"));
        write_history(&db, readings);
        Plant {
            dir,
            db,
            config_path,
            config,
            pg: None,
        }
    }

    /// As [`Plant::new`], with the same readings also in a PostgreSQL schema
    /// (when it answers): [`Plant::invoice`] then bills from both and checks
    /// that they agree.
    pub fn on_both_backends(config_text: &str, readings: Vec<Reading>) -> Plant {
        let mut plant = Plant::new(config_text, readings.clone());
        plant.pg = crate::common::postgres();
        if let Some(pg) = &plant.pg {
            write_history(pg.location(), readings);
        }
        plant
    }

    pub fn reader(&self) -> HistoryReader {
        HistoryReader::open(&self.db).unwrap()
    }

    pub fn invoice(&self, customer: &str, month: &str) -> Invoice {
        let invoice = self.invoice_from(&self.reader(), customer, month);
        if let Some(pg) = &self.pg {
            let other = self.invoice_from(
                &HistoryReader::open(pg.location()).unwrap(),
                customer,
                month,
            );
            assert_eq!(
                serde_json::to_string(&other).unwrap(),
                serde_json::to_string(&invoice).unwrap(),
                "the invoice from PostgreSQL differs from SQLite's"
            );
        }
        invoice
    }

    fn invoice_from(&self, reader: &HistoryReader, customer: &str, month: &str) -> Invoice {
        let billing = Billing::new(&self.config);
        let c = billing.customer(customer).unwrap();
        let choice = PeriodChoice::parse_month(month).unwrap();
        billing
            .invoice(reader, c, None, &choice)
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

/// A config with one cumulative meter `m1` of customer `c1` on tariff `t`.
pub fn one_meter_config(timezone: &str, meter_extra: &str, tariff: &str) -> String {
    format!(
        r#"[plant]
timezone = "{timezone}"

[[sensor]]
id = "m1"
name = "Tenant energy"
unit = "kWh"
meter = {{ customer = "c1", tariff = "t"{meter_extra} }}

[tariff.t]
{tariff}

[[customer]]
id = "c1"
name = "Customer One"
"#
    )
}

/// Hourly readings of a register growing `per_hour` kWh, over [from, to] inclusive.
pub fn steady(sensor: &str, from: &str, to: &str, step: i64, per_hour: f64) -> Vec<Reading> {
    let (a, b) = (ts(from), ts(to));
    let n = ((b - a) / step) as usize + 1;
    series(sensor, a, step, n, |i| {
        1000.0 + per_hour * (i as i64 * step) as f64 / HOUR as f64
    })
}

/// (description, amount) of every charge line of the first meter, amounts as text.
pub fn lines(inv: &Invoice) -> Vec<(String, String)> {
    inv.meters[0]
        .charges
        .lines
        .iter()
        .map(|l| (l.description.clone(), l.amount.to_string()))
        .collect()
}
