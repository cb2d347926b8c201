//! `floorwatch export invoices`: one row per customer with the period's
//! totals, checked by hand (flat tariff, constant load) and against the
//! invoice the `invoice` command prints for the same customer.

use crate::export_support;

use export_support::*;
use floorwatch::model::Reading;
use rust_decimal::Decimal;
use std::process::Command;
use std::str::FromStr;

const CONFIG: &str = r#"
[plant]
timezone = "UTC"

[tariff.flat]
currency = "BRL"
energy = [ { price = 0.89 } ]
monthly_fee = 25.00

[[customer]]
id = "t1"
name = "Tenant One Ltda."

[[customer]]
id = "t2"
name = "=SUM(A1:A9)"

[[customer]]
id = "t3"
name = "No data yet"

[[sensor]]
id = "m1"
unit = "kWh"
meter = { customer = "t1", tariff = "flat" }

[[sensor]]
id = "m2"
unit = "kWh"
meter = { customer = "t2", tariff = "flat" }

[[sensor]]
id = "m3"
unit = "kWh"
meter = { customer = "t3", tariff = "flat" }
"#;

/// Hourly cumulative readings from 2026-09-30 to 2026-11-02 (UTC) rising by
/// `per_hour` kWh.
fn meter(id: &str, per_hour: f64) -> Vec<Reading> {
    let start = 1_790_726_400_000; // 2026-09-30T00:00:00Z
    (0..33 * 24)
        .map(|h| Reading::good(id, start + h * 3_600_000, 1_000.0 + h as f64 * per_hour))
        .collect()
}

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap_or_else(|_| panic!("not a decimal: {text:?}"))
}

#[test]
fn one_row_per_customer_with_totals_that_match_hand_and_the_invoice_command() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("plant.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let db = dir.path().join("h.sqlite");
    let mut readings = meter("m1", 2.0);
    readings.extend(meter("m2", 0.5));
    write_history(&db, vec![], readings, vec![]);

    let out = export(&[
        "invoices",
        "--period",
        "2026-10",
        "--config",
        config.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("customer \"t3\""),
        "the unbilled customer is reported: {stderr}"
    );
    let (header, rows) = parse_csv(&String::from_utf8(out.stdout).unwrap(), b',');
    assert_eq!(
        header,
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
            "error"
        ]
    );
    assert_eq!(rows.len(), 3);
    // October: 744 hours. t1: 1488 kWh × 0.89 = 1324.32 + 25.00 fee = 1349.32.
    // t2: 372 kWh × 0.89 = 331.08 + 25.00 = 356.08.
    for (row, id, name, kwh, total) in [
        (&rows[0], "t1", "Tenant One Ltda.", "1488", "1349.32"),
        (&rows[1], "t2", "'=SUM(A1:A9)", "372", "356.08"),
    ] {
        assert_eq!((row[0].as_str(), row[1].as_str()), (id, name));
        assert_eq!((row[2].as_str(), row[3].as_str()), ("2026-10", "BRL"));
        assert_eq!(dec(&row[4]), dec(kwh), "{row:?}");
        assert_eq!(dec(&row[7]), dec(total), "{row:?}");
        assert_eq!(dec(&row[6]), Decimal::ZERO);
        assert_eq!(row[9], "");
        // The same total as the invoice the `invoice` command prints.
        let invoice = Command::new(floorwatch_bin())
            .args([
                "invoice",
                "--customer",
                id,
                "--period",
                "2026-10",
                "--format",
                "json",
            ])
            .arg("--config")
            .arg(&config)
            .arg("--db")
            .arg(&db)
            .output()
            .unwrap();
        assert!(invoice.status.success());
        let json: serde_json::Value = serde_json::from_slice(&invoice.stdout).unwrap();
        assert_eq!(json["total"].as_str().unwrap(), row[7]);
    }
    let missing = &rows[2];
    assert_eq!((missing[0].as_str(), missing[7].as_str()), ("t3", ""));
    assert!(missing[9].contains("no readings"), "{missing:?}");
}

#[test]
fn needs_a_config_and_a_period() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    write_history(&db, vec![], meter("m1", 1.0), vec![]);
    let o = export(&[
        "invoices",
        "--period",
        "2026-10",
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--config"));
    let config = dir.path().join("plant.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let o = export(&[
        "invoices",
        "--config",
        config.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let o = export(&[
        "invoices",
        "--period",
        "October",
        "--config",
        config.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("October"));
}
