//! `floorwatch invoice --all` on a generated ten-meter month, its totals
//! checked against an independent computation: a SQL query over the history
//! file (window functions, SQLite's own calendar) priced by the test itself.

use crate::billing_support;

use billing_support::*;
use floorwatch::billing::{PeriodChoice, customer_totals};
use floorwatch::model::Reading;
use rand::{Rng, SeedableRng};
use rust_decimal::{Decimal, RoundingStrategy};
use std::collections::BTreeMap;
use std::process::Command;
use std::str::FromStr;

const CUSTOMERS: [(&str, &[&str]); 4] = [
    ("acme", &["m0", "m1", "m2"]),
    ("bolt", &["m3", "m4"]),
    ("cord", &["m5", "m6", "m7"]),
    ("dyne", &["m8", "m9"]),
];

fn config(extra_customer: bool) -> String {
    let mut text = String::from(
        r#"[plant]
timezone = "UTC"

[tariff.tou]
currency = "BRL"
energy = [ { band = "peak", price = 1.37, hours = [18, 21], days = ["weekdays"] }, { band = "offpeak", price = 0.61 } ]
monthly_fee = 19.90
taxes = [ { name = "ICMS", percent = 18 } ]
"#,
    );
    for (customer, meters) in CUSTOMERS {
        text += &format!("\n[[customer]]\nid = \"{customer}\"\nname = \"Customer {customer}\"\n");
        for m in meters {
            text += &format!(
                "\n[[sensor]]\nid = \"{m}\"\nmeter = {{ customer = \"{customer}\", tariff = \"tou\" }}\n"
            );
        }
    }
    if extra_customer {
        text += "\n[[customer]]\nid = \"empty\"\nname = \"No data\"\n\n[[sensor]]\nid = \"m-empty\"\nmeter = { customer = \"empty\", tariff = \"tou\" }\n";
    }
    text
}

/// Ten registers, 15-minute readings from Sep 30 to Nov 2 2026, random
/// increments of whole Wh.
fn readings() -> Vec<Reading> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(8);
    let start = ts("2026-09-30T00:00:00Z");
    let mut out = Vec::new();
    for m in 0..10 {
        let mut value = rng.random_range(0..100_000) as f64 / 10.0;
        for i in 0..(33 * 96) {
            out.push(Reading::good(
                format!("m{m}"),
                start + i * 15 * MINUTE,
                value,
            ));
            value += rng.random_range(0..2000) as f64 / 1000.0;
        }
    }
    out
}

fn cents(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// Per customer total, computed from SQL band sums.
fn independent_totals(plant: &Plant) -> BTreeMap<String, Decimal> {
    let conn = rusqlite::Connection::open(&plant.db).unwrap();
    let mut stmt = conn
        .prepare(
            "WITH d AS (
               SELECT s.tag AS meter, r.ts AS ts,
                      LAG(r.ts) OVER w AS pts, r.value - LAG(r.value) OVER w AS delta
               FROM readings r JOIN sensors s USING (sensor_id)
               WINDOW w AS (PARTITION BY r.sensor_id ORDER BY r.ts))
             SELECT meter,
                    CASE WHEN CAST(strftime('%w', pts / 1000, 'unixepoch') AS INT) BETWEEN 1 AND 5
                          AND CAST(strftime('%H', pts / 1000, 'unixepoch') AS INT) BETWEEN 18 AND 20
                         THEN 'peak' ELSE 'offpeak' END AS band,
                    printf('%.3f', SUM(delta))
             FROM d WHERE pts >= ?1 AND ts <= ?2 GROUP BY meter, band",
        )
        .unwrap();
    let rows: Vec<(String, String, String)> = stmt
        .query_map(
            [ts("2026-10-01T00:00:00Z"), ts("2026-11-01T00:00:00Z")],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut meter_subtotal: BTreeMap<String, Decimal> = BTreeMap::new();
    for (meter, band, kwh) in rows {
        let price = if band == "peak" { "1.37" } else { "0.61" };
        let amount = cents(Decimal::from_str(&kwh).unwrap() * Decimal::from_str(price).unwrap());
        *meter_subtotal.entry(meter).or_default() += amount;
    }
    let mut totals = BTreeMap::new();
    for (customer, meters) in CUSTOMERS {
        let total: Decimal = meters
            .iter()
            .map(|m| {
                let subtotal = meter_subtotal[*m] + Decimal::from_str("19.90").unwrap();
                subtotal + cents(subtotal * Decimal::from(18) / Decimal::from(100))
            })
            .sum();
        totals.insert(customer.to_owned(), total);
    }
    totals
}

fn summary(dir: &std::path::Path) -> Vec<csv::StringRecord> {
    let mut reader = csv::Reader::from_path(dir.join("summary-2026-10.csv")).unwrap();
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "customer",
            "name",
            "period",
            "currency",
            "consumption_kwh",
            "subtotal",
            "taxes",
            "total",
            "excessive_consumption",
            "file",
            "error"
        ]
    );
    reader.records().map(Result::unwrap).collect()
}

#[test]
fn all_writes_one_invoice_per_customer_and_a_summary_matching_sql() {
    let plant = Plant::new(&config(false), readings());
    let expected = independent_totals(&plant);
    let out = plant.dir.path().join("invoices");
    let o = Command::new(env!("CARGO_BIN_EXE_floorwatch"))
        .args([
            "invoice", "--all", "--period", "2026-10", "--format", "json", "--config",
        ])
        .arg(&plant.config_path)
        .arg("--db")
        .arg(&plant.db)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    // Piped: no progress bar, one plain line.
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains('\r'),
        "{stderr:?}"
    );
    assert!(stderr.contains("wrote 4 invoice(s)"), "{stderr}");
    let rows = summary(&out);
    let got: BTreeMap<String, Decimal> = rows
        .iter()
        .map(|r| (r[0].to_owned(), Decimal::from_str(&r[7]).unwrap()))
        .collect();
    assert_eq!(got, expected);
    for r in &rows {
        let file = out.join(&r[9]);
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(v["total"].as_str().unwrap(), &r[7]);
    }
    // The library function `floorwatch export invoices` uses agrees too.
    let api: BTreeMap<String, Decimal> = customer_totals(
        &plant.config,
        &plant.reader(),
        &PeriodChoice::parse_month("2026-10").unwrap(),
    )
    .into_iter()
    .map(|(id, t)| (id, t.unwrap().total))
    .collect();
    assert_eq!(api, expected);
}

#[test]
fn all_reports_a_customer_without_readings_and_still_bills_the_others() {
    let plant = Plant::new(&config(true), readings());
    let out = plant.dir.path().join("invoices");
    let o = Command::new(env!("CARGO_BIN_EXE_floorwatch"))
        .args(["invoice", "--all", "--period", "2026-10", "--config"])
        .arg(&plant.config_path)
        .arg("--db")
        .arg(&plant.db)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("customer \"empty\": meter \"m-empty\" has no readings in 2026-10"),
        "{stderr}"
    );
    let rows = summary(&out);
    assert_eq!(rows.len(), 5);
    assert_eq!(&rows[4][10], "meter \"m-empty\" has no readings in 2026-10");
    assert!(out.join("acme-2026-10.txt").is_file());
    assert!(!out.join("empty-2026-10.txt").exists());
}
